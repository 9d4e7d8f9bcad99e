"""Stage ``plot``: every model's metrics files -> statistics across seeds, figures, tables.

Reads the list of models from params (never globs ``metrics/``, where a removed activation
leaves stale files), writes ``metrics/plots/*.png``, ``metrics/summary.csv|.md`` (one row per
configuration), ``metrics/models.csv`` (one per model) and ``metrics/aggregates.json``; logs
per-model figures to each model's MLflow run, the aggregates to each configuration's parent
run, and the comparison to a run of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from stages import cli

if TYPE_CHECKING:  # the stage imports its libraries only once it works, not for `--help`
    import pandas as pd

    from stages.config import Config
    from stages.summary import ModelMetrics

log = logging.getLogger("plot")
EPOCH_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")
DEAD_COLUMNS = ("epoch", "dead_total", "saturated_total")


def read_metrics(name: str) -> ModelMetrics:
    """Everything the earlier stages wrote about one model."""
    from stages import io, paths
    from stages.summary import ModelMetrics

    return ModelMetrics(
        record=io.read_record(paths.model_record(name)),
        train=io.read_json(paths.train(name)),
        history=io.read_tsv(paths.curves(name)),
        evaluate=io.read_json(paths.evaluate(name)),
        dead=io.read_json(paths.dead_neurons(name)),
        dynamics=io.read_tsv(paths.dead_dynamics(name)),
        probes=io.read_json(paths.probes(name)),
        weights=io.load_torch(paths.weight_histograms(name)),
    )


def make_figures(
    cfg: Config,
    metrics: dict[str, ModelMetrics],
    models: pd.DataFrame,
    configurations: pd.DataFrame,
    samples: dict,
    classes: list[str],
) -> dict:
    """All comparison figures by file stem.

    Accuracy, curves and the per-layer counts aggregate every seed; the gradient-flow,
    activation-distribution and dynamics figures show the first seed's models, one each.
    """
    from stages import figures, layer_figures

    pc, m = cfg.plot, cfg.models
    best = models.loc[models["test_acc"].idxmax(), "model"]
    first = {n: v for n, v in metrics.items() if v.record.spec.seed == m.seeds[0]}
    options = {a: cfg.activation_options[a] for a in m.activations}
    made = {
        "activations": figures.activations(pc, options),
        "samples": figures.samples(
            pc, samples["train_images"], samples["train_labels"], classes, cfg.data.dataset
        ),
        "training_curves": figures.curves(pc, metrics, m.activations, m.architectures),
        "test_accuracy": figures.test_accuracy(pc, configurations, models),
        "dead_saturated_per_layer": layer_figures.dead_per_layer(
            pc,
            metrics,
            m.activations,
            m.architectures,
            cfg.probes.saturation_eps,
            cfg.probes.saturated_fraction,
        ),
        "dead_dynamics": layer_figures.dead_dynamics(pc, first, cfg.train.dynamics_subset),
        "confusion_best": figures.confusion(pc, best, metrics[best], classes),
    }
    for arch in m.architectures:
        of_arch = {n: v for n, v in first.items() if v.record.spec.architecture == arch}
        made[f"gradient_flow_{arch}"] = layer_figures.gradient_flow(
            pc, of_arch, arch, cfg.probes.grad_batch_size
        )
        made[f"activation_distributions_{arch}"] = layer_figures.activation_distributions(
            pc, of_arch, arch, cfg.probes.activation_batch_size
        )
    return made


def _log_model_figures(cfg: Config, name: str, m: ModelMetrics) -> None:
    """Each model's run gets its own slice of the comparison."""
    import matplotlib.pyplot as plt

    from stages import layer_figures, paths, runs, tracking

    run_id = runs.model_run(cfg.mlflow.experiment, m.record)
    single, arch = {name: m}, m.record.spec.architecture
    for stem, fig in (
        (
            "gradient_flow_init",
            layer_figures.gradient_flow(cfg.plot, single, arch, cfg.probes.grad_batch_size),
        ),
        (
            "activation_distributions",
            layer_figures.activation_distributions(
                cfg.plot, single, arch, cfg.probes.activation_batch_size
            ),
        ),
        ("dead_dynamics", layer_figures.dead_dynamics(cfg.plot, single, cfg.train.dynamics_subset)),
    ):
        tracking.log_figure(run_id, fig, f"figures/{stem}.png")
        plt.close(fig)
    tracking.log_artifact(run_id, paths.weights_figure(name, cfg.plot.format), "figures/weights")


def _log_configurations(cfg: Config, metrics: dict, configurations: pd.DataFrame) -> None:
    """The aggregates across seeds, on each configuration's parent run."""
    import pandas as pd

    from stages import runs, tracking

    records = {}
    for m in metrics.values():
        spec = m.record.spec
        records.setdefault(f"{spec.activation}-{spec.architecture}", m.record)
    for _, row in configurations.iterrows():
        run_id = runs.configuration_run(cfg.mlflow.experiment, records[row["configuration"]])
        numbers = {
            k: float(v)
            for k, v in row.items()
            if k not in ("configuration", "activation", "architecture", "best", "verdict")
            and isinstance(v, (int, float))
            and not pd.isna(v)
        }
        tracking.log_metrics(run_id, numbers)
        tracking.set_tags(run_id, {"verdict": row["verdict"], "best": row["best"]})
        tracking.finish(run_id)


def _main() -> None:
    import matplotlib.pyplot as plt

    from stages import config, data, io, layer_figures, paths, runs, summary, tracking

    cfg = config.load()
    names = cfg.model_names()
    metrics = {name: read_metrics(name) for name in names}
    models = summary.model_table(cfg.data.dataset, metrics)
    configurations = summary.configuration_table(models)
    tensors, meta = data.read_prepared()
    made = make_figures(cfg, metrics, models, configurations, tensors, meta["classes"])
    written = []
    for stem, fig in made.items():
        written.append(paths.PLOTS / f"{stem}.{cfg.plot.format}")
        io.save_figure(written[-1], fig, cfg.plot.dpi)
        plt.close(fig)
    for name, m in metrics.items():  # one figure per model: made, saved and closed in turn
        fig = layer_figures.weight_histograms(cfg.plot, name, m.weights)
        io.save_figure(paths.weights_figure(name, cfg.plot.format), fig, cfg.plot.dpi)
        plt.close(fig)
    io.write_csv(paths.SUMMARY_CSV, configurations)
    io.write_csv(paths.MODELS_CSV, models)
    io.write_markdown(
        paths.SUMMARY_MD,
        [
            (
                "Per configuration",
                "Test accuracy over the seeds: mean and 95 % Student-t interval. Each "
                "activation is compared with the best of its architecture, paired by seed "
                "(paired t-test, Holm-corrected across the architecture's comparisons).",
                summary.readable(configurations),
            ),
            ("Per model", "One row per trained network.", models),
        ],
    )
    io.write_json(paths.AGGREGATES, summary.aggregates(configurations))
    io.write_tsv(paths.EPOCHS, summary.per_epoch(metrics, "history", EPOCH_COLUMNS))
    io.write_tsv(paths.DEAD_EPOCHS, summary.per_epoch(metrics, "dynamics", DEAD_COLUMNS))

    for name, m in metrics.items():
        _log_model_figures(cfg, name, m)
    _log_configurations(cfg, metrics, configurations)
    key = runs.comparison_key([m.record.run_key for m in metrics.values()])
    run_id = runs.open_run(
        runs.pipeline_experiment(cfg.mlflow.experiment),
        key,
        "comparison",
        kind="comparison",
        params={"models": ",".join(names)},
        replace=True,
    )
    for path in written:
        tracking.log_artifact(run_id, path, "figures")
    for path in (paths.SUMMARY_CSV, paths.MODELS_CSV, paths.SUMMARY_MD, paths.AGGREGATES):
        tracking.log_artifact(run_id, path)
    tracking.finish(run_id)
    log.info("wrote %d figures and %s for %d models", len(made), paths.SUMMARY_MD, len(names))


def main(argv: list[str] | None = None) -> int:
    return cli.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
