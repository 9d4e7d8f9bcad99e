"""The per-layer figures as pure functions: gradient flow, activation distributions and dead or
saturated neurons per hidden layer. Data in, a matplotlib figure out; ``stages.figures`` has
the model-level ones and the shared styling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from stages.config import PlotConfig
from stages.figures import Metrics, figure, integer_ticks

RELU_FAMILY = ("relu", "relu_custom", "leakyrelu", "elu")


def _histogram(ax, hist: Mapping, **kw) -> None:
    ax.stairs(hist["counts"], np.asarray(hist["edges"]), fill=True, alpha=0.7, **kw)


def _layer_grid(
    pc: PlotConfig,
    metrics: Metrics,
    key: str,
    draw: Callable[..., str],
    *,
    ylabel: str,
    xlabel: str,
    title: str,
) -> Figure:
    """Rows: the models; columns: their layers in ``probes[key]``; ``draw`` fills one cell
    from that layer's record and returns the cell's title."""
    names = list(metrics)
    columns = max(len(metrics[n].probes[key]) for n in names)
    fig, axes = figure(pc, len(names), columns, 1.5)
    for row, name in zip(axes, names, strict=True):
        layers = metrics[name].probes[key]
        for ax, layer in zip(row, layers, strict=False):
            ax.set_title(draw(ax, layer), fontsize="x-small")
            ax.tick_params(labelsize="x-small")
        row[0].set_ylabel(f"{name}\n{ylabel}", fontsize="small")
        for ax in row[len(layers) :]:
            ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel, fontsize="small")
    fig.suptitle(title)
    return fig


def gradient_flow(pc: PlotConfig, metrics: Metrics, arch: str, batch: int) -> Figure:
    def draw(ax, layer: Mapping) -> str:
        _histogram(ax, layer["hist_log10_abs"])
        return f"layer {layer['layer']}: mean |g| {layer['summary']['mean_abs']:.1e}"

    return _layer_grid(
        pc,
        metrics,
        "gradient_flow_init",
        draw,
        ylabel="weights (count)",
        xlabel="log10 |dL/dW| (exact 0: leftmost bin)",
        title=f"Gradient flow at initialisation ({arch}): weight gradients per layer, "
        f"one batch of {batch} images",
    )


def activation_distributions(pc: PlotConfig, metrics: Metrics, arch: str, batch: int) -> Figure:
    def draw(ax, layer: Mapping) -> str:
        _histogram(ax, layer["hist"], color="C1")
        ax.set_yscale("log")
        return f"layer {layer['layer']}: {100 * layer['summary']['fraction_zero']:.0f}% zeros"

    return _layer_grid(
        pc,
        metrics,
        "activations_trained",
        draw,
        ylabel="count (log)",
        xlabel="activation output",
        title=f"Activation outputs per layer after training ({arch}), {batch} training images",
    )


HEATMAP_PANELS = (
    ("init", "dead", "dead at init"),
    ("trained", "dead", "dead after training"),
    ("trained", "nearly_dead", "nearly dead after training"),
    ("trained", "saturated", "saturated after training"),
)


def dead_per_layer(
    pc: PlotConfig,
    metrics: Metrics,
    activations: Sequence[str],
    architectures: Sequence[str],
    eps: float,
    fraction: float,
) -> Figure:
    """Heatmaps, one row per architecture: activation x hidden layer, the percentage of the
    layer's neurons that are dead / nearly dead / saturated, mean over the seeds."""
    fig, axes = figure(pc, len(architectures), len(HEATMAP_PANELS), pc.width * 0.22)
    for row, arch in zip(axes, architectures, strict=True):
        for ax, (when, what, title) in zip(row, HEATMAP_PANELS, strict=True):
            grid = []
            for activation in activations:
                of_config = [
                    m.dead[when][what]["percent_per_layer"]
                    for m in metrics.values()
                    if m.record.spec.activation == activation and m.record.spec.architecture == arch
                ]
                grid.append(np.mean(of_config, axis=0))
            values = np.asarray(grid)
            ax.imshow(values, cmap="Reds", vmin=0, vmax=100, aspect="auto")
            for (i, j), v in np.ndenumerate(values):
                ax.text(
                    j,
                    i,
                    f"{v:.0f}" if v >= 0.5 else ("·" if v == 0 else "<1"),
                    ha="center",
                    va="center",
                    fontsize="xx-small",
                    color="white" if v > 60 else "black",
                )
            ax.set_xticks(range(values.shape[1]), range(1, values.shape[1] + 1))
            ax.set_yticks(range(len(activations)), activations)
            ax.tick_params(labelsize="x-small")
            ax.set_title(f"{title} ({arch})", fontsize="small")
            ax.set_xlabel("hidden layer", fontsize="x-small")
    fig.suptitle(
        "Neurons per hidden layer, % of the layer (mean over seeds; · = none), on the whole "
        f"training split. Dead: output 0 on every image; nearly dead: on >= {fraction:.0%}; "
        f"saturated: |f'| < {eps:g} max|f'| on >= {fraction:.0%}",
        fontsize="small",
    )
    return fig


def dead_dynamics(pc: PlotConfig, metrics: Metrics, subset: int) -> Figure:
    """Per-epoch dead/saturated counts per layer of the relu-family models that have any."""
    family = [n for n, m in metrics.items() if m.record.spec.activation in RELU_FAMILY]
    names = [
        n for n in family if metrics[n].dynamics.filter(regex="_layer").to_numpy().any()
    ] or family[:1]
    names = names or list(metrics)[:1]
    omitted = [n for n in family if n not in names]
    fig, axes = figure(pc, len(names), 2, 2.2)
    for row, name in zip(axes, names, strict=True):
        dyn = metrics[name].dynamics
        for ax, what in zip(row, ("dead", "saturated"), strict=True):
            columns = [c for c in dyn.columns if c.startswith(f"{what}_layer")]
            for i, column in enumerate(columns):
                ax.plot(
                    dyn["epoch"],
                    dyn[column],
                    label=f"layer {i + 1}",
                    color=plt.get_cmap("viridis")(i / max(1, len(columns) - 1)),
                )
            ax.set(
                title=f"{name}: {what} neurons per epoch",
                xlabel="epoch (0 = init)",
                ylabel=f"{what} neurons (count)",
            )
            integer_ticks(ax)
            ax.legend(fontsize="xx-small", ncol=2)
    note = f"\nnone at any epoch: {', '.join(omitted)}" if omitted else ""
    fig.suptitle(f"Dead/saturated neurons during training, on {subset} training images{note}")
    return fig
