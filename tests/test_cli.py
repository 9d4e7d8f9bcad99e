"""What every stage shares: a stage stops when the process that started it is gone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages import cli
from tests.conftest import ROOT

STAGE = (
    "import sys, time; from pathlib import Path; from stages import cli; "
    "Path(sys.argv[1]).write_text(str(__import__('os').getpid())); "
    "raise SystemExit(cli.run_stage(lambda: time.sleep(120)))"
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
    pairs = cli.lineage()
    assert pairs[0] == (os.getpid(), os.getppid())
    assert all(parent is not None for _, parent in pairs)
