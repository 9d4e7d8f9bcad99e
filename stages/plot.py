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


def _main() -> None:
    # Imported here, not at the top: `--help` answers without matplotlib or torch.
    import matplotlib.pyplot as plt

    from actlab import config, files, paths, records
    from actlab.analysis import comparison, stats, tables
    from actlab.data import datasets
    from actlab.figures import compose, layers
    from actlab.model import evaluation
    from actlab.tracking import report

    cfg = config.load()
    pc = cfg.plot
    names = cfg.model_names()
    metrics = {name: records.read_model_metrics(name) for name in names}
    samples, meta = datasets.read_prepared()
    chance = stats.chance(len(meta["classes"]))
    every = tables.model_table(cfg.data.dataset, metrics, chance=chance)
    correct = {
        name: {
            k: v.numpy()
            for k, v in evaluation.correct(
                files.load_torch(paths.predictions(name)), samples["test_labels"]
            ).items()
        }
        for name in names
    }
    plans = {name: m.record.plan for name, m in metrics.items()}
    result = comparison.compare(cfg, every, correct, plans, chance)
    configurations = result.configurations
    compared = {name: metrics[name] for name in result.models["model"]}

    figures = compose.comparison_figures(
        cfg,
        compared,
        result.models,
        configurations,
        samples,
        meta["classes"],
        baseline=cfg.analysis.baseline,
        margin=cfg.analysis.equivalence_margin,
    )
    written = []
    for stem, fig in figures.items():
        written.append(paths.PLOTS / f"{stem}.{pc.format}")
        files.save_figure(written[-1], fig, pc.dpi)
        plt.close(fig)
    for name, m in metrics.items():  # a model's figures: made, saved or logged, closed in turn
        own = {
            **compose.model_figures(cfg, m),
            "weights": layers.weight_histograms(pc, name, m.weights),
        }
        files.save_figure(paths.weights_figure(name, pc.format), own["weights"], pc.dpi)
        report.log_model_figures(cfg.mlflow.experiment, m.record, own)
        for fig in own.values():
            plt.close(fig)
    files.write_csv(paths.SUMMARY_CSV, configurations)
    files.write_csv(paths.MODELS_CSV, every)
    caption = tables.caption(configurations, result.label, result.rule)
    for arch in cfg.models.architectures:
        files.write_table(paths.result_table(arch), tables.headline(configurations, arch), caption)
    files.write_table(paths.result_table("budgets"), result.budgets, caption)
    files.write_table(paths.result_table("neurons"), tables.neurons(configurations))
    if result.rates is not None:
        files.write_table(paths.result_table("learning_rates"), result.rates)
        files.write_table(paths.result_table("verdicts_by_rate"), result.verdicts_by_rate)
    sections = tables.summary_sections(
        configurations,
        every,
        result.budgets,
        result.label,
        result.rule,
        result.rates,
        result.verdicts_by_rate,
    )
    files.write_markdown(paths.SUMMARY_MD, sections)
    files.write_json(paths.AGGREGATES, tables.aggregates(configurations))
    files.write_tsv(paths.EPOCHS, tables.per_epoch(metrics, "history", tables.EPOCH_COLUMNS))
    files.write_tsv(paths.DEAD_EPOCHS, tables.per_epoch(metrics, "dynamics", tables.DEAD_COLUMNS))

    pages = {  # per configuration its MLflow run's figure and page
        name: (
            fig,
            files.markdown_sections(tables.configuration_page(configurations, result.models, name)),
        )
        for name, fig in compose.configuration_figures(cfg, compared).items()
    }
    report.log_comparison(cfg, metrics, compared, configurations, written, pages)
    for fig, _ in pages.values():
        plt.close(fig)
    log.info("wrote %d figures and %s for %d models", len(figures), paths.SUMMARY_MD, len(names))


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
