"""Stage ``plot``: every model's metrics files -> statistics across seeds, figures, tables.

Reads the list of models from params (never globs ``metrics/``, where a removed activation
leaves stale files), writes ``metrics/plots/*.png``, ``metrics/summary.csv|.md`` (one row per
configuration), ``metrics/models.csv`` (one per model), ``metrics/aggregates.json`` and the
per-epoch tables ``dvc plots`` draws and the result tables the docs show
(``metrics/results/``); logs per-model figures to each model's MLflow run, the
aggregates to each configuration's parent run, and the comparison to a run of its own.
"""

from __future__ import annotations

import logging

from actlab import stage_runner

log = logging.getLogger("plot")
EPOCH_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")
DEAD_COLUMNS = ("epoch", "dead_total", "saturated_total")
SUMMARY_TEXT = (
    "Test accuracy over the seeds: how many trained (above chance), mean and 95 % Student-t "
    "interval (per-seed values where the seeds are mixed or identical), and the 95 % "
    "prediction interval of one new run, against which the published single run is checked. "
    "Each activation is compared with {baseline}, paired by seed: mean difference with its "
    "Bonferroni-adjusted interval and p (95 % family-wise per architecture), the smallest "
    "difference the seeds could detect (80 % power), and a test of equivalence within "
    "±{margin:g} points (TOST). docs/results.md explains each column."
)
GRID_TEXT = (
    "train.lr is a grid: each activation x architecture trained at every rate, and the rate "
    "with the highest mean best validation accuracy is chosen (the test set plays no part). "
    "The comparison above is at the chosen rates."
)
VERDICTS_TEXT = "The verdicts with every activation at one rate, and each at its chosen rate."


def _main() -> None:
    # Imported here, not at the top: `--help` answers without matplotlib or torch.
    import functools

    import matplotlib.pyplot as plt

    from actlab import config, files, paths, records
    from actlab.analysis import learning_rates, tables
    from actlab.data import datasets
    from actlab.figures import compose, layers
    from actlab.tracking import report

    cfg = config.load()
    pc = cfg.plot
    names = cfg.model_names()
    metrics = {name: records.read_model_metrics(name) for name in names}
    samples, meta = datasets.read_prepared()
    chance = 100 / len(meta["classes"])
    every = tables.model_table(cfg.data.dataset, metrics, chance=chance)
    compare = functools.partial(
        tables.configuration_table,
        baseline=pc.baseline,
        margin=pc.equivalence_margin,
        chance=chance,
    )
    grid = len(cfg.train.lr) > 1
    # With a grid of rates, the comparison and its figures are of each one's chosen rate.
    models = learning_rates.at_chosen_rates(every) if grid else every
    compared = {name: metrics[name] for name in models["model"]}
    configurations = compare(models)

    figures = compose.comparison_figures(
        cfg,
        compared,
        models,
        configurations,
        samples,
        meta["classes"],
        baseline=pc.baseline,
        margin=pc.equivalence_margin,
    )
    written = []
    for stem, fig in figures.items():
        written.append(paths.PLOTS / f"{stem}.{pc.format}")
        files.save_figure(written[-1], fig, pc.dpi)
        plt.close(fig)
    for name, m in metrics.items():  # one figure per model: made, saved and closed in turn
        fig = layers.weight_histograms(pc, name, m.weights)
        files.save_figure(paths.weights_figure(name, pc.format), fig, pc.dpi)
        plt.close(fig)
    files.write_csv(paths.SUMMARY_CSV, configurations)
    files.write_csv(paths.MODELS_CSV, every)
    text = SUMMARY_TEXT.format(baseline=pc.baseline, margin=pc.equivalence_margin)
    sections = [("Per configuration", text, tables.readable(configurations))]
    for arch in cfg.models.architectures:
        files.write_table(paths.result_table(arch), tables.headline(configurations, arch))
    files.write_table(paths.result_table("neurons"), tables.neurons(configurations))
    if grid:
        rates = learning_rates.grid(every)
        verdicts = learning_rates.verdicts(every, compare)
        sections += [
            ("Learning rates", GRID_TEXT, rates),
            ("Verdicts per rate", VERDICTS_TEXT, verdicts),
        ]
        files.write_table(paths.result_table("learning_rates"), rates)
        files.write_table(paths.result_table("verdicts_by_rate"), verdicts)
    sections.append(("Per model", "One row per trained network.", every))
    files.write_markdown(paths.SUMMARY_MD, sections)
    files.write_json(paths.AGGREGATES, tables.aggregates(configurations))
    files.write_tsv(paths.EPOCHS, tables.per_epoch(metrics, "history", EPOCH_COLUMNS))
    files.write_tsv(paths.DEAD_EPOCHS, tables.per_epoch(metrics, "dynamics", DEAD_COLUMNS))

    report.log_comparison(cfg, metrics, configurations, written)
    log.info("wrote %d figures and %s for %d models", len(figures), paths.SUMMARY_MD, len(names))


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
