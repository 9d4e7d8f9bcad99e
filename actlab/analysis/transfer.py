"""Does an answer transfer across datasets? Each activation against the baseline on each
dataset (the comparison of ``actlab.analysis.compare``), and how well the datasets agree on
the ranking of the activations: Kendall's tau-b of their mean test accuracies, with a bootstrap
interval over seeds.

The bootstrap resamples each dataset's seeds with replacement, independently per dataset, and
the same seeds for every activation of a dataset (the comparisons are paired by seed, and a
seed's batch order and initial weights are shared by its activations); the interval is the
percentile interval of tau over the resamples. With no spread across seeds it collapses to
the observed tau (a test checks that closed case).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from actlab.analysis import compare

Scores = Mapping[str, Mapping[int, float]]  # activation -> seed -> test accuracy (%)

RESAMPLES = 4000
CONFIDENCE = 0.95


def means(scores: Scores, activations: Sequence[str]) -> np.ndarray:
    return np.array([np.mean(list(scores[a].values())) for a in activations])


def tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b of two score vectors (ties count as neither agreement nor
    disagreement); nan when either is constant."""
    value = sps.kendalltau(a, b).statistic
    return float(value)


def _matrix(scores: Scores, activations: Sequence[str]) -> np.ndarray:
    """activations x seeds, on the seeds every activation has."""
    seeds = sorted(set.intersection(*(set(scores[a]) for a in activations)))
    if len(seeds) < 2:
        raise ValueError("fewer than 2 seeds shared by every activation: nothing to resample")
    return np.array([[scores[a][s] for s in seeds] for a in activations])


@dataclass(frozen=True)
class Agreement:
    activations: tuple[str, ...]
    tau: float
    low: float
    high: float
    resamples: int


def agreement(
    first: Scores,
    second: Scores,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Agreement:
    """Kendall's tau of the two datasets' rankings of the activations both have, with its
    percentile bootstrap interval over seeds."""
    activations = tuple(a for a in first if a in second)
    if len(activations) < 3:
        raise ValueError(f"rankings of {len(activations)} activations: tau needs 3 or more")
    x, y = _matrix(first, activations), _matrix(second, activations)
    observed = tau(x.mean(1), y.mean(1))
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for i in range(resamples):
        xi = x[:, rng.integers(0, x.shape[1], x.shape[1])].mean(1)
        yi = y[:, rng.integers(0, y.shape[1], y.shape[1])].mean(1)
        draws[i] = tau(xi, yi)
    draws = draws[~np.isnan(draws)]
    tail = (1 - confidence) / 2
    low, high = (
        (float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))
        if len(draws)
        else (math.nan, math.nan)
    )
    return Agreement(activations, observed, low, high, resamples)


def comparisons(
    datasets: Mapping[str, Scores],
    baseline: str,
    *,
    margin: float,
    chance: Mapping[str, float],
    alpha: float = compare.ALPHA,
) -> dict[str, dict[str, compare.Comparison]]:
    """dataset -> activation -> its comparison with ``baseline`` on that dataset (seed
    variance only: on each dataset's own test set)."""
    return {
        name: compare.compare_to_baseline(
            scores, baseline, margin=margin, chance=chance[name], alpha=alpha
        )
        for name, scores in datasets.items()
    }


def direction(c: compare.Comparison) -> str:
    """A verdict as one word, for whether two datasets agree (``compare.outcome``)."""
    return compare.outcome(c.verdict)


def transfers(directions: Sequence[str]) -> str:
    """Whether one activation's verdicts agree across the datasets."""
    decided = [d for d in directions if d in ("worse", "better", "equivalent")]
    if "baseline" in directions:
        return ""
    if len(decided) < len(directions):
        return "not decided everywhere" if decided else "decided nowhere"
    return "same verdict" if len(set(decided)) == 1 else "verdicts differ"
