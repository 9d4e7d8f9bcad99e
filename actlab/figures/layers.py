"""The per-layer figures as pure functions: gradient flow, activation distributions and dead or
saturated neurons per hidden layer. Data in, a matplotlib figure out; ``actlab.figures.charts`` has
the model-level ones and the shared styling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from actlab.analysis import stats
from actlab.config import PlotConfig
from actlab.figures.charts import (
    Metrics,
    activation_colours,
    activation_linestyles,
    figure,
    integer_ticks,
    legend_below,
    log_y,
)


def _trained(m) -> bool:
    """Whether a model's test accuracy left chance (the tables' rule, chance from its classes)."""
    classes = len(m.evaluate["confusion_matrix"])
    return 100 * m.evaluate["test_acc"] >= stats.trained_threshold(stats.chance(classes))


def seeds_of(metrics: Metrics) -> str:
    """``seed 42`` (or ``seeds 42, 43``): the seeds the models of a single-seed figure have."""
    seeds = sorted({m.record.spec.seed for m in metrics.values()})
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def _layer_colours(n: int) -> list:
    """Layer 1 dark to layer n light: depth reads as a gradient at any number of layers."""
    return [plt.get_cmap("viridis")(i / max(1, n - 1) * 0.9) for i in range(n)]


GRADIENT_STATS = (("mean_abs", "mean |dL/dW|"), ("abs_q50", "median |dL/dW|"))


def gradient_flow(pc: PlotConfig, metrics: Metrics, arch: str, batch: int) -> Figure:
    """Per model, the mean and the median |dL/dW| of each Linear layer at initialisation
    (log scale): vanishing gradients show as a line falling towards the input layer. A value
    of exactly 0 has no place on a log axis: it is a marker on a thin axis of its own below
    (gid ``zero-axis``, sharing x), labelled "exactly 0"."""
    names = list(metrics)
    activations = list(dict.fromkeys(m.record.spec.activation for m in metrics.values()))
    colours, styles = activation_colours(activations), activation_linestyles(activations)
    values = {
        (name, stat): np.array(
            [layer["summary"][stat] for layer in metrics[name].distributions["gradient_flow_init"]],
            dtype=float,
        )
        for name in names
        for stat, _ in GRADIENT_STATS
    }
    any_zero = any((y == 0).any() for y in values.values())
    fig, axes = plt.subplots(
        2 if any_zero else 1,
        2,
        figsize=(pc.width, pc.width * 0.36 + 0.6),
        squeeze=False,
        sharex="col",
        height_ratios=[1, 0.09] if any_zero else [1],
        layout="constrained",
    )
    for col, (stat, label) in enumerate(GRADIENT_STATS):
        ax = axes[0, col]
        strip = axes[1, col] if any_zero else None
        for name in names:
            layers = metrics[name].distributions["gradient_flow_init"]
            x = np.array([layer["layer"] for layer in layers])
            y = values[name, stat]
            activation = metrics[name].record.spec.activation
            colour = colours[activation]
            ax.plot(
                x,
                np.where(y > 0, y, np.nan),
                marker="o",
                ms=3,
                label=name,
                color=colour,
                linestyle=styles[activation],
            )
            if strip is not None and (y == 0).any():
                strip.plot(
                    x[y == 0], np.zeros((y == 0).sum()), "v", ms=5, color=colour, gid="zeros"
                )
        log_y(ax)
        scale = "log" if ax.get_yscale() == "log" else "linear"
        ax.set_ylabel(f"{label} ({scale})")
        ax.grid(alpha=0.3)
        bottom = strip if strip is not None else ax
        if strip is not None:
            strip.set_gid("zero-axis")
            strip.set_ylim(-1, 1)
            strip.set_yticks([0], ["exactly 0"], fontsize="x-small")
            strip.set_facecolor("0.95")
            strip.grid(axis="x", alpha=0.3)
            ax.tick_params(labelbottom=False)
        bottom.set_xlabel("Linear layer (1 = input, last = output)")
        integer_ticks(bottom)
    legend_below(fig, *axes[0, 0].get_legend_handles_labels())
    zero_note = "; ▼ on the strip below: exactly 0 (no place on a log axis)" if any_zero else ""
    fig.suptitle(
        f"Gradient flow at initialisation ({arch}, {seeds_of(metrics)})\nweight gradients per "
        f"layer, one batch of {batch} training images{zero_note}"
    )
    return fig


SHOWN_LAYERS = 5  # more hidden layers than this: only the first two, the middle, the last two
LAYER_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")  # distinct, ordered


def shown_layers(n: int) -> list[int]:
    """The indices (0-based) of the hidden layers a distribution panel draws: all up to
    ``SHOWN_LAYERS``, else the first two, the middle one and the last two."""
    if n <= SHOWN_LAYERS:
        return list(range(n))
    return sorted({0, 1, (n - 1) // 2, n - 2, n - 1})


def activation_distributions(
    pc: PlotConfig,
    metrics: Metrics,
    arch: str,
    batch: int,
    trained: Mapping[str, bool] | None = None,
) -> Figure:
    """One small panel per model: hidden layers' output histograms as lines (counts on a
    log axis, so the tails show next to a spike at 0; an empty bin drops to the floor), and
    the share of exact zeros over all layers in the panel title. With more than
    ``SHOWN_LAYERS`` layers only the first two, the middle and the last two are drawn, each
    in a distinct colour. A model that did not train (``trained[name]`` false; without it,
    ``stats.trained_threshold`` of its number of classes) says so in its title."""
    names = list(metrics)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = figure(pc, rows, cols, pc.width / cols * 0.75, extra=0.4)
    counts = []
    for ax, name in zip(axes.flat, names, strict=False):
        layers = metrics[name].distributions["activations_trained"]
        shown = shown_layers(len(layers))
        counts.append(len(layers))
        for index, colour in zip(shown, LAYER_PALETTE, strict=False):
            layer = layers[index]
            hist = layer["hist"]
            ax.stairs(
                np.maximum(hist["counts"], 0.5),  # log scale: an empty bin sits at the floor
                np.asarray(hist["edges"]),
                color=colour,
                label=f"layer {layer['layer']}",
            )
        zeros = np.mean([layer["summary"]["fraction_zero"] for layer in layers])
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.7)
        acc = metrics[name].evaluate["test_acc"]
        ok = trained[name] if trained and name in trained else _trained(metrics[name])
        title = f"{name}: {100 * zeros:.0f}% exact zeros"
        if not ok:
            title += f"\ndid not train (test acc {100 * acc:.1f} %)"
        ax.set_title(title, fontsize="small", color="black" if ok else "firebrick")
        ax.set_xlabel("activation output", fontsize="x-small")
        ax.tick_params(labelsize="x-small")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("count per bin (log scale)", fontsize="x-small")
    handles, labels = axes.flat[0].get_legend_handles_labels()  # outside: no data covered
    most = max(counts, default=0)
    if most > SHOWN_LAYERS:
        labels = [f"{label} of {most}" for label in labels]
    legend_below(fig, handles, labels, columns=10)
    which = (
        f"\nof the {most} hidden layers, the first two, the middle and the last two"
        if most > SHOWN_LAYERS
        else ""
    )
    fig.suptitle(
        f"Activation outputs per hidden layer after training ({arch}, {seeds_of(metrics)}), "
        f"{batch} training images{which}"
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
    # a row of heatmaps: its title, ticks and label need ~1 in whatever the number of rows it
    # shows; the three-line suptitle its own 0.6 in (else one activation collapses the axes)
    height = max(1.8, 0.5 + 0.26 * len(activations))
    fig, axes = figure(pc, len(architectures), len(HEATMAP_PANELS), height, extra=0.6)
    for row, arch in zip(axes, architectures, strict=True):
        grids = {}
        for ax, (when, what, title) in zip(row, HEATMAP_PANELS, strict=True):
            grid = []
            for activation in activations:
                of_config = [
                    m.dead[when][what]["percent_per_layer"]
                    for m in metrics.values()
                    if m.record.spec.activation == activation and m.record.spec.architecture == arch
                ]
                grid.append(np.mean(of_config, axis=0))
            values = grids[what, when] = np.asarray(grid)
            image = ax.imshow(values, cmap="Reds", vmin=0, vmax=100, aspect="auto")
            same = grids.get(("nearly_dead", "trained")) if what == "saturated" else None
            for i, line in enumerate(values):
                if not line.any():  # a row of zeros says so once, not with a dot per cell
                    note = "0 in every layer"
                elif same is not None and np.allclose(line, same[i]):
                    note = "= nearly dead (f' = 0 where f = 0)"
                else:
                    note = None
                if note:
                    ax.text(
                        (len(line) - 1) / 2,
                        i,
                        note,
                        ha="center",
                        va="center",
                        fontsize="xx-small",
                        color="dimgrey",
                        bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.5},
                        gid="row-note",
                    )
                    continue
                for j, v in enumerate(line):
                    ax.text(
                        j,
                        i,
                        f"{v:.0f}" if v >= 0.5 else ("0" if v == 0 else "<1"),
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
    bar = fig.colorbar(image, ax=axes, shrink=0.8, aspect=30)
    bar.ax.set_gid("shading")
    bar.set_label("% of the layer's neurons (shading)", fontsize="x-small")
    bar.ax.tick_params(labelsize="x-small")
    fig.suptitle(
        "Neurons per hidden layer in % of the layer, mean over seeds, on the whole training "
        "split\ndead: output 0 on every image; nearly dead: output 0 on "
        f"≥ {fraction:.0%} of them; saturated: |f'| < eps·max|f'| on ≥ fraction of the images "
        f"(eps = {eps:g}, fraction = {fraction:.0%})\n"
        "where f' = 0 exactly where f = 0 (ReLU), saturated is nearly dead by definition: "
        "those rows say so instead of repeating the numbers",
        fontsize="small",
    )
    return fig


def _distinct_layer_colours(n: int) -> list:
    """One colour a layer that tells the layers apart (tab10) up to 10 layers; beyond, the
    depth gradient."""
    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    return _layer_colours(n)


def dead_dynamics(pc: PlotConfig, metrics: Metrics, subset: int) -> Figure:
    """Dead neurons per hidden layer per epoch, for the models that have any (only
    activations with an exactly-zero output, the ReLU family, can), counted on the
    ``train.dynamics_subset`` probe images (not the whole split the tables use), with the
    epoch of the kept checkpoint (``best_epoch``) as a dotted vertical line."""
    names = [n for n, m in metrics.items() if m.dynamics["dead_total"].to_numpy().any()]
    cols = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = figure(pc, rows, cols, pc.width / cols * 0.6, extra=0.6)
    most = 0
    for ax, name in zip(axes.flat, names, strict=False):
        dyn = metrics[name].dynamics
        columns = [c for c in dyn.columns if c.startswith("dead_layer")]
        most = max(most, len(columns))
        for column, colour in zip(columns, _distinct_layer_colours(len(columns)), strict=True):
            label = "layer " + column.removeprefix("dead_layer")
            ax.plot(dyn["epoch"], dyn[column], color=colour, lw=1.1, label=label)
        ax.plot(dyn["epoch"], dyn["dead_total"], "k--", lw=1, label="all layers")
        best = metrics[name].train.get("best_epoch")
        if best is not None:
            ax.axvline(best, color="dimgrey", ls=":", lw=1.2, gid="best-epoch")
        ax.set_title(f"{name} ({len(columns)} hidden layers)", fontsize="small")
        ax.set(xlabel="epoch (0 = init)", ylabel="dead neurons (count)")
        integer_ticks(ax)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if names:
        from matplotlib.lines import Line2D

        widest = max(axes.flat[: len(names)], key=lambda a: len(a.get_lines()))
        handles, labels = widest.get_legend_handles_labels()
        handles.append(Line2D([], [], color="dimgrey", ls=":", lw=1.2))
        labels.append("kept checkpoint (best epoch)")
        legend_below(fig, handles, labels)
    else:
        axes[0, 0].text(0.5, 0.5, "no model has a dead neuron at any epoch", ha="center")
    others = [n for n in metrics if n not in names]
    note = f"\nnone at any epoch: {', '.join(others)}" if 0 < len(others) <= 8 else ""
    fig.suptitle(
        f"Dead neurons per layer and epoch ({seeds_of(metrics)}): output 0 on all {subset} "
        "probe images (train.dynamics_subset),\nnot the whole training split the tables and "
        "the per-layer heatmap use, so the counts differ from theirs; dotted: the epoch of the "
        "kept checkpoint" + note,
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
            edges = np.asarray(hist["edges"][key], dtype=float)
            for edge, side, va in ((edges[0], "≤", "bottom"), (edges[-1], "≥", "top")):
                ax.text(  # values beyond the bins are counted in the outermost ones
                    0.99,
                    edge,
                    f"edge bin: {side} {edge:.3g}",
                    transform=ax.get_yaxis_transform(),
                    ha="right",
                    va=va,
                    fontsize="xx-small",
                    bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
                    gid="edge-bin",
                )
            ax.set_title(f"{layer} layer: {label}", fontsize="small")
            ax.set_xlabel("epoch", fontsize="x-small")
            ax.set_ylabel(label, fontsize="x-small")
            ax.tick_params(labelsize="x-small")
            integer_ticks(ax)
            fig.colorbar(mesh, ax=ax).set_label("log10(count + 1)", fontsize="x-small")
    fig.suptitle(
        f"{name}: weights and weight gradients of the first and last layer, per epoch\n"
        "bins fixed at initialisation; values beyond them are counted in the outermost bin\n"
        "(≤ lowest edge, ≥ highest); the lowest gradient bin holds exact zeros too"
    )
    return fig
