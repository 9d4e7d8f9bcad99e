"""The errors a user can cause, importable by every layer without torch or torchvision.

Each stage's ``main`` turns them into one line on stderr and exit code 2 (``actlab.cli``).
"""


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
