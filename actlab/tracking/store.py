"""MLflow: where the store is, the client, and the primitives the stages log through.

The store is ``MLFLOW_TRACKING_URI`` when set, else SQLite at an absolute path in the main
repository root (``DVC_ROOT``, which DVC sets to the main repo even in ``dvc exp run --temp``
workspaces), with artifacts beside it in ``mlruns/``. Which run a model, a configuration or a
comparison logs to is ``actlab.tracking.runs``; what each stage logs, ``actlab.tracking.report``.
mlflow is imported on first use, so a stage starts its real work without waiting for it.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actlab import interrupt
from actlab.errors import StoreError, Terminated
from actlab.tracking import names

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def repo_root() -> Path:
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
        return Path(top).resolve()
    except (OSError, subprocess.CalledProcessError):
        return Path.cwd().resolve()


# How long a write waits for SQLite's lock when parallel workers (``dvc queue start -j 2``)
# share the store: MLflow sets this busy timeout on every session of a SQLite store, so the
# writers queue instead of failing with "database is locked"; the store check waits as long.
SQLITE_BUSY_TIMEOUT_S = 20


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (its query string dropped), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def check_store(timeout: float = 5.0) -> str:
    """Fail fast, before any stage touches an output, with one line naming the URI and the fix:
    a tracking server must answer its health check within ``timeout`` seconds (MLflow itself
    would retry for minutes); the local SQLite store and its artifact folder must be writable.
    Returns the URI."""
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):
        _check_server(uri, timeout)
    elif (db := sqlite_path(uri)) is not None:
        _check_writable(db, repo_root() / "mlruns")
    return uri


def _check_server(uri: str, timeout: float) -> None:
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            pass
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise StoreError(
            f"MLFLOW_TRACKING_URI={uri}: the tracking server does not answer ({reason}); "
            "fix: start it, correct the URI, or unset MLFLOW_TRACKING_URI to use the local "
            "SQLite store"
        ) from None


def _check_writable(db: Path, artifacts: Path) -> None:
    """Write to the store the way MLflow will, and take it back: a write transaction on the
    database (it needs the file and, for its journal, the folder) and a file in the artifact
    folder. Permission bits alone would not do: root may write where they say it may not."""
    import sqlite3
    import tempfile

    fix = "fix: make it writable for this user, or set MLFLOW_TRACKING_URI to another store"
    try:
        if db.exists():
            connection = sqlite3.connect(db, timeout=SQLITE_BUSY_TIMEOUT_S)
            try:
                connection.execute("BEGIN IMMEDIATE")
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                connection.execute(f"PRAGMA user_version = {int(version)}")
                connection.rollback()
            finally:
                connection.close()
        else:
            tempfile.TemporaryFile(dir=db.parent).close()
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"MLflow store {db} cannot be written ({err}); {fix}") from None
    try:
        artifacts.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=artifacts).close()
    except OSError as err:
        raise StoreError(
            f"MLflow artifact folder {artifacts} cannot be written ({err.strerror}); {fix}"
        ) from None


@functools.cache
def _client(uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    check_store()  # one line in seconds, not MLflow's retries or a traceback mid-stage
    db = sqlite_path(uri)
    if db is None:
        return MlflowClient(uri)
    # Parallel stages racing on a fresh SQLite store fail inside MLflow's schema migration:
    # the first process creates and migrates it while the others wait on this lock.
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)
    return client


def client() -> MlflowClient:
    return _client(tracking_uri())


def experiment_id(name: str) -> str:
    c = client()
    experiment = c.get_experiment_by_name(name)
    if experiment is not None:
        for key, value in EXPERIMENT_KIND.items():
            if experiment.tags.get(key) != value:  # an experiment made before the kind was set
                c.set_experiment_tag(experiment.experiment_id, key, value)
        return experiment.experiment_id
    artifacts = None
    if tracking_uri().startswith("sqlite:///"):
        # Absolute, in the main repo: a relative default would land in a temp workspace.
        artifacts = (repo_root() / "mlruns").as_uri()
    try:
        return c.create_experiment(name, artifact_location=artifacts, tags=EXPERIMENT_KIND)
    except Exception:  # another stage created it in between
        return c.get_experiment_by_name(name).experiment_id


def _store_call(fn):
    """A logging primitive: a safe point (``actlab.interrupt``) once its write is done."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        interrupt.check()
        return result

    return wrapper


@_store_call
def set_tags(run_id: str, tags: Mapping[str, str]) -> None:
    from mlflow.entities import RunTag

    client().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


@_store_call
def log_metrics(run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
    log_rows(run_id, [{**metrics, "step": step}], step_key="step")


@_store_call
def log_rows(
    run_id: str,
    rows: Iterable[Mapping[str, float]],
    step_key: str = "epoch",
    *,
    only_changed: bool = False,
) -> None:
    """Per-step metrics from table rows: every column but ``step_key`` at step=row[step_key],
    under its MLflow name and unit (``actlab.tracking.names``: accuracy in percent).

    ``only_changed`` skips a column whose history in the run already holds exactly these
    values at these steps, so that a stage rerun with the same numbers adds no duplicates.
    """
    from mlflow.entities import Metric

    rows = [
        {step_key: row[step_key]}
        | dict(names.metric(k, v) for k, v in row.items() if k != step_key)
        for row in rows
    ]
    columns = names.first_accuracy([k for k in rows[0] if k != step_key]) if rows else []
    if only_changed:
        columns = [
            k
            for k in columns
            if _history(run_id, k) != {int(row[step_key]): float(row[k]) for row in rows}
        ]
    now = int(time.time() * 1000)
    batch = [Metric(k, float(row[k]), now, int(row[step_key])) for row in rows for k in columns]
    for start in range(0, len(batch), 1000):  # MLflow's log_batch limit
        client().log_batch(run_id, metrics=batch[start : start + 1000])


def _history(run_id: str, key: str) -> dict[int, float]:
    """The latest value per step of one metric of a run."""
    latest = {}
    for m in sorted(client().get_metric_history(run_id, key), key=lambda m: m.timestamp):
        latest[m.step] = m.value
    return latest


@_store_call
def log_artifact(run_id: str, path: Path, artifact_path: str | None = None) -> None:
    client().log_artifact(run_id, str(path), artifact_path)


@_store_call
def log_text(run_id: str, text: str, artifact_file: str) -> None:
    """``text`` as the run's ``artifact_file``: a file logged under a name of its own (every
    model's run names its files alike, ``evaluate.json``, not ``relu-base-42.json``, so that
    MLflow's compare view finds them common to the runs)."""
    client().log_text(run_id, text, artifact_file)


def finish(run_id: str, status: str = "FINISHED", *, instant: bool = False) -> None:
    """Close a run; ``instant``: as it started (a run that holds no work of its own, whose
    Duration would otherwise span from its creation to its last update)."""
    end = client().get_run(run_id).info.start_time if instant else None
    client().set_terminated(run_id, status, end_time=end)


def set_experiment_tag(name: str, key: str, value: str) -> None:
    client().set_experiment_tag(experiment_id(name), key, value)


@contextmanager
def guard(runs: str | Mapping[str, str]) -> Iterator[None]:
    """Whatever ends the block early closes the run (or every run still in the ``runs``
    mapping then: name -> run id): a stop request (``actlab.interrupt``) or Ctrl-C as KILLED,
    an error as FAILED. (A ``kill -9`` cannot be caught: the next training of the key closes
    that run.)"""
    try:
        yield
    except BaseException as err:
        status = "KILLED" if isinstance(err, (KeyboardInterrupt, Terminated)) else "FAILED"
        for run_id in [runs] if isinstance(runs, str) else list(runs.values()):
            finish(run_id, status)
        raise


@_store_call
def log_figure(run_id: str, figure: Any, artifact_file: str) -> None:
    client().log_figure(run_id, figure, artifact_file)
