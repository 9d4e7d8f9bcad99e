"""A Ray cluster of one node for the tests: a head on 127.0.0.1 only, with its own temp folder
and free ports, stopped by its process group (``ray stop`` would stop every Ray on the
machine, a user's too)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.e2e import free_port

# Ray binds to the node's address unless it believes it runs on a laptop: this keeps every
# server it starts (GCS, raylet, workers) on the loopback interface.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _ray() -> str:
    return str(Path(sys.executable).parent / "ray")


class Head:
    def __init__(self, address: str, group: int) -> None:
        self.address, self.group = address, group

    def workers(self, task: str = "ray::train_task") -> list[int]:
        """The pids of this head's workers (children of its raylet, in their own process
        groups) whose title is ``task``: Ray names a worker after the task it runs."""
        found = []
        for pid, parent, args in _processes():
            try:
                if args.startswith(task) and os.getpgid(parent) == self.group:
                    found.append(pid)
            except ProcessLookupError:
                continue
        return found


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(proc.name), parent, args))
    return out


@contextmanager
def ray_head(cpus: int = 2) -> Iterator[Head]:
    """A running head with ``cpus`` CPUs (so as many one-CPU workers)."""
    temp = Path(tempfile.mkdtemp(prefix="ray-"))  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    log = (temp.parent / f"{temp.name}.log").open("w")
    process = subprocess.Popen(
        [
            _ray(),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--num-cpus={cpus}",
            "--num-gpus=0",
            "--include-dashboard=false",
            f"--dashboard-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            "--object-store-memory=200000000",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        env={**os.environ, **LOOPBACK},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped below, all of it
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, Path(log.name).read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Ray head did not start in 90 s"
                time.sleep(0.2)
        yield Head(f"127.0.0.1:{port}", process.pid)
    finally:
        # the workers first: each runs in a process group of its own
        for pid in Head("", process.pid).workers(task="ray::"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=2)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:  # what ignores SIGTERM (the GCS, the raylet) or outlived its leader
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
        Path(log.name).unlink(missing_ok=True)
