"""MLflow: where the store is, one run per trained model found by a deterministic run key.

The store is ``MLFLOW_TRACKING_URI`` when set, else SQLite at an absolute path in the main
repository root (``DVC_ROOT``, which DVC sets to the main repo even in ``dvc exp run --temp``
workspaces), with artifacts beside it in ``mlruns/``. Nothing here is written into DVC outputs:
run ids stay in MLflow, so DVC outputs stay byte-identical across reruns.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient

from stages.config import Config, ModelSpec
from stages.model import spec_dict

log = logging.getLogger(__name__)
KEY_TAG = "actlab.run_key"
KIND_TAG = "actlab.kind"


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


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


@functools.cache
def _client(uri: str) -> MlflowClient:
    if not uri.startswith("sqlite:///"):
        return MlflowClient(uri)
    db = Path(uri.removeprefix("sqlite:///"))
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
        return experiment.experiment_id
    artifacts = None
    if tracking_uri().startswith("sqlite:///"):
        # Absolute, in the main repo: a relative default would land in a temp workspace.
        artifacts = (repo_root() / "mlruns").as_uri()
    try:
        return c.create_experiment(name, artifact_location=artifacts)
    except Exception:  # another stage created it in between
        return c.get_experiment_by_name(name).experiment_id


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def model_params(cfg: Config, spec: ModelSpec, data_meta: Mapping) -> dict[str, Any]:
    """Everything that defines a trained model, flattened ``train.lr`` style."""
    params = {f"model.{k}": v for k, v in spec_dict(spec).items() if k != "activation_options"}
    params.update({f"activation.{k}": v for k, v in spec.options.items()})
    params.update({f"train.{k}": v for k, v in dataclasses.asdict(cfg.train).items()})
    params.update({f"data.{k}": v for k, v in dataclasses.asdict(cfg.data).items()})
    params["data.checksum"] = data_meta["checksum"]
    return params


def run_key(cfg: Config, spec: ModelSpec, data_meta: Mapping) -> str:
    return _hash(model_params(cfg, spec, data_meta))


def _context_tags() -> dict[str, str]:
    tags = {}
    try:
        tags["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        tags["git_commit"] = "none"
    stage = os.environ.get("DVC_STAGE")
    if stage:
        tags[f"dvc.stage.{stage.split('@')[0]}"] = stage
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    return tags


def _find(exp_id: str, key: str) -> list[str]:
    runs = client().search_runs(
        [exp_id], f"tags.`{KEY_TAG}` = '{key}'", run_view_type=ViewType.ACTIVE_ONLY,
        order_by=["attributes.start_time DESC"],
    )
    return [r.info.run_id for r in runs]


def open_run(
    experiment: str, key: str, name: str, *, kind: str, params: Mapping[str, Any],
    tags: Mapping[str, str] = (), replace: bool = False,
) -> str:
    """The live run with this key: found, or created with params and tags.

    ``replace`` soft-deletes earlier runs with the key first (``mlflow runs restore`` brings one
    back), so the UI shows one live row per key.
    """
    exp_id = experiment_id(experiment)
    existing = _find(exp_id, key)
    if existing and not replace:
        set_tags(existing[0], _context_tags())
        return existing[0]
    for run_id in existing:
        client().delete_run(run_id)
        log.info("soft-deleted earlier MLflow run %s of %s", run_id, name)
    all_tags = {KEY_TAG: key, KIND_TAG: kind, **dict(tags), **_context_tags()}
    run = client().create_run(exp_id, run_name=name, tags=all_tags)
    client().log_batch(
        run.info.run_id, params=[Param(k, str(v)) for k, v in sorted(params.items())]
    )
    return run.info.run_id


def model_run(experiment: str, model_config: Mapping, *, replace: bool = False) -> str:
    """The run of a trained model, from the ``models/<model>/config.json`` that train wrote.

    Later stages find it by the key recorded there, and create it with the same params and
    tags if it is missing (e.g. DVC restored the model from its run-cache on another machine).
    """
    return open_run(
        experiment, model_config["run_key"], model_config["name"], kind="model",
        params=model_config["mlflow_params"],
        tags={"activation": model_config["activation"],
              "architecture": model_config["architecture"]},
        replace=replace,
    )


def set_tags(run_id: str, tags: Mapping[str, str]) -> None:
    client().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


def log_metrics(run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
    now = int(time.time() * 1000)
    batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
    for start in range(0, len(batch), 1000):  # MLflow's log_batch limit
        client().log_batch(run_id, metrics=batch[start : start + 1000])


def log_rows(run_id: str, rows: Iterable[Mapping[str, float]], step_key: str = "epoch") -> None:
    """Per-step metrics from table rows: every column but ``step_key`` at step=row[step_key]."""
    now = int(time.time() * 1000)
    batch = [
        Metric(k, float(v), now, int(row[step_key]))
        for row in rows for k, v in row.items() if k != step_key
    ]
    for start in range(0, len(batch), 1000):
        client().log_batch(run_id, metrics=batch[start : start + 1000])


def log_artifact(run_id: str, path: Path, artifact_path: str | None = None) -> None:
    client().log_artifact(run_id, str(path), artifact_path)


def finish(run_id: str, ok: bool = True) -> None:
    client().set_terminated(run_id, "FINISHED" if ok else "FAILED")


def comparison_key(model_keys: list[str]) -> str:
    """The comparison run of exactly this set of trained models."""
    return _hash({"comparison": sorted(model_keys)})


def log_figure(run_id: str, figure: Any, artifact_file: str) -> None:
    client().log_figure(run_id, figure, artifact_file)
