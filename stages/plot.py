"""Stage ``plot``: every model's metrics files -> statistics across seeds, figures, tables.

Reads the list of models from params (never globs ``metrics/``, where a removed activation
leaves stale files), writes ``metrics/plots/*.png``, ``metrics/summary.csv|.md`` (one row per
configuration), ``metrics/models.csv`` (one per model), ``metrics/aggregates.json`` and the
per-epoch tables ``dvc plots`` draws; logs per-model figures to each model's MLflow run, the
aggregates to each configuration's parent run, and the comparison to a run of its own.
"""

from __future__ import annotations

import logging

from actlab import cli

log = logging.getLogger("plot")
EPOCH_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")
DEAD_COLUMNS = ("epoch", "dead_total", "saturated_total")
SUMMARY_TEXT = (
    "Test accuracy over the seeds: mean and 95 % Student-t interval. Each activation is "
    "compared with the best of its architecture, paired by seed (paired t-test, "
    "Holm-corrected across the architecture's comparisons)."
)


def _main() -> None:
    # Imported here, not at the top: `--help` answers without matplotlib or torch.
    import matplotlib.pyplot as plt

    from actlab import config, files, paths
    from actlab.analysis import tables
    from actlab.data import datasets
    from actlab.figures import compose, layers
    from actlab.tracking import report

    cfg = config.load()
    names = cfg.model_names()
    metrics = {name: files.read_model_metrics(name) for name in names}
    models = tables.model_table(cfg.data.dataset, metrics)
    configurations = tables.configuration_table(models)
    samples, meta = datasets.read_prepared()

    figures = compose.comparison_figures(
        cfg, metrics, models, configurations, samples, meta["classes"]
    )
    written = []
    for stem, fig in figures.items():
        written.append(paths.PLOTS / f"{stem}.{cfg.plot.format}")
        files.save_figure(written[-1], fig, cfg.plot.dpi)
        plt.close(fig)
    for name, m in metrics.items():  # one figure per model: made, saved and closed in turn
        fig = layers.weight_histograms(cfg.plot, name, m.weights)
        files.save_figure(paths.weights_figure(name, cfg.plot.format), fig, cfg.plot.dpi)
        plt.close(fig)
    files.write_csv(paths.SUMMARY_CSV, configurations)
    files.write_csv(paths.MODELS_CSV, models)
    files.write_markdown(
        paths.SUMMARY_MD,
        [
            ("Per configuration", SUMMARY_TEXT, tables.readable(configurations)),
            ("Per model", "One row per trained network.", models),
        ],
    )
    files.write_json(paths.AGGREGATES, tables.aggregates(configurations))
    files.write_tsv(paths.EPOCHS, tables.per_epoch(metrics, "history", EPOCH_COLUMNS))
    files.write_tsv(paths.DEAD_EPOCHS, tables.per_epoch(metrics, "dynamics", DEAD_COLUMNS))

    report.log_comparison(cfg, metrics, configurations, written)
    log.info("wrote %d figures and %s for %d models", len(figures), paths.SUMMARY_MD, len(names))


def main(argv: list[str] | None = None) -> int:
    return cli.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
