"""The per-layer figures as pure functions: gradient flow, activation distributions and dead or
saturated neurons per hidden layer. Data in, a matplotlib figure out; ``actlab.figures.charts`` has
the model-level ones and the shared styling.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from actlab.config import PlotConfig
from actlab.figures.charts import Metrics, activation_colours, figure, integer_ticks, log_y


def _layer_colours(n: int) -> list:
    """Layer 1 dark to layer n light: depth reads as a gradient at any number of layers."""
    return [plt.get_cmap("viridis")(i / max(1, n - 1) * 0.9) for i in range(n)]


def gradient_flow(pc: PlotConfig, metrics: Metrics, arch: str, batch: int) -> Figure:
    """Per model, the mean and the median |dL/dW| of each Linear layer at initialisation
    (log scale): vanishing gradients show as a line falling towards the input layer."""
    names = list(metrics)
    colours = activation_colours(
        list(dict.fromkeys(m.record.spec.activation for m in metrics.values()))
    )
    fig, axes = figure(pc, 1, 2, pc.width * 0.36)
    for ax, (stat, label) in zip(
        axes[0], (("mean_abs", "mean |dL/dW|"), ("abs_q50", "median |dL/dW|")), strict=True
    ):
        for name in names:
            layers = metrics[name].distributions["gradient_flow_init"]
            ax.plot(
                [layer["layer"] for layer in layers],
                [max(layer["summary"][stat], 1e-30) for layer in layers],
                marker="o",
                ms=3,
                label=name,
                color=colours[metrics[name].record.spec.activation],
            )
        log_y(ax)
        ax.set(xlabel="Linear layer (1 = input, last = output)", ylabel=f"{label} (log)")
        integer_ticks(ax)
        ax.grid(alpha=0.3)
    axes[0, 1].legend(fontsize="x-small", ncol=2 if len(names) > 6 else 1)
    fig.suptitle(
        f"Gradient flow at initialisation ({arch})\nweight gradients per layer, one batch of "
        f"{batch} training images"
    )
    return fig


def activation_distributions(pc: PlotConfig, metrics: Metrics, arch: str, batch: int) -> Figure:
    """One small panel per model: each hidden layer's output histogram as a line (log
    counts), and the share of exact zeros over all layers in the panel title."""
    names = list(metrics)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = figure(pc, rows, cols, pc.width / cols * 0.75)
    for ax, name in zip(axes.flat, names, strict=False):
        layers = metrics[name].distributions["activations_trained"]
        colours = _layer_colours(len(layers))
        for layer, colour in zip(layers, colours, strict=True):
            hist = layer["hist"]
            ax.stairs(
                np.maximum(hist["counts"], 0.5),  # log scale: an empty bin sits at the floor
                np.asarray(hist["edges"]),
                color=colour,
                label=f"layer {layer['layer']}",
            )
        zeros = np.mean([layer["summary"]["fraction_zero"] for layer in layers])
        log_y(ax)
        ax.set_title(f"{name}: {100 * zeros:.0f}% exact zeros", fontsize="small")
        ax.set_xlabel("activation output", fontsize="x-small")
        ax.tick_params(labelsize="x-small")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel("count (log)", fontsize="x-small")
    axes.flat[0].legend(fontsize="xx-small", ncol=2)
    fig.suptitle(
        f"Activation outputs per hidden layer after training ({arch}), {batch} training "
        "images\ndark = first layer, light = last"
    )
    return fig


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
            ax.set_title(title, fontsize="small")
            ax.set_xlabel(f"hidden layer ({arch})", fontsize="x-small")
    fig.suptitle(
        "Neurons per hidden layer in % of the layer, mean over seeds (· = none), on the whole "
        "training split\ndead: output 0 on every image; nearly dead: output 0 on "
        f">= {fraction:.0%} of them; saturated: |f'| < {eps:g} max|f'| on >= {fraction:.0%}",
        fontsize="small",
    )
    return fig


def dead_dynamics(pc: PlotConfig, metrics: Metrics, subset: int) -> Figure:
    """Dead neurons per hidden layer per epoch, for the models that have any (only
    activations with an exactly-zero output, the ReLU family, can)."""
    names = [n for n, m in metrics.items() if m.dynamics["dead_total"].to_numpy().any()]
    cols = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = figure(pc, rows, cols, pc.width / cols * 0.6)
    for ax, name in zip(axes.flat, names, strict=False):
        dyn = metrics[name].dynamics
        columns = [c for c in dyn.columns if c.startswith("dead_layer")]
        for column, colour in zip(columns, _layer_colours(len(columns)), strict=True):
            ax.plot(dyn["epoch"], dyn[column], color=colour, label=column.removeprefix("dead_"))
        ax.plot(dyn["epoch"], dyn["dead_total"], "k--", lw=1, label="all layers")
        ax.set_title(name, fontsize="small")
        ax.set(xlabel="epoch (0 = init)", ylabel="dead neurons (count)")
        integer_ticks(ax)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if names:
        axes.flat[0].legend(fontsize="xx-small", ncol=2)
    else:
        axes[0, 0].text(0.5, 0.5, "no model has a dead neuron at any epoch", ha="center")
    others = [n for n in metrics if n not in names]
    note = f"\nnone at any epoch: {', '.join(others)}" if 0 < len(others) <= 8 else ""
    fig.suptitle(
        f"Dead neurons per layer and epoch\n(output 0 on all {subset} probed training images)"
        + note,
        fontsize="small",
    )
    return fig


def weight_histograms(pc: PlotConfig, name: str, hist: dict) -> Figure:
    """One model's first and last layer over its epochs: heatmaps of epoch x bin for the
    weights and for log10 |weight gradient| (bins fixed at initialisation, so epochs compare;
    colour: log10 of the count + 1). Weights start at epoch 0 (init), gradients at epoch 1."""
    fig, axes = figure(pc, 2, 2, pc.width * 0.27)
    panels = (("weights", "weight value"), ("grads_log10", "log10 |dL/dW|, last batch"))
    for row, layer in enumerate(("first", "last")):
        for col, (kind, label) in enumerate(panels):
            ax, key = axes[row, col], f"{layer}/{kind}"
            counts = np.asarray(hist["counts"][key], dtype=float)
            if counts.size == 0:
                ax.axis("off")
                continue
            first_epoch = 0 if kind == "weights" else 1
            epochs = np.arange(first_epoch, first_epoch + len(counts) + 1) - 0.5
            mesh = ax.pcolormesh(
                epochs, np.asarray(hist["edges"][key]), np.log10(counts.T + 1), cmap="magma"
            )
            ax.set_title(f"{layer} layer: {label}", fontsize="small")
            ax.set_xlabel("epoch", fontsize="x-small")
            ax.set_ylabel(label, fontsize="x-small")
            ax.tick_params(labelsize="x-small")
            integer_ticks(ax)
            fig.colorbar(mesh, ax=ax).set_label("log10(count + 1)", fontsize="x-small")
    fig.suptitle(
        f"{name}: weights and weight gradients of the first and last layer, per epoch\n"
        "bins fixed at initialisation; the lowest gradient bin holds exact zeros too"
    )
    return fig
