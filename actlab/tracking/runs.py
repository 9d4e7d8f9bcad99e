"""Which MLflow run each thing logs to: one run per trained model, found by a deterministic
run key; a parent run per configuration (its seeds are the children); a run per comparison.

Nothing here is written into DVC outputs: run ids stay in MLflow, so DVC outputs stay
byte-identical across reruns and later stages find a model's run by the key in its record.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

from actlab.records import ModelRecord, stable_hash
from actlab.tracking import names
from actlab.tracking.store import client, experiment_id, finish, set_tags

log = logging.getLogger(__name__)

KEY_TAG = "actlab.run_key"
# The MLflow UI (3.x) opens an experiment of this kind on its runs table, not on GenAI traces.
KIND_TAG = "actlab.kind"
CHECKPOINT_TAG = "actlab.checkpoint_sha256"


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


def run_name(name: str) -> str:
    """The run's name in the UI: the model (or configuration), and the DVC experiment that
    trained it when there is one, so that two runs of a model tell apart at a glance."""
    experiment = os.environ.get("DVC_EXP_NAME")
    return f"{name} @ {experiment}" if experiment else name


def pipeline_experiment(experiment: str) -> str:
    """Where the prepared data's run goes: an experiment of its own beside the models'. The
    models' experiment is made first, so a new store gives it id 1."""
    experiment_id(experiment)
    return f"{experiment}-pipeline"


def _find(exp_id: str, key: str) -> list:
    """Live runs with this key, newest first."""
    from mlflow.entities import ViewType

    return client().search_runs(
        [exp_id],
        f"tags.`{KEY_TAG}` = '{key}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        order_by=["attributes.start_time DESC"],
    )


def _delete(run_ids: Iterable[str], name: str) -> None:
    for run_id in run_ids:
        client().delete_run(run_id)
        log.info(
            "soft-deleted MLflow run %s of %s (mlflow runs restore brings it back)", run_id, name
        )


def _create(exp_id: str, key: str, name: str, kind: str, params: Mapping, tags: Mapping) -> str:
    from mlflow.entities import Param

    all_tags = {KEY_TAG: key, KIND_TAG: kind, **dict(tags), **_context_tags()}
    run = client().create_run(exp_id, run_name=run_name(name), tags=all_tags)
    client().log_batch(
        run.info.run_id, params=[Param(k, str(v)) for k, v in sorted(params.items())]
    )
    return run.info.run_id


def open_run(
    experiment: str,
    key: str,
    name: str,
    *,
    kind: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str] = (),
    replace: bool = False,
) -> str:
    """The live run with this key: found, or created with params and tags.

    ``replace`` soft-deletes earlier runs with the key first (``mlflow runs restore`` brings one
    back), so the UI shows one live row per key.
    """
    exp_id = experiment_id(experiment)
    found = _find(exp_id, key)
    usable = [r.info.run_id for r in found if r.info.status not in ("FAILED", "KILLED")]
    if usable and not replace:
        set_tags(usable[0], _context_tags())
        return usable[0]
    _delete([r.info.run_id for r in found] if replace else [], name)
    return _create(exp_id, key, name, kind, params, tags)


def _model_tags(record: ModelRecord) -> dict[str, str]:
    return {"activation": record.spec.activation, "architecture": record.spec.architecture}


PARENT_TAG = "mlflow.parentRunId"  # how the MLflow UI nests a run under another
PER_SEED = ("model.name", "model.seed")  # what differs between the seeds of a configuration


def configuration_run(experiment: str, record: ModelRecord) -> str:
    """The parent run of a model's configuration (activation x architecture, all else equal
    but the seed), found by a key of the params that define it; its per-seed model runs are
    its children, and the plot stage logs the aggregates across seeds to it."""
    params = {k: v for k, v in record.mlflow_params.items() if k not in PER_SEED}
    spec = record.spec
    run_id = open_run(
        experiment,
        stable_hash({"configuration": params}),
        spec.configuration,
        kind="configuration",
        params=params,
        tags=_model_tags(record),
    )
    # Closed from the start: a parent holds no work of its own, and a pipeline stopped before
    # plot (or never run to it with these params) must not leave it RUNNING in the UI.
    if client().get_run(run_id).info.status == "RUNNING":
        finish(run_id, instant=True)
    return run_id


def _child_tags(experiment: str, record: ModelRecord) -> dict[str, str]:
    return {**_model_tags(record), PARENT_TAG: configuration_run(experiment, record)}


def model_run(experiment: str, record: ModelRecord) -> str:
    """The run of a trained model, from the record that train wrote (``models/<m>/record.json``).

    Later stages find it by the key recorded there, and create it with the same params and
    tags if it is missing (e.g. DVC restored the model from its run-cache on another machine).
    """
    return open_run(
        experiment,
        record.run_key,
        record.spec.name,
        kind="model",
        params=record.mlflow_params,
        tags=_child_tags(experiment, record),
    )


def start_training_run(experiment: str, record: ModelRecord) -> str:
    """A new run for one training of this model. Earlier runs with its key stay live until
    ``settle_training_run``: a training that fails loses nothing that was complete."""
    exp_id = experiment_id(experiment)
    for stale in _find(exp_id, record.run_key):
        if stale.info.status == "RUNNING":  # its process was killed before it could close it
            finish(stale.info.run_id, "KILLED")
            log.info("closed MLflow run %s of %s as KILLED", stale.info.run_id, record.spec.name)
    tags = _child_tags(experiment, record)
    return _create(exp_id, record.run_key, record.spec.name, "model", record.mlflow_params, tags)


def resume_training_run(experiment: str, record: ModelRecord, run_id: str) -> str:
    """The run of a training that was stopped and now resumes: the same run, RUNNING again
    (a new one if the store no longer has it)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client().get_run(run_id)
    except MlflowException:
        run = None
    if run is None or run.info.lifecycle_stage != "active":
        return start_training_run(experiment, record)
    client().update_run(run_id, status="RUNNING")
    return run_id


def settle_training_run(
    experiment: str, run_id: str, record: ModelRecord, checkpoint_sha256: str
) -> str:
    """After a finished training, keep one live run for the model and return it.

    If an earlier finished run of the same key holds the same checkpoint bytes, DVC will skip
    the later stages (their inputs are identical), so that complete run stays the model's run
    and the new one, with the same per-epoch numbers, is soft-deleted. Otherwise the earlier
    runs are soft-deleted and the new one is the model's run.
    """
    set_tags(run_id, {CHECKPOINT_TAG: checkpoint_sha256})
    earlier = [
        r for r in _find(experiment_id(experiment), record.run_key) if r.info.run_id != run_id
    ]
    same = [
        r
        for r in earlier
        if r.info.status == "FINISHED" and r.data.tags.get(CHECKPOINT_TAG) == checkpoint_sha256
    ]
    if same:
        keep = same[0].info.run_id
        _delete(
            [r.info.run_id for r in earlier if r.info.run_id != keep] + [run_id], record.spec.name
        )
        set_tags(keep, _context_tags())
        return keep
    _delete([r.info.run_id for r in earlier], record.spec.name)
    return run_id


COMPARISON = "comparison"  # the run of the pipeline's figures and tables
# The MLflow UI's saved view of the models' experiment (3.17: an experiment tag that
# ``#/experiments/<id>/runs?viewStateShareKey=actlab`` applies): the configurations in the
# matrix's order (created first, first; sorting by a metric would flatten their nesting,
# mlflow/mlflow#15802), their models nested under them, and test accuracy, its interval, the
# difference from the baseline and the verdict as the first columns.
VIEW_KEY = "actlab"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
VIEW_COLUMNS = (
    *(
        f"metrics.`{names.RENAMED[k]}`"
        for k in ("test_acc_mean", "test_acc_ci_low", "test_acc_ci_high")
    ),
    "tags.`verdict`",
    *(f"metrics.`{k}`" for k in ("diff_mean", "diff_ci_low", "diff_ci_high", "p_adjusted")),
    f"metrics.`{names.RENAMED['test_acc']}`",
)


COMPARISON_TAG = "actlab.comparison"  # on every run of the latest comparison: the view's filter


def comparison_view(key: str) -> str:
    """The saved view's tag value (MLflow's envelope around the view's state, a JSON text):
    the runs of the comparison ``key`` (tagged ``COMPARISON_TAG``), older ones filtered out."""
    import json
    import time

    state = {
        "orderByKey": "attributes.start_time",
        "orderByAsc": True,
        "searchFilter": f"tags.`{COMPARISON_TAG}` = '{key}'",
        "selectedColumns": list(VIEW_COLUMNS),
        "columnOrder": list(VIEW_COLUMNS),
        "columnWidths": {c: 200 if c.startswith("tags.") else 140 for c in VIEW_COLUMNS},
    }
    return json.dumps(
        {
            "name": "actlab: the comparison",
            "createdAt": int(time.time() * 1000),
            "state": json.dumps(state),
        }
    )


def saved_view(experiment: str) -> tuple[str | None, str | None]:
    """The experiment's id in the store and its saved view's key (None for either that does
    not exist yet: no run logged, or no ``plot`` yet)."""
    found = client().get_experiment_by_name(experiment)
    if found is None:
        return None, None
    return found.experiment_id, (VIEW_KEY if VIEW_TAG in found.tags else None)


def comparison_key(model_keys: list[str]) -> str:
    """The comparison run of exactly this set of trained models (12 hex digits: it is also
    the saved view's filter, a user reads it)."""
    return stable_hash({"comparison": sorted(model_keys)})[:12]
