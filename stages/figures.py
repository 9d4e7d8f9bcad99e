"""The model-level comparison figures as pure functions: data in, a matplotlib figure out,
and the styling every figure shares (``stages.layer_figures`` has the per-layer ones).

Nothing here reads or writes files or talks to MLflow; the ``plot`` stage does that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, never a window: before pyplot is imported

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from stages.activations import make_activation
from stages.config import PlotConfig
from stages.summary import ModelMetrics

Metrics = Mapping[str, ModelMetrics]
LINESTYLES = ["-", "--", ":", "-."]


def activation_colours(activations: Sequence[str]) -> dict[str, tuple]:
    return {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(activations)}


def figure(pc: PlotConfig, rows: int, cols: int, height: float):
    return plt.subplots(
        rows, cols, figsize=(pc.width, height * rows), squeeze=False, constrained_layout=True
    )


def integer_ticks(ax) -> None:
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def activations(pc: PlotConfig, options: Mapping[str, Mapping]) -> Figure:
    """Each activation (with its options) and its derivative on [-5, 5]."""
    names = list(options)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = figure(pc, rows, cols, pc.width / cols * 0.8)
    z = torch.linspace(-5, 5, 1001, requires_grad=True)
    for ax, name in zip(axes.flat, names, strict=False):
        y = make_activation(name, dict(options[name]))(z)
        (dy,) = torch.autograd.grad(y.sum(), z)
        ax.plot(z.detach(), y.detach(), label="f(x)")
        ax.plot(z.detach(), dy, label="f'(x)", linestyle="--")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set(title=name, xlabel="x (pre-activation)", ylabel="value")
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle("Activation functions and their derivatives on [-5, 5]")
    return fig


def samples(
    pc: PlotConfig, images: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], dataset: str
) -> Figure:
    """The first 32 images with their class names."""
    fig, axes = figure(pc, 4, 8, pc.width / 8 * 1.2)
    for ax, image, label in zip(axes.flat, images[:32], labels[:32], strict=False):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(classes[int(label)], fontsize="small")
        ax.axis("off")
    fig.suptitle(f"{dataset}: the first 32 training images of the split, with labels")
    return fig


def curves(
    pc: PlotConfig, metrics: Metrics, activations: Sequence[str], architectures: Sequence[str]
) -> Figure:
    colours = activation_colours(activations)
    styles = {a: LINESTYLES[i % len(LINESTYLES)] for i, a in enumerate(architectures)}
    fig, axes = figure(pc, 2, 2, pc.width * 0.32)
    panels = [
        ("train_loss", "train loss"),
        ("val_loss", "validation loss"),
        ("train_acc", "train accuracy"),
        ("val_acc", "validation accuracy"),
    ]
    for ax, (column, title) in zip(axes.flat, panels, strict=True):
        accuracy = column.endswith("acc")
        for name, m in metrics.items():
            spec, h = m.record.spec, m.history
            ax.plot(
                h["epoch"],
                h[column] * (100 if accuracy else 1),
                label=name,
                color=colours[spec.activation],
                linestyle=styles[spec.architecture],
            )
        ax.set(
            title=title,
            xlabel="epoch",
            ylabel="accuracy (%)" if accuracy else "cross-entropy (nats)",
        )
        integer_ticks(ax)
        if not accuracy:
            ax.set_yscale("log")
    axes[0, 1].legend(fontsize="x-small", ncol=2)
    fig.suptitle("Training curves: colour = activation, line style = architecture")
    return fig


def test_accuracy(pc: PlotConfig, table: pd.DataFrame, activations: Sequence[str]) -> Figure:
    """Mean test accuracy over seeds per activation x architecture; error bars: one std."""
    colours = activation_colours(activations)
    groups = (
        table.groupby(["activation", "architecture"], sort=False)
        .agg(
            mean=("test_acc", "mean"),
            std=("test_acc", "std"),
            seeds=("seed", "count"),
            reference=("reference_test_acc", "first"),
        )
        .reset_index()
    )
    fig, axes = figure(pc, 1, 1, pc.width * 0.4)
    ax = axes[0, 0]
    x = np.arange(len(groups))
    several = groups["seeds"] > 1
    errors = groups["std"].where(several, 0).fillna(0) if several.any() else None
    ax.bar(
        x, groups["mean"], color=[colours[a] for a in groups["activation"]], yerr=errors, capsize=4
    )
    has_ref = groups["reference"].notna().to_numpy()
    ax.scatter(
        x[has_ref],
        groups["reference"][has_ref],
        marker="_",
        s=400,
        color="black",
        zorder=3,
        label="published (UvA tutorial 3)",
    )
    for xi, acc in zip(x, groups["mean"], strict=True):  # inside the bar, clear of the marker
        ax.text(xi, acc - 2, f"{acc:.1f}", ha="center", va="top", fontsize="x-small", color="white")
    ax.set_xticks(x, groups["activation"] + "-" + groups["architecture"], rotation=45, ha="right")
    seeds = sorted(set(table["seed"]))
    spread = (
        f"mean of {len(seeds)} seeds, error bars: one std"
        if len(seeds) > 1
        else f"one seed ({seeds[0]}): no error bars"
    )
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105), title=f"Test accuracy per model ({spread})")
    ax.legend(loc="upper left")
    return fig


def confusion(pc: PlotConfig, name: str, m: ModelMetrics, classes: Sequence[str]) -> Figure:
    fig, axes = figure(pc, 1, 1, pc.width * 0.6)
    ax = axes[0, 0]
    cm = np.asarray(m.evaluate["confusion_matrix"])
    image = ax.imshow(cm, cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            fontsize="x-small",
            color="white" if count > cm.max() / 2 else "black",
        )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"Confusion matrix of the best model, {name} "
        f"(test accuracy {100 * m.evaluate['test_acc']:.2f}%)",
    )
    fig.colorbar(image, ax=ax, label="test images")
    return fig
