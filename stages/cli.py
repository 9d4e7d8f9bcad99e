"""What every stage's ``main`` shares: logging set-up and turning user errors into exit code 2."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from stages.errors import ConfigError, DataError, StoreError, Terminated


def run_stage(body: Callable[[], None]) -> int:
    """Run a stage body; a ConfigError/DataError becomes one line on stderr and exit code 2."""
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("alembic", "mlflow", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    watch_parent()
    try:
        body()
    except (ConfigError, DataError, StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Terminated:
        print("stopped by SIGTERM", file=sys.stderr)
        return 128 + 15
    finally:
        _stop.set()
    return 0


def main(description: str | None, body: Callable[[], None], argv: list[str] | None) -> int:
    """``main`` of a stage without arguments (``--help`` prints its docstring)."""
    argparse.ArgumentParser(description=description).parse_args(argv)
    return run_stage(body)


def model_main(description: str | None, body: Callable[[str], None], argv: list[str] | None) -> int:
    """``main`` of a per-model stage: one positional argument, the model name."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "model", help="matrix item <activation>-<architecture>-<seed>, e.g. relu-base-42"
    )
    args = parser.parse_args(argv)
    return run_stage(lambda: body(args.model))


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


def watch_parent(interval: float = 1.0) -> threading.Thread:
    """Stop this stage, as if by SIGTERM, once the process that started it is gone: a
    ``dvc repro`` killed by SIGTERM does not stop the stage it runs, which would otherwise run
    on, orphaned, to its end. (Polling, not ``PR_SET_PDEATHSIG``: DVC may start stages from a
    thread, and that signal fires when the starting thread ends.)"""
    start = lineage()

    def watch() -> None:
        while not _stop.wait(interval):
            if any(_parent_of(pid) != parent for pid, parent in start):
                print("the process that started this stage is gone: stopping", file=sys.stderr)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    _stop.clear()
    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread


_stop = threading.Event()
