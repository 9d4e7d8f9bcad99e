"""The stage runner: what every stage's ``main`` shares: arguments, logging (above the progress
bar, not inside it), and exit codes.

A user error (``ConfigError``, ``DataError``, ``StoreError``) becomes one line on stderr and
exit code 2 (``errors.exit_code``); a stop request (``actlab.interrupt``) exit code 143
(SIGTERM, the parent gone) or 130 (Ctrl-C), after the stage closed its MLflow run as KILLED.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from actlab import interrupt
from actlab.errors import Terminated, exit_code


def run_stage(body: Callable[[], None]) -> int:
    """Run a stage body with stop requests handled and the parent watched."""
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("alembic", "mlflow", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def watched() -> None:
        # Log lines go above a stage's progress bar (tqdm.write), never into the middle of it.
        from tqdm.contrib.logging import logging_redirect_tqdm

        with interrupt.handling(), interrupt.watching_parent(), logging_redirect_tqdm():
            body()
            interrupt.check()  # a request that came after the last safe point

    try:
        return exit_code(watched)
    except Terminated:
        print("stopped by SIGTERM", file=sys.stderr)
        return 128 + 15
    except KeyboardInterrupt:
        print("stopped by Ctrl-C", file=sys.stderr)
        return 128 + 2


def main(description: str | None, body: Callable[[], None], argv: list[str] | None) -> int:
    """``main`` of a stage without arguments (``--help`` prints its docstring)."""
    argparse.ArgumentParser(description=description).parse_args(argv)
    return run_stage(body)
