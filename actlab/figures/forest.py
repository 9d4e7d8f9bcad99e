"""The headline figure: each activation's test accuracy as a paired difference from the
baseline, per architecture (a forest plot). Data in, a matplotlib figure out.

Only configurations whose seeds all trained (and whose baseline's did) go on the axis, which
is zoomed to them so that half-point differences show; the others are listed in a strip
below the panel with their seeds' accuracies, so a seed at chance never stretches the axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actlab.analysis import compare, tables
from actlab.config import PlotConfig
from actlab.figures.charts import seed_dots

ROW_INCHES = 0.32  # one activation's row on a panel
STRIP_LINE_INCHES = 0.2  # one line of the strip of configurations that did not all train
VERDICT_COLOURS = {"worse": "tab:red", "better": "tab:green", "equivalent": "tab:blue"}


def verdict_colour(verdict: object) -> str:
    """By what the verdict says (``compare.outcome``); grey for the undecided."""
    return VERDICT_COLOURS.get(compare.outcome(verdict), "dimgrey")


def seeds_trained(models: pd.DataFrame, activation: str, arch: str) -> pd.DataFrame:
    """The models of one configuration, by seed: test accuracy and whether it trained."""
    rows = models[(models["activation"] == activation) & (models["architecture"] == arch)]
    return rows.set_index("seed")[["test_acc", "trained"]].sort_index()


def all_trained(seeds: pd.DataFrame) -> bool:
    return len(seeds) > 0 and bool(seeds["trained"].astype(bool).all())


def seed_differences(models: pd.DataFrame, activation: str, baseline: str, arch: str) -> pd.Series:
    """Per seed both trained with: test accuracy of ``activation`` minus the baseline's."""
    own, base = (seeds_trained(models, a, arch) for a in (activation, baseline))
    both = own.index.intersection(base.index)
    ok = own.loc[both, "trained"].astype(bool) & base.loc[both, "trained"].astype(bool)
    both = both[ok.to_numpy()]
    return own.loc[both, "test_acc"] - base.loc[both, "test_acc"]


def at_chance_text(name: str, seeds: pd.DataFrame) -> str:
    """``sigmoid: 2/3 seeds at chance (test acc 10.0, 10.0, 79.3)``."""
    chance = int((~seeds["trained"].astype(bool)).sum())
    accs = ", ".join(f"{a:.1f}" for a in seeds["test_acc"])
    return f"{name}: {chance}/{len(seeds)} seeds at chance (test acc {accs})"


def row_label(row: pd.Series, early_stopping: bool) -> str:
    """The activation, and under early stopping ``· k/n at max_epochs`` where k > 0 of its n
    seeds ran to max_epochs (under a fixed budget every seed does: nothing to mark)."""
    at_max = tables.at_max_epochs(row) if early_stopping else ""
    if at_max and not at_max.startswith("0/"):
        return f"{row['activation']} · {at_max}"
    return str(row["activation"])


def family_sizes(configurations: pd.DataFrame, baseline: str, panels: list) -> dict[str, str]:
    """Per architecture, how its comparisons are adjusted and how many the adjustment counts:
    the non-baseline configurations that were tested (those whose seeds, and the baseline's,
    trained); without an ``adjustment`` column, the rows on the panel."""
    sizes = {}
    for arch, rows, _ in panels:
        of_arch = configurations[
            (configurations["architecture"] == arch) & (configurations["activation"] != baseline)
        ]
        if "adjustment" in of_arch:
            tested = of_arch[of_arch["adjustment"].fillna("") != ""]
            method = "/".join(sorted(set(tested["adjustment"]))) or "none"
            sizes[arch] = f"{method} {len(tested)}"
        else:
            sizes[arch] = str(len(rows))
    return sizes


def _limits(values: Sequence[float], margin: float) -> tuple[float, float]:
    """A range holding every value, 0 and the equivalence band, with 8 % room each side."""
    finite = [v for v in values if np.isfinite(v)] + [0.0, -margin, margin]
    low, high = min(finite), max(finite)
    pad = 0.08 * (high - low or 1.0)
    return low - pad, high + pad


def _seed_count(configurations: pd.DataFrame) -> str:
    seeds = configurations["seeds"].dropna().astype(int)
    if seeds.empty:
        return "no seeds"
    low, high = seeds.min(), seeds.max()
    return f"{high} seeds" if low == high else f"{low}-{high} seeds"


def comparison(
    pc: PlotConfig,
    configurations: pd.DataFrame,
    models: pd.DataFrame,
    *,
    baseline: str,
    margin: float,
    early_stopping: bool = False,
    level: float = 0.95,
) -> Figure:
    """Per architecture a panel: one row per activation other than the baseline, its mean
    paired difference in test accuracy from the baseline (points, same seed), the
    Bonferroni-adjusted interval as a line, one dot per seed, 0 and the +-``margin``
    equivalence band, and the verdict at the row's right. The x axis is fitted to the
    configurations whose seeds all trained; the others are listed in a strip below the panel
    with their seeds' test accuracies. Rows keep the table's order, the same in every panel.
    With ``early_stopping`` a row says how many of its seeds ran to max_epochs."""
    import matplotlib.pyplot as plt

    architectures = list(dict.fromkeys(configurations["architecture"]))
    panels = []  # per architecture: (rows on the axis, lines of the strip)
    for arch in architectures:
        of_arch = configurations[configurations["architecture"] == arch]
        base_seeds = seeds_trained(models, baseline, arch)
        base_ok = all_trained(base_seeds)
        rows, strip = [], []
        if not base_ok:
            strip.append(
                at_chance_text(f"{baseline} (the baseline)", base_seeds) + ": no paired comparison"
                if len(base_seeds)
                else f"no {baseline}-{arch}: no paired comparison"
            )
        for _, row in of_arch.iterrows():
            if row["activation"] == baseline:
                continue
            seeds = seeds_trained(models, row["activation"], arch)
            if base_ok and all_trained(seeds):
                diffs = seed_differences(models, row["activation"], baseline, arch)
                rows.append((row, diffs))
            elif not all_trained(seeds):
                strip.append(at_chance_text(row["activation"], seeds))
        panels.append((arch, rows, strip))

    # One x axis for every panel: differences compare across architectures at a glance.
    limits = _limits(
        [v for _, rows, _ in panels for row, diffs in rows for v in _shown(row, diffs)], margin
    )
    heights = []
    for _, rows, strip in panels:
        heights += [max(1, len(rows)) * ROW_INCHES + 0.9, (len(strip) + 0.6) * STRIP_LINE_INCHES]
    fig = plt.figure(figsize=(pc.width, sum(heights) + 0.9), layout="constrained")
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    for i, (arch, rows, strip) in enumerate(panels):
        ax = fig.add_subplot(grid[2 * i])
        ax.set_gid(f"forest-{arch}")
        base_row = configurations[
            (configurations["architecture"] == arch) & (configurations["activation"] == baseline)
        ]
        base_label = row_label(base_row.iloc[0], early_stopping) if len(base_row) else baseline
        _panel(ax, arch, rows, baseline, margin, limits, early_stopping)
        if base_label != baseline:
            ax.set_title(f"{ax.get_title()} ({base_label})")
        note = fig.add_subplot(grid[2 * i + 1])
        note.set_gid(f"strip-{arch}")
        note.axis("off")
        lines = strip or ["every configuration's seeds trained"]
        note.text(
            0,
            1,
            f"{arch}, not on the axis above:\n" + "\n".join(lines)
            if strip
            else f"{arch}: {lines[0]}",
            va="top",
            ha="left",
            fontsize="small",
            transform=note.transAxes,
            gid="at-chance" if strip else None,
        )
    sizes = family_sizes(configurations, baseline, panels)
    family = ", ".join(f"{arch} {n}" for arch, n in sizes.items())
    capped = any(
        row_label(r, early_stopping) != r["activation"] for _, rows, _ in panels for r, _ in rows
    )
    fig.suptitle(
        f"Test accuracy minus {baseline}'s on the same seed (points), {_seed_count(configurations)}"
        f" per configuration\nmean difference and its {level:.0%} interval on this test set "
        "(thick) and on new images like these (thin), adjusted over each architecture's "
        f"comparisons ({family});\ndot: one seed; band: equivalence margin ±{margin:g}; "
        "one x axis for every panel, fitted to the dots and means: an interval reaching beyond "
        "it ends in an arrow with its value"
        + (
            "\n· k/n at max_epochs: k of the n seeds trained until max_epochs and may still "
            "have been improving"
            if capped
            else ""
        ),
        fontsize="medium",
        wrap=True,  # to the figure's width: a long family line stays on the figure
    )
    return fig


def _shown(row: pd.Series, diffs: pd.Series) -> list[float]:
    """What fits a panel's x axis: its seeds' differences and its mean."""
    return [float(row.get("diff_mean", np.nan)), *diffs.to_numpy(dtype=float)]


def _panel(
    ax, arch: str, rows: list, baseline: str, margin: float, limits, early_stopping: bool
) -> None:
    ax.axvspan(-margin, margin, color="tab:blue", alpha=0.12, lw=0, gid="margin")
    ax.axvline(0, color="black", lw=0.8)
    if not rows:
        ax.set_yticks([])
        ax.text(
            0.5,
            0.5,
            "no configuration whose seeds all trained to compare",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set(title=f"{arch}: difference from {baseline}", xlim=limits)
        return
    ends: list[list[tuple[float, float, float, str]]] = []  # per row, its intervals
    for y, (row, diffs) in enumerate(rows):
        ends.append([])
        colour = verdict_colour(row.get("verdict"))
        mean = float(row.get("diff_mean", np.nan))
        for suffix, offset, width, gid in (
            ("", 0.0, 2.2, "interval"),
            ("_new", -0.2, 0.9, "interval-new"),
        ):
            low, high = (
                float(row.get(f"diff_ci_{end}{suffix}", np.nan)) for end in ("low", "high")
            )
            if np.isfinite(low) and np.isfinite(high):
                ax.plot(
                    [low, high],
                    [y + offset] * 2,
                    color=colour,
                    lw=width,
                    solid_capstyle="butt",
                    gid=gid,
                )
                ends[-1].append((y + offset, low, high, colour))
        if np.isfinite(mean):
            ax.plot([mean], [y], marker="|", ms=14, mew=2.5, color=colour, gid="mean")
        seed_dots(ax, diffs, y + 0.18, size=16, zorder=3)
    ax.set_xlim(limits)
    for intervals in ends:
        _interval_ends(ax, intervals, limits)
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.set_yticks(range(len(rows)), [row_label(r, early_stopping) for r, _ in rows])
    verdicts = ax.secondary_yaxis("right")
    verdicts.set_yticks(
        range(len(rows)), [tables.verdict_text(r) for r, _ in rows], fontsize="small"
    )
    for label, (row, _) in zip(verdicts.get_yticklabels(), rows, strict=True):
        label.set_color(verdict_colour(row.get("verdict")))
    verdicts.tick_params(length=0, pad=9)  # clear of an arrowhead at the right edge
    ax.grid(axis="x", alpha=0.3)
    ax.set(
        title=f"{arch}: difference from {baseline}", xlabel=f"test accuracy − {baseline} (points)"
    )


def _interval_ends(ax, intervals: list[tuple[float, float, float, str]], limits) -> None:
    """A row's interval ends beyond the axis: an arrowhead at that edge for each interval (the
    line itself is cut there) and one label above the row with their values, the first
    interval's first (gid ``interval-edge``): two labels 0.2 rows apart would overlap."""
    for side, edge, marker, ha in ((1, 0.0, "<", "left"), (2, 1.0, ">", "right")):
        beyond = [
            (i[0], i[side], i[3])
            for i in intervals
            if (i[side] < limits[0] if side == 1 else i[side] > limits[1])
        ]
        for y, _, colour in beyond:
            ax.plot(
                [edge],
                [y],
                marker=marker,
                ms=7,
                color=colour,
                ls="",
                clip_on=False,
                transform=ax.get_yaxis_transform(),
                gid="interval-edge",
            )
        if beyond:
            ax.text(
                edge + (0.012 if edge == 0 else -0.012),
                min(y for y, _, _ in beyond) - 0.28,
                " / ".join(f"{end:+.1f}" for _, end, _ in beyond),
                transform=ax.get_yaxis_transform(),
                ha=ha,
                va="center",
                fontsize="x-small",
                color=beyond[0][2],
                gid="interval-edge",
            )
