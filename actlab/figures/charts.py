"""The model-level comparison figures as pure functions: data in, a matplotlib figure out,
and the styling every figure shares (``actlab.figures.layers`` has the per-layer ones).

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

from actlab.analysis.tables import ModelMetrics
from actlab.config import PlotConfig, configuration_name
from actlab.model.activations import make_activation

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


def log_y(ax) -> None:
    """A log y axis where the plotted lines have a finite positive value to show; otherwise
    (e.g. only a model whose loss diverged in its first epoch, all NaN) a linear one."""
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
    if any((np.isfinite(y) & (y > 0)).any() for y in ys):
        ax.set_yscale("log")


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


def _mean_band(histories: Sequence[pd.DataFrame], column: str) -> pd.DataFrame:
    """Per epoch, mean, min and max of ``column`` over the seeds that trained that long."""
    stacked = pd.concat([h[["epoch", column]] for h in histories])
    return stacked.groupby("epoch")[column].agg(["mean", "min", "max", "count"]).reset_index()


def curves(
    pc: PlotConfig, metrics: Metrics, activations: Sequence[str], architectures: Sequence[str]
) -> Figure:
    """Per configuration: the mean over its seeds per epoch, and a band from the lowest to the
    highest seed (where at least two seeds trained that long)."""
    colours = activation_colours(activations)
    styles = {a: LINESTYLES[i % len(LINESTYLES)] for i, a in enumerate(architectures)}
    configurations: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for m in metrics.values():
        spec = m.record.spec
        configurations.setdefault((spec.activation, spec.architecture), []).append(m.history)
    fig, axes = figure(pc, 2, 2, pc.width * 0.32)
    panels = [
        ("train_loss", "train loss"),
        ("val_loss", "validation loss"),
        ("train_acc", "train accuracy"),
        ("val_acc", "validation accuracy"),
    ]
    for ax, (column, title) in zip(axes.flat, panels, strict=True):
        accuracy = column.endswith("acc")
        scale = 100 if accuracy else 1
        for (activation, arch), histories in configurations.items():
            band = _mean_band(histories, column)
            colour = colours[activation]
            ax.plot(
                band["epoch"],
                band["mean"] * scale,
                label=configuration_name(activation, arch),
                color=colour,
                linestyle=styles[arch],
            )
            several = band["count"] > 1
            ax.fill_between(
                band["epoch"][several],
                band["min"][several] * scale,
                band["max"][several] * scale,
                color=colour,
                alpha=0.2,
                linewidth=0,
            )
        ax.set(
            title=title,
            xlabel="epoch",
            ylabel="accuracy (%)" if accuracy else "cross-entropy (nats)",
        )
        integer_ticks(ax)
        if not accuracy:
            log_y(ax)
    axes[0, 1].legend(fontsize="x-small", ncol=2)
    seeds = max(len(h) for h in configurations.values())
    spread = f"mean of {seeds} seeds, band: min to max" if seeds > 1 else "one seed"
    fig.suptitle(f"Training curves ({spread}): colour = activation, line style = architecture")
    return fig


def test_accuracy(pc: PlotConfig, configurations: pd.DataFrame, models: pd.DataFrame) -> Figure:
    """Per configuration: mean test accuracy, its 95 % t interval (error bar), every seed as a
    dot, and the published single-seed value where there is one."""
    colours = activation_colours(list(dict.fromkeys(configurations["activation"])))
    fig, axes = figure(pc, 1, 1, pc.width * 0.4)
    ax = axes[0, 0]
    x = np.arange(len(configurations))
    means = configurations["test_acc_mean"].to_numpy(dtype=float)
    low = configurations["test_acc_ci_low"].to_numpy(dtype=float)
    high = configurations["test_acc_ci_high"].to_numpy(dtype=float)
    has_ci = ~np.isnan(low)
    ax.bar(x, means, color=[colours[a] for a in configurations["activation"]], alpha=0.8)
    if has_ci.any():
        ax.errorbar(
            x[has_ci],
            means[has_ci],
            yerr=[means[has_ci] - low[has_ci], high[has_ci] - means[has_ci]],
            fmt="none",
            ecolor="black",
            capsize=4,
            label="95 % CI of the mean",
        )
    for xi, name in zip(x, configurations["configuration"], strict=True):
        seeds = models.loc[models["activation"] + "-" + models["architecture"] == name, "test_acc"]
        ax.scatter(
            np.full(len(seeds), xi),
            seeds,
            s=12,
            color="black",
            zorder=3,
            label="one seed" if xi == 0 else None,
            gid="seeds",
        )
    reference = configurations["reference_test_acc"].to_numpy(dtype=float)
    has_ref = ~np.isnan(reference)
    if has_ref.any():
        ax.scatter(
            x[has_ref],
            reference[has_ref],
            marker="_",
            s=400,
            color="red",
            zorder=4,
            label="published, one seed (UvA tutorial 3)",
        )
    for xi, acc in zip(x, means, strict=True):  # inside the bar, clear of the markers
        ax.text(
            xi,
            acc / 2,
            f"{acc:.1f}",
            ha="center",
            va="center",
            fontsize="x-small",
            color="white",
            rotation=90,
        )
    ax.set_xticks(x, configurations["configuration"], rotation=45, ha="right")
    n = int(configurations["seeds"].max())
    spread = f"mean of {n} seeds" if n > 1 else "one seed: no confidence interval"
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105), title=f"Test accuracy ({spread})")
    ax.legend(loc="upper left", fontsize="small")
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
