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

from actlab.config import PlotConfig
from actlab.model.activations import make_activation
from actlab.records import ModelMetrics

Metrics = Mapping[str, ModelMetrics]


def activation_colours(activations: Sequence[str]) -> dict[str, tuple]:
    """tab10's colours for the first ten (tab20's dark shades), then tab20's light shades of
    them: up to twenty activations, each its own colour."""
    tab20 = plt.get_cmap("tab20")
    return {a: tab20((2 * i) % 20 + (i // 10) % 2) for i, a in enumerate(activations)}


def activation_linestyles(activations: Sequence[str]) -> dict[str, str]:
    """Solid lines for the first ten activations, dashed for the light shades after them."""
    return {a: "-" if i < 10 else "--" for i, a in enumerate(activations)}


def seed_dots(ax, x, y: float, *, size: float, zorder: int, label: str | None = None) -> None:
    """One hollow dot per seed at ``x``, on the row ``y`` (gid ``seeds``: tests find them)."""
    x = np.asarray(x, dtype=float)
    ax.scatter(
        x,
        np.full(len(x), y),
        s=size,
        facecolor="white",
        edgecolor="black",
        lw=0.8,
        zorder=zorder,
        label=label,
        gid="seeds",
    )


def legend_below(fig, handles, labels, columns: int = 7) -> None:
    """One legend for the whole figure, below its panels, where it covers no data."""
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=min(columns, len(labels)),
        fontsize="x-small",
    )


def figure(pc: PlotConfig, rows: int, cols: int, height: float, extra: float = 0.0):
    """A full-width grid of panels, ``height`` inches a row plus ``extra`` (titles, legend)."""
    return plt.subplots(
        rows,
        cols,
        figsize=(pc.width, height * rows + extra),
        squeeze=False,
        constrained_layout=True,
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
    """Each activation (with its options) and its derivative on [-7, 7] (ReLU6 reaches its 6)."""
    names = list(options)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = figure(pc, rows, cols, pc.width / cols * 0.8)
    z = torch.linspace(-7, 7, 1401, requires_grad=True)
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
    fig.suptitle("Activation functions and their derivatives on [-7, 7]")
    return fig


def samples(
    pc: PlotConfig, rows: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], dataset: str
) -> Figure:
    """The first 32 examples with their class names: images as images, feature rows (MNIST-1D's
    sequences, the user's features) as a line over the feature index."""
    fig, axes = figure(pc, 4, 8, pc.width / 8 * 1.2)
    images = rows.dim() == 3
    for ax, row, label in zip(axes.flat, rows[:32], labels[:32], strict=False):
        if images:
            ax.imshow(row, cmap="gray_r")
            ax.axis("off")
        else:
            ax.plot(row.float().numpy(), lw=1)
            ax.set(xticks=[], yticks=[])
        ax.set_title(classes[int(label)], fontsize="small")
    what = "images" if images else "examples (each a line over its features)"
    fig.suptitle(f"{dataset}: the first 32 training {what} of the split, with labels", wrap=True)
    return fig


CURVE_METRICS = (("val_acc", "validation accuracy (%)"), ("train_loss", "train loss (nats, log)"))
SEED_KEYS = 10  # a key entry per seed up to this many (tab10's colours), one for all beyond
STOP_MARKERS = {  # how a seed's training stopped -> the marker on its last epoch
    "patience": ("o", "stopped: patience ran out"),
    "max_epochs": ("s", "stopped: max_epochs reached"),
    "diverged": ("X", "stopped: diverged (loss not finite)"),
}


def stopped(m: ModelMetrics, max_epochs: int | None = None) -> str:
    """Why a model's training stopped: ``train.stopped`` where train wrote it; else
    ``diverged`` where it diverged, ``max_epochs`` where it trained that long, ``patience``."""
    train = m.train
    if train.get("stopped") in STOP_MARKERS:
        return train["stopped"]
    if train.get("diverged_at_epoch") is not None:
        return "diverged"
    epochs = train.get("epochs_trained", len(m.history))
    if max_epochs is not None and epochs >= max_epochs:
        return "max_epochs"
    return "patience"


def curves(
    pc: PlotConfig,
    metrics: Metrics,
    activations: Sequence[str],
    architectures: Sequence[str],
    *,
    max_epochs: int | None = None,
) -> Figure:
    """Small multiples, one row per activation and, per architecture, a column of validation
    accuracy and one of training loss: a thin line per seed (its colour the seed's, the same
    in every panel), a marker on the epoch it stopped saying why (patience, max_epochs or
    divergence), and one y range per metric across all panels so the rows compare."""
    seeds = sorted({m.record.spec.seed for m in metrics.values()})
    seed_colours = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(seeds)}
    rows, cols = len(activations), len(architectures) * len(CURVE_METRICS)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(pc.width, 0.9 + 1.25 * rows),
        squeeze=False,
        sharex=True,
        layout="constrained",
    )
    by_config: dict[tuple[str, str], list[ModelMetrics]] = {}
    for m in metrics.values():
        spec = m.record.spec
        by_config.setdefault((spec.activation, spec.architecture), []).append(m)
    for j in range(cols):  # one y range per metric: every panel of a metric shares it
        first = axes[0, j % len(CURVE_METRICS)]
        for ax in axes[:, j]:
            if ax is not first:
                ax.sharey(first)
    for i, activation in enumerate(activations):
        for a, arch in enumerate(architectures):
            for k, (column, label) in enumerate(CURVE_METRICS):
                ax = axes[i, a * len(CURVE_METRICS) + k]
                runs = sorted(
                    by_config.get((activation, arch), []), key=lambda m: m.record.spec.seed
                )
                scale = 100 if column.endswith("acc") else 1
                for m in runs:
                    h, colour = m.history, seed_colours[m.record.spec.seed]
                    ax.plot(h["epoch"], h[column] * scale, color=colour, lw=0.9, gid="seed")
                    marker = STOP_MARKERS[stopped(m, max_epochs)][0]
                    last = h[["epoch", column]].dropna().tail(1)
                    at = (last["epoch"], last[column] * scale) if len(last) else None
                    if at is None:  # nothing finite: mark the last epoch on the axis floor
                        at = (h["epoch"].tail(1), [np.nan])
                    ax.plot(
                        *at,
                        marker=marker,
                        ls="",
                        ms=5,
                        mfc=colour,
                        mec="black",
                        mew=0.6,
                        gid="stop",
                    )
                if not runs:
                    ax.text(
                        0.5,
                        0.5,
                        "no run",
                        ha="center",
                        va="center",
                        transform=ax.transAxes,
                        color="grey",
                    )
                if column.endswith("loss"):
                    log_y(ax)
                ax.tick_params(labelsize="x-small")
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(f"{arch}: {label}", fontsize="small")
                if i == rows - 1:
                    ax.set_xlabel("epoch", fontsize="x-small")
                    integer_ticks(ax)
            axes[i, 0].set_ylabel(activation, fontsize="small")
    from matplotlib.lines import Line2D

    if len(seeds) <= SEED_KEYS:
        keys = [Line2D([], [], color=c, lw=1.2, label=f"seed {s}") for s, c in seed_colours.items()]
    else:  # the colours repeat past ten seeds: one key for all, not a row cut off at the edge
        keys = [Line2D([], [], color="0.4", lw=1.2, label=f"one line per seed ({len(seeds)})")]
    # A way of stopping no seed took (diverged, mostly) has no key: it would promise a marker
    # that is on no panel.
    happened = {stopped(m, max_epochs) for m in metrics.values()}
    keys += [
        Line2D([], [], marker=mk, ls="", mfc="white", mec="black", label=text)
        for why, (mk, text) in STOP_MARKERS.items()
        if why in happened
    ]
    fig.legend(handles=keys, loc="outside lower center", ncol=len(keys), fontsize="small")
    fig.suptitle(
        "Training curves per configuration, one line per seed; rows: activation; "
        "y axes shared per metric"
    )
    return fig


def configuration_curves(
    pc: PlotConfig, name: str, runs: Sequence[ModelMetrics], baseline: Sequence[ModelMetrics]
) -> Figure:
    """One configuration's validation accuracy per epoch, a line per seed, beside its
    baseline's seeds (grey, dashed): the figure its MLflow run carries."""
    fig, ax = plt.subplots(figsize=(min(pc.width, 6.0), 3.2), layout="constrained")
    for group, style in ((baseline, {"color": "0.6", "ls": "--"}), (runs, {})):
        for m in sorted(group, key=lambda m: m.record.spec.seed):
            h = m.history
            ax.plot(
                h["epoch"], h["val_acc"] * 100, lw=1, label=m.record.spec.name, gid="seed", **style
            )
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title=name)
    integer_ticks(ax)
    ax.legend(fontsize="x-small", ncol=2)
    return fig


def _zoomed(values: Sequence[float], pad: float = 0.06) -> tuple[float, float] | None:
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return None
    low, high = min(finite), max(finite)
    room = pad * (high - low or 1.0)
    return low - room, high + room


def test_accuracy(pc: PlotConfig, configurations: pd.DataFrame, models: pd.DataFrame) -> Figure:
    """Per architecture a panel, one row per activation: every seed's test accuracy (hollow
    dot), each seed's dots joined from row to row (the comparisons are paired by seed: a line
    that keeps its slope across seeds is a difference, not its width), the mean (filled dot),
    the 95 % prediction interval for one more seed (grey band, where it is defined) and the
    published single-run value (white diamond) where there is one. No interval of a mean is
    drawn: unpaired, it would show a difference the paired verdict (comparison.png) rejects,
    or hide one it finds. The x axis is zoomed to the seeds and means of the configurations
    whose seeds all trained: a prediction interval reaching further is cut at the axis edge,
    and a published value beyond it is an arrow at the edge with its number. A configuration
    with seeds at chance is written in its row, not drawn, so it cannot stretch the axis."""
    activations = list(dict.fromkeys(configurations["activation"]))
    architectures = list(dict.fromkeys(configurations["architecture"]))
    colours = activation_colours(activations)
    height = 0.9 + 0.3 * len(activations)
    fig, axes = plt.subplots(
        1,
        len(architectures),
        figsize=(pc.width, height + 0.8),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    trained = models["trained"].astype(bool)
    beyond_any = False
    for ax, arch in zip(axes[0], architectures, strict=True):
        of_arch = configurations[configurations["architecture"] == arch].set_index("activation")
        values: list[float] = []
        published: list[tuple[int, float]] = []
        paths: dict[int, list[tuple[float, float]]] = {}  # seed -> its (accuracy, row) points
        for y, activation in enumerate(activations):
            if activation not in of_arch.index:
                continue
            row = of_arch.loc[activation]
            mine = (models["activation"] == activation) & (models["architecture"] == arch)
            seeds = models.loc[mine].sort_values("seed")
            if not trained[mine].all():
                accs = ", ".join(f"{a:.1f}" for a in seeds["test_acc"])
                chance = int((~trained[mine]).sum())
                ax.text(
                    0.01,
                    y,
                    f"{chance}/{len(seeds)} seeds at chance (test acc {accs})",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize="small",
                    color="dimgrey",
                    gid="at-chance",
                )
                continue
            _accuracy_row(ax, y, row, seeds["test_acc"], colours[activation])
            values += [*seeds["test_acc"], row.get("test_acc_mean", np.nan)]
            for seed, acc in zip(seeds["seed"], seeds["test_acc"], strict=True):
                paths.setdefault(int(seed), []).append((float(acc), y - 0.22))
            reference = float(row.get("reference_test_acc", np.nan))
            if np.isfinite(reference):
                published.append((y, reference))
        for points in paths.values():  # each seed across the activations: paired
            if len(points) > 1:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, color="grey", lw=0.6, alpha=0.6, zorder=0, gid="seed-path")
        limits = _zoomed([float(v) for v in values])
        if limits:
            ax.set_xlim(limits)
        beyond_any |= _published(ax, published, limits)
        ax.set_ylim(len(activations) - 0.5, -0.5)
        ax.set_yticks(range(len(activations)), activations)
        ax.grid(axis="x", alpha=0.3)
        ax.set(title=arch, xlabel="test accuracy (%)")
    n = int(configurations["seeds"].max())
    spread = f"{n} seeds per configuration" if n > 1 else "one seed: no confidence interval"
    fig.suptitle(
        f"Test accuracy ({spread}), each seed joined across activations (paired: the verdicts "
        "are comparison.png's); x axis zoomed to the seeds and means of the configurations "
        "that trained",
        wrap=True,  # to the figure's width
    )
    legend = _accuracy_legend(
        models["activation"].isin(configurations["activation"]).any()
        and configurations.get("reference_test_acc", pd.Series(dtype=float)).notna().any(),
        any(c.get_gid() == "pi" for ax in axes[0] for c in ax.get_lines()),
        beyond_any,
    )
    fig.legend(
        handles=legend,
        loc="outside lower center",
        ncol=min(3, len(legend)),
        fontsize="small",
    )
    return fig


def _published(ax, published: list[tuple[int, float]], limits) -> bool:
    """The published values of one panel: a diamond where it lies on the axis, else an arrow
    at the edge it lies beyond with its number (gid ``published-edge``). True if any is
    beyond."""
    beyond = False
    for y, reference in published:
        if limits is None or limits[0] <= reference <= limits[1]:
            ax.plot(
                [reference],
                [y + 0.22],
                "D",
                ms=6,
                mfc="white",
                mec="black",
                mew=1.2,
                zorder=5,
                label="published, one run (UvA tutorial 3)",
                gid="published",
            )
            continue
        beyond = True
        left = reference < limits[0]
        edge = 0.0 if left else 1.0
        ax.plot(
            [edge],
            [y + 0.22],
            "<" if left else ">",
            ms=6,
            mfc="white",
            mec="black",
            mew=1.0,
            zorder=5,
            clip_on=False,
            transform=ax.get_yaxis_transform(),
            gid="published-edge",
        )
        ax.text(
            0.025 if left else 0.975,
            y + 0.22,
            f"◂ published {reference:.1f}" if left else f"published {reference:.1f} ▸",
            transform=ax.get_yaxis_transform(),
            ha="left" if left else "right",
            va="center",
            fontsize="x-small",
            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
            gid="published-edge",
        )
    return beyond


def _accuracy_legend(published: bool, prediction: bool, beyond: bool = False) -> list:
    """Neutral-coloured keys: the colours of the rows are the activations'."""
    from matplotlib.lines import Line2D

    keys = [
        Line2D([], [], marker="o", ls="", mfc="white", mec="black", ms=4, label="one seed"),
        Line2D([], [], marker="o", ls="", color="grey", mec="black", ms=7, label="mean over seeds"),
        Line2D([], [], color="grey", lw=0.6, label="one seed across activations"),
    ]
    if prediction:
        keys.append(
            Line2D(
                [],
                [],
                color="silver",
                lw=6,
                label="95 % prediction interval for one more seed (cut at the axis edge)",
            )
        )
    if published:
        keys.append(
            Line2D(
                [],
                [],
                marker="D",
                ls="",
                mfc="white",
                mec="black",
                mew=1.2,
                label="published, one run (UvA tutorial 3); no diamond: none published",
            )
        )
    if published and beyond:
        keys.append(
            Line2D(
                [],
                [],
                marker="<",
                ls="",
                mfc="white",
                mec="black",
                label="published value beyond the axis (its number written)",
            )
        )
    return keys


def _accuracy_row(ax, y: int, row: pd.Series, seeds: pd.Series, colour) -> None:
    pi = [float(row.get(c, np.nan)) for c in ("pi_low", "pi_high")]
    if np.isfinite(pi).all():
        ax.plot(
            pi,
            [y, y],
            color="silver",
            lw=6,
            solid_capstyle="butt",
            zorder=1,
            label="95 % prediction interval, one more seed",
            gid="pi",
        )
    ax.plot(
        [row["test_acc_mean"]],
        [y],
        "o",
        color=colour,
        ms=7,
        mec="black",
        mew=0.6,
        zorder=3,
        label="mean over seeds",
        gid="mean",
    )
    seed_dots(ax, seeds, y - 0.22, size=14, zorder=4, label="one seed")


def confusion(pc: PlotConfig, name: str, m: ModelMetrics, classes: Sequence[str]) -> Figure:
    """The confusion matrix of one model (the one with the best validation accuracy: the
    test set plays no part in choosing it). Colour: the share of the true class's test
    images predicted as each wrong class (row-normalised, the diagonal left out of the
    colour range so the errors show); the diagonal is neutral grey. Every cell has its
    count written."""
    from matplotlib.colors import ListedColormap

    side = min(pc.width, 8.0)
    fig, ax = plt.subplots(figsize=(side, side * 0.85), layout="constrained")
    cm = np.asarray(m.evaluate["confusion_matrix"])
    rows = cm.sum(axis=1, keepdims=True)
    rate = 100 * cm / np.where(rows > 0, rows, 1)
    diagonal = np.eye(len(cm), dtype=bool)
    errors = np.ma.masked_array(rate, mask=diagonal)
    top = max(float(errors.max()) if errors.count() else 0.0, 1e-9)
    image = ax.imshow(errors, cmap="Reds", vmin=0, vmax=top, gid="errors")
    ax.imshow(
        np.ma.masked_array(np.zeros_like(rate), mask=~diagonal),
        cmap=ListedColormap(["0.85"]),
        gid="diagonal",
    )
    for (i, j), count in np.ndenumerate(cm):
        dark = not diagonal[i, j] and rate[i, j] > top * 0.6
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            fontsize="x-small",
            color="white" if dark else "black",
            gid="count",
        )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"Confusion matrix of the model with the best validation accuracy,\n{name}, "
        f"seed {m.record.spec.seed}, test accuracy {100 * m.evaluate['test_acc']:.2f} %",
    )
    ax.title.set_fontsize("medium")
    fig.colorbar(image, ax=ax, shrink=0.8).set_label(
        "% of the true class's test images (wrong classes only;\n"
        "diagonal: grey, correct, its count written)",
        fontsize="small",
    )
    return fig
