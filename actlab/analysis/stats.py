"""Statistics across seeds: means with Student-t confidence intervals, and paired comparisons
of every activation with the best one of its architecture (paired t-tests, Holm-corrected).

Pure: numbers in, numbers out (distributions from ``scipy.stats``). Pairing is by seed: the
same seed gives every activation the same initial weights and the same batch order on one
architecture, so the per-seed differences cancel what the seed alone explains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE  # the family-wise error rate of the Holm-corrected comparisons
BEST = "best"
SAME = "not distinguishable from best"
WORSE = "worse than best"
TOO_FEW = "cannot tell: fewer than 2 paired seeds"


@dataclass(frozen=True)
class Summary:
    """n values: their mean, and (n >= 2 only) standard deviation and 95 % t interval."""

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None


def _t_interval(mean: float, std: float, n: int) -> tuple[float, float]:
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * std / math.sqrt(n)
    return mean - half, mean + half


def describe(values: Sequence[float]) -> Summary:
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        raise ValueError("describe needs at least one value")
    mean = float(v.mean())
    if len(v) < 2:
        return Summary(1, mean, None, None, None)
    std = float(v.std(ddof=1))
    return Summary(len(v), mean, std, *_t_interval(mean, std, len(v)))


@dataclass(frozen=True)
class Paired:
    """candidate - best over the seeds both have: mean, 95 % t interval, paired t-test p."""

    n: int
    mean_difference: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def paired(candidate: Sequence[float], best: Sequence[float]) -> Paired:
    a, b = np.asarray(candidate, dtype=float), np.asarray(best, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    d = a - b
    mean = float(d.mean())
    if len(d) < 2:
        return Paired(len(d), mean, None, None, None)
    std = float(d.std(ddof=1))
    if std == 0:  # identical differences: t is 0/0 or infinite, and scipy answers nan
        return Paired(len(d), mean, mean, mean, 1.0 if mean == 0 else 0.0)
    p = float(stats.ttest_rel(a, b).pvalue)
    return Paired(len(d), mean, *_t_interval(mean, std, len(d)), p)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, at most 1); None stays None
    and is not counted in the family."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Comparison:
    """One activation against the best of its architecture."""

    activation: str
    best: str
    paired: Paired | None  # None for the best itself
    p_holm: float | None
    verdict: str


def compare_to_best(by_activation: Mapping[str, Mapping[int, float]]) -> list[Comparison]:
    """``{activation: {seed: value}}`` of one architecture -> each activation against the one
    with the highest mean, paired on the seeds both have, Holm-corrected across them."""
    means = {a: float(np.mean(list(v.values()))) for a, v in by_activation.items()}
    best = max(means, key=means.get)
    others = [a for a in by_activation if a != best]
    tests = []
    for a in others:
        seeds = sorted(set(by_activation[a]) & set(by_activation[best]))
        tests.append(
            paired([by_activation[a][s] for s in seeds], [by_activation[best][s] for s in seeds])
        )
    adjusted = holm([t.p_value for t in tests])
    result = {best: Comparison(best, best, None, None, BEST)}
    for a, t, p in zip(others, tests, adjusted, strict=True):
        if p is None:
            verdict = TOO_FEW
        elif p < ALPHA and t.mean_difference < 0:
            verdict = WORSE
        else:
            verdict = SAME
        result[a] = Comparison(a, best, t, p, verdict)
    return [result[a] for a in by_activation]
