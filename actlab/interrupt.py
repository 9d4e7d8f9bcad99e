"""Stop requests: SIGTERM, Ctrl-C and the parent ``dvc`` gone only set a flag; long loops
call ``check()`` at safe points (between epochs, between store writes) and stop there.

Nothing is raised in the middle of a write, so no write needs shielding: a checkpoint, the
resume state and an MLflow store write always complete, and the store is never left locked.
A stopped stage raises ``Terminated`` (SIGTERM, the parent gone) or ``KeyboardInterrupt``
(Ctrl-C); ``tracking.store.guard`` closes the run as KILLED on the way out. A second Ctrl-C
does not wait for a safe point: it raises at once, as Ctrl-C does in any Python program.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actlab.errors import Terminated

_requested: list[int] = []  # the signal numbers of the stop requests not yet acted on
_held = 0  # depth of ``held()`` blocks


def request(signum: int = signal.SIGTERM) -> None:
    """Ask the running stage to stop at its next safe point."""
    _requested.append(signum)


def requested() -> bool:
    return bool(_requested)


def check() -> None:
    """At a safe point: raise the first pending stop request, if any (not inside ``held``)."""
    if _requested and not _held:
        signum = _requested[0]
        _requested.clear()
        raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated(f"signal {signum}")


@contextmanager
def held() -> Iterator[None]:
    """Steps that belong together (a finished model's files and its run closed): the safe
    points inside raise nothing; a request that came is raised at the end of the block."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
    check()


def _on_signal(signum, frame) -> None:
    if signum == signal.SIGINT and signal.SIGINT in _requested:
        _requested.clear()
        raise KeyboardInterrupt()  # pressed twice: the user does not want to wait
    request(signum)


@contextmanager
def handling() -> Iterator[None]:
    """SIGTERM and Ctrl-C become stop requests inside the block; the handlers that were there
    before are put back, and requests not acted on are dropped, when it ends."""
    _requested.clear()
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _requested.clear()


# --- the parent process ------------------------------------------------------------------------

SHELLS = {"sh", "dash", "bash", "zsh", "fish", "ksh"}


def _parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` from /proc, None when the process is gone (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _name_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def lineage() -> list[tuple[int, int | None]]:
    """Who started this process: its parent and, when that is a shell (DVC runs each command
    through ``$SHELL -c``), the shell's parent too; as (pid, its parent pid) pairs."""
    pairs = [(os.getpid(), os.getppid())]
    parent = os.getppid()
    if _name_of(parent) in SHELLS:
        pairs.append((parent, _parent_of(parent)))
    return pairs


@contextmanager
def watching_parent(interval: float = 1.0) -> Iterator[threading.Thread]:
    """Request a stop once the process that started this one is gone: a ``dvc repro`` killed
    by SIGTERM does not stop the stage it runs, which would otherwise run on, orphaned, to its
    end. (Polling, not ``PR_SET_PDEATHSIG``: DVC may start stages from a thread, and that
    signal fires when the starting thread ends.)"""
    start = lineage()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(interval):
            if any(_parent_of(pid) != parent for pid, parent in start):
                print("the process that started this stage is gone: stopping", file=sys.stderr)
                request(signal.SIGTERM)
                return

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        done.set()
