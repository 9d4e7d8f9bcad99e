"""Stage ``plot``: every model's metrics files -> figures and one comparison table.

Reads the list of models from params (never globs ``metrics/``, where a removed activation
leaves stale files), writes ``metrics/plots/*.png``, ``metrics/summary.csv|.md``, and logs
per-model figures to each model's MLflow run and the comparison to a run of its own.
"""

from __future__ import annotations

import logging

from stages import cli, config, data, figures, io, layer_figures, paths, tracking
from stages.config import Config
from stages.summary import ModelMetrics, summary_table

log = logging.getLogger("plot")


def read_metrics(name: str) -> ModelMetrics:
    """Everything the earlier stages wrote about one model."""
    return ModelMetrics(
        record=io.read_record(paths.model_record(name)),
        train=io.read_json(paths.train(name)),
        timing=io.read_json(paths.timing(name)),
        history=io.read_tsv(paths.curves(name)),
        evaluate=io.read_json(paths.evaluate(name)),
        dead=io.read_json(paths.dead_neurons(name)),
        dynamics=io.read_tsv(paths.dead_dynamics(name)),
        probes=io.read_json(paths.probes(name)),
    )


def make_figures(
    cfg: Config, metrics: dict[str, ModelMetrics], table, samples: dict, classes: list[str]
) -> dict:
    """All comparison figures by file stem.

    The table and the accuracy bars use every seed; the curves and the per-layer figures show
    the first seed's models only, one line or row each, so they stay readable.
    """
    pc, models = cfg.plot, cfg.models
    best = table.loc[table["test_acc"].idxmax(), "model"]
    first = {n: m for n, m in metrics.items() if m.record.spec.seed == models.seeds[0]}
    options = {a: cfg.activation_options[a] for a in models.activations}
    made = {
        "activations": figures.activations(pc, options),
        "samples": figures.samples(
            pc, samples["train_images"], samples["train_labels"], classes, cfg.data.dataset
        ),
        "training_curves": figures.curves(pc, first, models.activations, models.architectures),
        "test_accuracy": figures.test_accuracy(pc, table, models.activations),
        "dead_saturated_per_layer": layer_figures.dead_per_layer(
            pc, first, models.activations, models.architectures, cfg.probes.saturation_eps
        ),
        "dead_dynamics": layer_figures.dead_dynamics(pc, first, cfg.train.dynamics_subset),
        "confusion_best": figures.confusion(pc, best, metrics[best], classes),
    }
    for arch in models.architectures:
        of_arch = {n: m for n, m in first.items() if m.record.spec.architecture == arch}
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

    run_id = tracking.model_run(cfg.mlflow.experiment, m.record)
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


def _main() -> None:
    import matplotlib.pyplot as plt

    cfg = config.load()
    names = cfg.model_names()
    metrics = {name: read_metrics(name) for name in names}
    table = summary_table(cfg.data.dataset, metrics)
    tensors, meta = data.read_prepared()
    made = make_figures(cfg, metrics, table, tensors, meta["classes"])
    written = []
    for stem, fig in made.items():
        written.append(paths.PLOTS / f"{stem}.{cfg.plot.format}")
        io.save_figure(written[-1], fig, cfg.plot.dpi)
        plt.close(fig)
    io.write_table(paths.SUMMARY_CSV, paths.SUMMARY_MD, table)

    for name, m in metrics.items():
        _log_model_figures(cfg, name, m)
    key = tracking.comparison_key([m.record.run_key for m in metrics.values()])
    run_id = tracking.open_run(
        cfg.mlflow.experiment,
        key,
        "comparison",
        kind="comparison",
        params={"models": ",".join(names)},
        replace=True,
    )
    for path in written:
        tracking.log_artifact(run_id, path, "figures")
    for path in (paths.SUMMARY_CSV, paths.SUMMARY_MD):
        tracking.log_artifact(run_id, path)
    tracking.finish(run_id)
    log.info("wrote %d figures and %s for %d models", len(made), paths.SUMMARY_MD, len(names))


def main(argv: list[str] | None = None) -> int:
    return cli.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
