"""Which figures the ``plot`` stage draws, from what: every comparison figure by file stem, and
each model's own slice of them for its MLflow run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from actlab.figures import charts, forest, layers

if TYPE_CHECKING:
    import pandas as pd

    from actlab.config import Config
    from actlab.records import ModelMetrics


def comparison_figures(
    cfg: Config,
    metrics: Mapping[str, ModelMetrics],
    models: pd.DataFrame,
    configurations: pd.DataFrame,
    samples: Mapping,
    classes: list[str],
    *,
    baseline: str,
    margin: float,
) -> dict[str, Figure]:
    """All comparison figures by file stem, the headline ``comparison`` first.

    ``baseline``: the activation every other is compared with, paired by seed; ``margin``:
    the equivalence margin in points of test accuracy. Accuracy, curves and the per-layer
    counts aggregate every seed; the gradient-flow, activation-distribution and dynamics
    figures show the first seed's models, one each, and say which seed.
    """
    pc, m = cfg.plot, cfg.models
    # Chosen on validation, never on test: the first of equals (idxmax), no test tie-break.
    # A model that diverged in its first epoch has no validation accuracy: it ranks last.
    best = models.loc[models["best_val_acc"].fillna(-1.0).idxmax(), "model"]
    trained = dict(zip(models["model"], models["trained"].astype(bool), strict=True))
    # the first seed of the matrix among the compared models (the confirmatory ones only, when
    # a comparison has some)
    shown = {v.record.spec.seed for v in metrics.values()}
    seed = next(s for s in m.seeds if s in shown)
    first = {n: v for n, v in metrics.items() if v.record.spec.seed == seed}
    options = {a: cfg.activation_options[a] for a in m.activations}
    made = {
        "comparison": forest.comparison(
            pc,
            configurations,
            models,
            baseline=baseline,
            margin=margin,
            early_stopping=cfg.train.early_stopping,
        ),
        "activations": charts.activations(pc, options),
        "samples": charts.samples(
            pc,
            samples.get("train_images", samples.get("train_features")),
            samples["train_labels"],
            classes,
            cfg.data.dataset,
        ),
        "training_curves": charts.curves(
            pc, metrics, m.activations, m.architectures, max_epochs=cfg.train.max_epochs
        ),
        "test_accuracy": charts.test_accuracy(pc, configurations, models),
        "dead_saturated_per_layer": layers.dead_per_layer(
            pc,
            metrics,
            m.activations,
            m.architectures,
            cfg.probes.saturation_eps,
            cfg.probes.saturated_fraction,
        ),
        "dead_dynamics": layers.dead_dynamics(pc, first, cfg.train.dynamics_subset),
        "confusion_best": charts.confusion(pc, best, metrics[best], classes),
    }
    for arch in m.architectures:
        of_arch = {n: v for n, v in first.items() if v.record.spec.architecture == arch}
        made[f"gradient_flow_{arch}"] = layers.gradient_flow(
            pc, of_arch, arch, cfg.probes.grad_batch_size
        )
        made[f"activation_distributions_{arch}"] = layers.activation_distributions(
            pc, of_arch, arch, cfg.probes.activation_batch_size, trained=trained
        )
    return made


def configuration_figures(cfg: Config, compared: Mapping[str, ModelMetrics]) -> dict[str, Figure]:
    """Per configuration, by its name (the compared models: under a grid of rates, each
    activation at its chosen rate), its seeds' validation curves beside its baseline's, for
    its MLflow run."""
    groups: dict[tuple[str, str], list[ModelMetrics]] = {}
    for m in compared.values():
        groups.setdefault((m.record.spec.activation, m.record.spec.architecture), []).append(m)
    baseline = cfg.analysis.baseline
    figures = {}
    for (activation, arch), runs in groups.items():
        name = runs[0].record.spec.configuration
        base = [] if activation == baseline else groups.get((baseline, arch), [])
        figures[name] = charts.configuration_curves(cfg.plot, name, runs, base)
    return figures


def model_figures(cfg: Config, m: ModelMetrics) -> dict[str, Figure]:
    """One model's slice of the comparison, by file stem: its gradient flow at init, its
    activation distributions after training, its dead and saturated neurons per epoch."""
    pc, single, arch = cfg.plot, {m.record.spec.name: m}, m.record.spec.architecture
    return {
        "gradient_flow_init": layers.gradient_flow(pc, single, arch, cfg.probes.grad_batch_size),
        "activation_distributions": layers.activation_distributions(
            pc, single, arch, cfg.probes.activation_batch_size
        ),
        "dead_dynamics": layers.dead_dynamics(pc, single, cfg.train.dynamics_subset),
    }
