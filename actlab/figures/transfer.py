"""Does the answer transfer? One panel per dataset, the same activations in the same rows:
each one's paired difference from the baseline with its family-adjusted interval, coloured by
its verdict on that dataset. Small multiples, each on its own x-scale (a point on FashionMNIST
is not a point on MNIST-1D); the title of each panel says its baseline's accuracy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from actlab.analysis.compare import Comparison
from actlab.config import PlotConfig
from actlab.figures.charts import figure
from actlab.figures.forest import ROW_INCHES, verdict_colour


def agreement_figure(
    pc: PlotConfig,
    comparisons: Mapping[str, Mapping[str, Comparison]],
    order: Sequence[str],
    baseline_acc: Mapping[str, float],
    margin: float,
    title: str,
) -> Figure:
    """``comparisons``: dataset -> activation -> its comparison; ``order``: the rows, top
    first; untested activations get their verdict as text at the panel's zero line."""
    names = list(comparisons)
    fig, axes = figure(pc, 1, len(names), ROW_INCHES * len(order) + 1.2, extra=0.8)
    for ax, name in zip(axes[0], names, strict=True):
        ax.axvspan(-margin, margin, color="tab:blue", alpha=0.08, lw=0)
        ax.axvline(0, color="black", lw=0.8)
        for row, activation in enumerate(order):
            c = comparisons[name].get(activation)
            if c is None:
                ax.text(0, row, " not run", va="center", fontsize="small", color="dimgrey")
                continue
            if c.mean_difference is None:
                text = "baseline" if c.verdict == "baseline" else c.verdict
                ax.text(0, row, f" {text}", va="center", fontsize="small", color="dimgrey")
                continue
            colour = verdict_colour(c.verdict)
            ax.plot([c.ci_low, c.ci_high], [row, row], color=colour, lw=2, solid_capstyle="butt")
            ax.plot(c.mean_difference, row, "o", color=colour, ms=5)
        ax.set_yticks(range(len(order)), order if ax is axes[0][0] else [""] * len(order))
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set_title(f"{name}\n(baseline {baseline_acc[name]:.2f} %)", fontsize="medium")
        ax.set_xlabel("test accuracy minus the baseline's (points)")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    return fig
