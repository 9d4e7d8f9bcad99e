"""Statistics across seeds: means with Student-t confidence and prediction intervals, and which
seeds trained at all. The comparisons with a baseline are ``actlab.analysis.compare``'s.

Pure: numbers in, numbers out (distributions from ``scipy.stats``). A t-interval assumes
roughly normal values; a configuration whose seeds are partly at chance and partly trained is
bimodal, and identical seeds give a zero-width interval: neither says what 3 seeds can. Such
configurations are described by their per-seed values instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE  # the family-wise error rate of the comparisons within an architecture
POWER = 0.8  # the power at which the minimum detectable difference is stated

# A seed "trained" when its test accuracy (%) is at least this fraction of the way from chance
# to 100 %: 19 % for ten classes. Far below any network that learned anything, far above the
# chance level a network that never left its initial plateau sits at.
TRAINED_FRACTION = 0.1


@dataclass(frozen=True)
class Summary:
    """n values: their mean, and (n >= 2 only) standard deviation and 95 % t interval."""

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None


def sample_sd(values: np.ndarray) -> float:
    """Sample standard deviation (ddof 1), exactly 0 when the values are equal to within
    1e-9 relative: differences of two-decimal accuracies that are equal on paper can differ
    in their last bits, and would then give a spurious, tiny spread."""
    if float(np.ptp(values)) <= 1e-9 * max(1.0, float(np.max(np.abs(values)))):
        return 0.0
    return float(values.std(ddof=1))


def _t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student-t critical value: P(|T| <= q) = confidence."""
    return float(stats.t.ppf(0.5 + confidence / 2, df))


def _t_interval(
    mean: float, std: float, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    half = _t_quantile(confidence, n - 1) * std / math.sqrt(n)
    return mean - half, mean + half


def describe(values: Sequence[float]) -> Summary:
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        raise ValueError("describe needs at least one value")
    mean = float(v.mean())
    if len(v) < 2:
        return Summary(1, mean, None, None, None)
    std = sample_sd(v)
    return Summary(len(v), mean, std, *_t_interval(mean, std, len(v)))


def prediction_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Where one new run (one more seed) falls with probability ``confidence``, assuming the
    runs are normal: mean ± t_{(1+confidence)/2, n-1} · s · sqrt(1 + 1/n). This, not the
    interval of the mean, is what a single published run is to be compared with. None for
    fewer than 2 values; (mean, mean) when all values are equal."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return None
    mean, std = float(v.mean()), sample_sd(v)
    half = _t_quantile(confidence, len(v) - 1) * std * math.sqrt(1 + 1 / len(v))
    return mean - half, mean + half


def chance(classes: int) -> float:
    """The test accuracy (%) of guessing among ``classes`` balanced classes."""
    return 100 / classes


def trained_threshold(chance: float) -> float:
    """The test accuracy (%) from which a seed counts as trained: chance + TRAINED_FRACTION of
    the way to 100 %. ``chance`` is 100 / number of classes."""
    return chance + TRAINED_FRACTION * (100 - chance)


def count_trained(values: Sequence[float], chance: float) -> int:
    """How many of these test accuracies (%) reach ``trained_threshold(chance)``."""
    threshold = trained_threshold(chance)
    return sum(1 for v in values if v >= threshold)


def supports_interval(values: Sequence[float], chance: float) -> bool:
    """Whether a t interval (of the mean, or a prediction interval) says something about these
    test accuracies (%): not with fewer than 2 values, not when some seeds trained and some did
    not (bimodal and bounded: 10, 10, 79.3 gives [-66, 132]), not when all are identical (a
    zero-width interval that 3 seeds cannot give). Otherwise show the per-seed values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2 or sample_sd(v) == 0:
        return False
    return count_trained(v.tolist(), chance) in (0, len(v))
