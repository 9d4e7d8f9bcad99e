"""Stop requests: signals only ask, safe points stop; a stage stops when the process that
started it is gone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actlab import interrupt
from actlab.errors import Terminated
from tests.helpers.params import ROOT

STAGE = (
    "import sys, time; from pathlib import Path; from actlab import interrupt, stage_runner; "
    "Path(sys.argv[1]).write_text(str(__import__('os').getpid())); "
    "loop = lambda: [time.sleep(0.1) or interrupt.check() for _ in range(1200)]; "
    "raise SystemExit(stage_runner.run_stage(loop))"
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("after", ["", "; echo done"], ids=["exec", "shell-stays"])
def test_a_stage_stops_when_the_dvc_that_started_it_is_killed(tmp_path, after):
    """Like DVC: a parent process runs the stage through ``$SHELL -c``. bash replaces itself
    with a single command (``exec``), or stays the stage's parent when more follows."""
    pid_file = tmp_path / "pid"
    command = f'{sys.executable} -c "{STAGE}" {pid_file}{after}'
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; subprocess.run(sys.argv[1:])",
            "/bin/bash",
            "-c",
            command,
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the stage did not start"
            time.sleep(0.05)
        stage = int(pid_file.read_text())
        time.sleep(1.5)
        assert alive(stage)  # the watch does not stop a stage whose parent lives
        parent.send_signal(signal.SIGKILL)  # what SIGTERM does to dvc: it goes, the stage not
        parent.wait()
        deadline = time.monotonic() + 30
        while alive(stage):
            assert time.monotonic() < deadline, "the orphaned stage is still running"
            time.sleep(0.1)
    finally:
        parent.kill()
        if pid_file.exists() and pid_file.read_text() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_lineage_names_the_shell_and_its_parent():
    pairs = interrupt.lineage()
    assert pairs[0] == (os.getpid(), os.getppid())
    assert all(parent is not None for _, parent in pairs)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_only_asks_and_the_next_safe_point_stops(signum):
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    with interrupt.handling():
        os.kill(os.getpid(), signum)
        assert interrupt.requested()  # nothing raised where the signal landed
        with pytest.raises(Terminated if signum == signal.SIGTERM else KeyboardInterrupt):
            interrupt.check()
        interrupt.check()  # acted on once
    assert {s: signal.getsignal(s) for s in previous} == previous  # the same handlers, back


def test_a_second_ctrl_c_does_not_wait_for_a_safe_point():
    with interrupt.handling():
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler raises here, in the middle
    assert not interrupt.requested()


def test_requests_left_when_the_block_ends_are_dropped():
    with interrupt.handling():
        interrupt.request()
    assert not interrupt.requested()
    interrupt.check()


def test_held_steps_finish_before_a_request_is_raised():
    done = []
    with interrupt.handling():
        with pytest.raises(Terminated), interrupt.held():
            os.kill(os.getpid(), signal.SIGTERM)
            interrupt.check()  # a safe point inside: nothing raised
            done.append("files written, run closed")
        assert done == ["files written, run closed"]
