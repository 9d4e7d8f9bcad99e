"""The errors a user can cause, importable by every layer without torch or torchvision, and what
becomes of them: one line on stderr and exit code 2 (``exit_code``), in every stage
(``actlab.stage_runner``) and every tool (``actlab.tools``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class ConfigError(ValueError):
    """A value in params.yaml that the pipeline cannot use; the message names the key, the
    value and what is allowed."""


class DataError(RuntimeError):
    """Data that cannot be found or read; the message names the file or dataset and the fix."""


class StoreError(RuntimeError):
    """The MLflow tracking store cannot be used; the message names the URI and the fix."""


class Terminated(BaseException):
    """SIGTERM as an exception, so that a stage closes its MLflow run as KILLED on the way out
    (a BaseException, like KeyboardInterrupt: no ``except Exception`` swallows it)."""


USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, DataError, StoreError)


def exit_code(
    body: Callable[[], int | None], catch: tuple[type[Exception], ...] = USER_ERRORS
) -> int:
    """Run a command's ``body`` and return its exit code (0 for None); an error of ``catch``
    (the user's to fix, its message says how) is one line on stderr, ``error: <message>``,
    and exit code 2, not a traceback."""
    try:
        return body() or 0
    except catch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
