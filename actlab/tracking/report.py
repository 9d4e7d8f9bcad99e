"""What each stage logs to MLflow, given what it computed and wrote: the stages call one
function here after their files are written, so the MLflow layout lives in one package.

Per model: params, per-epoch metrics (step = epoch), test and neuron metrics, figures and the
checkpoint, in the model's run (``runs.model_run``). Per configuration: the aggregates across
seeds, its figure and page, in its parent run. Per comparison: a run beside them in the
models' experiment, and the saved view of the runs table. Per prepared dataset: a run in the
pipeline's experiment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actlab import paths
from actlab.config_reader import flatten
from actlab.records import ModelMetrics, ModelRecord
from actlab.tracking import names, runs, store

if TYPE_CHECKING:
    import pandas as pd

    from actlab.config import Config

log = logging.getLogger(__name__)
NEURON_COUNTS = ("dead", "nearly_dead", "saturated")


def log_prepared(cfg: Config, meta: Mapping[str, Any], source: str) -> None:
    """The prepared dataset's facts, in a run of its own keyed by its checksum."""
    run_id = runs.open_run(
        runs.pipeline_experiment(cfg.mlflow.experiment),
        meta["checksum"][:32],
        f"data-{meta['dataset']}",
        kind="data",
        params={
            "data.source": source,
            **flatten(dataclasses.asdict(cfg.data), "data."),
            "data.checksum": meta["checksum"],
        },
        replace=True,
    )
    store.log_artifact(run_id, paths.PREPARED_META)
    store.finish(run_id)


def log_trained(
    experiment: str, run_id: str, record: ModelRecord, metrics: Mapping, seconds: float, device
) -> str:
    """A finished training's metrics, tags and files; closes its run and returns the run
    that stays the model's (``runs.settle_training_run``)."""
    name = record.spec.name
    numbers = {
        k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    numbers |= {f"best_epoch_within_{b}": e for b, e in metrics["best_epoch_within"].items()}
    epochs = metrics["epochs_trained"]
    store.log_metrics(
        run_id, {**numbers, "train_seconds": seconds, "seconds_per_epoch": seconds / epochs}
    )
    diverged = metrics["diverged_at_epoch"]
    store.set_tags(
        run_id,
        {
            "device": str(device),
            "diverged": "no" if diverged is None else f"epoch {diverged}",
            "stopped": str(metrics["stopped"]),  # patience | max_epochs | diverged
        },
    )
    if record.plan is not None:  # the plan it trained under, on its configuration's run too
        plan = json.dumps(dict(record.plan), sort_keys=True)
        store.set_tags(run_id, {"analysis.plan": plan})
        store.set_tags(runs.configuration_run(experiment, record), {"analysis.plan": plan})
    store.log_artifact(run_id, paths.best_checkpoint(name), "checkpoint")
    store.log_artifact(run_id, paths.model_record(name), "checkpoint")
    store.log_text(run_id, paths.curves(name).read_text(), "curves.tsv")
    store.finish(run_id)
    sha = hashlib.sha256(paths.best_checkpoint(name).read_bytes()).hexdigest()
    return runs.settle_training_run(experiment, run_id, record, sha)


def log_evaluation(experiment: str, record: ModelRecord, result: Mapping[str, Any]) -> None:
    run_id = runs.model_run(experiment, record)
    store.log_metrics(run_id, {"test_loss": result["test_loss"], "test_acc": result["test_acc"]})
    within = {f"test_acc_within_{b}": v["test_acc"] for b, v in result.get("budgets", {}).items()}
    if within:  # the best checkpoint within each earlier budget (train.budgets)
        store.log_metrics(run_id, within)
    # Per-class accuracy and the confusion matrix: detail, in the artifact, not as ten metrics.
    store.log_text(run_id, paths.evaluate(record.spec.name).read_text(), "evaluate.json")


def neuron_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """``dead/init/total``, ``saturated/trained/layer3``, ... from the dead_neurons counts."""
    flat = {}
    for when in ("init", "trained"):
        for what in NEURON_COUNTS:
            summary = result[when][what]
            flat[f"{what}/{when}/total"] = summary["total"]
            flat[f"{what}/{when}/percent"] = summary["percent_total"]
            for i, n in enumerate(summary["per_layer"], 1):
                flat[f"{what}/{when}/layer{i}"] = n
    return flat


def log_dead_neurons(
    experiment: str, record: ModelRecord, result: Mapping[str, Any], rows: Sequence[Mapping]
) -> None:
    name = record.spec.name
    run_id = runs.model_run(experiment, record)
    store.log_metrics(run_id, neuron_metrics(result))
    per_epoch = [{k if k == "epoch" else f"dynamics/{k}": v for k, v in r.items()} for r in rows]
    store.log_rows(run_id, per_epoch, only_changed=True)  # a rerun adds no duplicates
    store.log_text(run_id, paths.dead_neurons(name).read_text(), "dead_neurons.json")
    store.log_text(run_id, paths.distributions(name).read_text(), "distributions.json")


def log_model_figures(experiment: str, record: ModelRecord, figures: Mapping[str, Any]) -> None:
    """A model's own figures (by stem: ``figures.compose.model_figures`` and its weight
    histograms, ``weights``), in its run: at the top of its artifacts, named alike in every
    model's run (MLflow's compare view shows only top-level files the runs have in common)."""
    run_id = runs.model_run(experiment, record)
    for stem, fig in figures.items():
        store.log_figure(run_id, fig, f"{stem}.png")


def log_configurations(
    cfg: Config,
    compared: Mapping[str, ModelMetrics],
    configurations: pd.DataFrame,
    pages: Mapping[str, tuple[Any, str]],
    key: str,
) -> None:
    """The aggregates across seeds, on each configuration's parent run: ``compared`` are the
    models the rows aggregate (under a grid of rates, each activation's at its chosen rate,
    whose configuration is named with that rate); ``pages``, per configuration (its name),
    its figure (``curves.png``) and its page (``configuration.md``). Each configuration's run
    and its compared models' runs are tagged with the comparison ``key``."""
    import pandas as pd

    records = {}
    shown = {runs.COMPARISON_TAG: key}
    for m in compared.values():
        spec = m.record.spec
        records.setdefault((spec.activation, spec.architecture), m.record)
        store.set_tags(runs.model_run(cfg.mlflow.experiment, m.record), shown)
    for _, row in configurations.iterrows():
        record = records[(row["activation"], row["architecture"])]
        run_id = runs.configuration_run(cfg.mlflow.experiment, record)
        numbers = {
            k: names.rounded(k, v)
            for k, v in row.items()
            if k not in ("configuration", "activation", "architecture", "baseline", "verdict")
            and isinstance(v, (int, float))
            and not pd.isna(v)
        }
        store.log_metrics(run_id, numbers)
        store.set_tags(run_id, {"verdict": row["verdict"], "baseline": row["baseline"], **shown})
        if row["configuration"] in pages:
            figure, page = pages[row["configuration"]]
            store.log_figure(run_id, figure, "curves.png")
            store.log_text(run_id, page, "configuration.md")
        store.finish(run_id, instant=True)


def log_comparison(
    cfg: Config,
    metrics: Mapping[str, ModelMetrics],
    compared: Mapping[str, ModelMetrics],
    configurations: pd.DataFrame,
    figures: Sequence[Path],
    pages: Mapping[str, tuple[Any, str]],
) -> None:
    """Per configuration its aggregates (of the ``compared`` models), figure and page; the
    comparison's figures and tables in a run of its own keyed by the set of models
    (``metrics``), in the models' experiment, a row of the runs table beside the
    configurations; and the runs table's saved view of this comparison's runs
    (``runs.comparison_view``)."""
    key = runs.comparison_key([m.record.run_key for m in metrics.values()])
    log_configurations(cfg, compared, configurations, pages, key)
    run_id = runs.open_run(
        cfg.mlflow.experiment,
        key,
        runs.COMPARISON,
        kind="comparison",
        params={"models": ",".join(metrics)},
        tags={runs.COMPARISON_TAG: key},
        replace=True,
    )
    for path in figures:
        store.log_artifact(run_id, path, "figures")
    for path in (paths.SUMMARY_CSV, paths.MODELS_CSV, paths.SUMMARY_MD, paths.AGGREGATES):
        store.log_artifact(run_id, path)
    store.finish(run_id, instant=True)
    store.set_experiment_tag(cfg.mlflow.experiment, runs.VIEW_TAG, runs.comparison_view(key))
