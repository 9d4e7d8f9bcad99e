"""Statistics across seeds: means with Student-t confidence and prediction intervals, which
seeds trained at all, and paired comparisons of every activation with a pre-declared baseline
activation of its architecture (paired t-tests and equivalence tests, Bonferroni-adjusted).

Pure: numbers in, numbers out (distributions from ``scipy.stats``). Pairing is by seed: the
same seed gives every activation the same initial weights and the same batch order on one
architecture, so the per-seed differences cancel what the seed alone explains.

Why these choices (a few seeds, often 3, so df = 2):

- The baseline is named in advance (relu by default, chosen by the caller), not the activation
  with the highest sample mean: comparing with the sample maximum picks the luckiest seeds
  (winner's curse) and never tests the winner itself.
- Bonferroni, not Holm: with m comparisons per architecture every p-value is multiplied by m
  and every interval is taken at level 1 - alpha/m, so an interval excludes 0 exactly when
  the adjusted p is below alpha. Holm has no matching intervals.
- "Not significantly different" is not "as good as": with df = 2 only large differences are
  detectable, so each comparison reports its minimum detectable difference, and "as good as"
  is claimed only by an equivalence test (TOST) against a stated margin.
- A t-interval assumes roughly normal values; a configuration whose seeds are partly at chance
  and partly trained is bimodal, and identical seeds give a zero-width interval: neither says
  what 3 seeds can. Such configurations are described by their per-seed values instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE  # the family-wise error rate of the comparisons within an architecture
POWER = 0.8  # the power at which the minimum detectable difference is stated

# A seed "trained" when its test accuracy (%) is at least this fraction of the way from chance
# to 100 %: 19 % for ten classes. Far below any network that learned anything, far above the
# chance level a network that never left its initial plateau sits at.
TRAINED_FRACTION = 0.1

# Verdicts of compare_to_baseline. The templates are filled with ``str.format``.
BASELINE = "baseline"
WORSE = "worse than {baseline}"
BETTER = "better than {baseline}"
EQUIVALENT = "equivalent to {baseline} (±{margin:g})"
INCONCLUSIVE = "inconclusive"
TOO_FEW = "cannot tell: fewer than 2 paired seeds"
PARTLY_TRAINED = "{trained}/{seeds} seeds trained"
NOT_TRAINED = "did not train (0/{seeds})"
BASELINE_SHORTFALL = "baseline: {shortfall}"  # shortfall: PARTLY_TRAINED or NOT_TRAINED


@dataclass(frozen=True)
class Summary:
    """n values: their mean, and (n >= 2 only) standard deviation and 95 % t interval."""

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None


def _sd(values: np.ndarray) -> float:
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
    std = _sd(v)
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
    mean, std = float(v.mean()), _sd(v)
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
    if len(v) < 2 or _sd(v) == 0:
        return False
    return count_trained(v.tolist(), chance) in (0, len(v))


@dataclass(frozen=True)
class Paired:
    """candidate - baseline over the seeds both have: mean, t interval at ``confidence``,
    paired t-test p (two-sided, unadjusted)."""

    n: int
    mean_difference: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def paired(
    candidate: Sequence[float], baseline: Sequence[float], confidence: float = CONFIDENCE
) -> Paired:
    """Paired t-test of ``candidate - baseline``, element by element, and the t interval of the
    mean difference at ``confidence`` (pass 1 - alpha/m for a Bonferroni-adjusted one). With
    identical differences (standard deviation 0) the interval is the exact [d, d] and p is 0
    (d != 0) or 1 (d == 0): the limits of t's distribution as the spread goes to 0."""
    a, b = np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    d = a - b
    mean = float(d.mean())
    if len(d) < 2:
        return Paired(len(d), mean, None, None, None)
    std = _sd(d)
    if std == 0:  # identical differences: t is 0/0 or infinite, and scipy answers nan
        return Paired(len(d), mean, mean, mean, 1.0 if mean == 0 else 0.0)
    p = float(stats.ttest_rel(a, b).pvalue)
    return Paired(len(d), mean, *_t_interval(mean, std, len(d), confidence), p)


def bonferroni(p_values: Sequence[float | None]) -> list[float | None]:
    """Bonferroni adjusted p-values: min(1, m p) with m the number of p-values that are not
    None; None stays None and is not counted in m. The matching intervals are taken at level
    1 - alpha/m, so an interval excludes 0 exactly when the adjusted p is below alpha."""
    m = sum(p is not None for p in p_values)
    return [None if p is None else min(1.0, m * p) for p in p_values]


def _power(effect: float, n: int, alpha: float) -> float:
    """Power of the two-sided one-sample (paired) t-test at level alpha with n differences
    whose true mean is ``effect`` standard deviations away from 0."""
    df, crit, nc = n - 1, _t_quantile(1 - alpha, n - 1), effect * math.sqrt(n)
    upper = float(stats.nct.sf(crit, df, nc))
    # P(T < -crit) for noncentrality nc is P(T > crit) for -nc; scipy's nct.cdf far in the
    # lower tail can answer nan where this is 0 to machine precision.
    lower = float(stats.nct.sf(crit, df, -nc))
    return upper + (0.0 if math.isnan(lower) else lower)


def minimum_detectable_difference(
    sd: float, n: int, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The smallest true mean paired difference that a two-sided paired t-test at level
    ``alpha`` detects with probability ``power``, if the differences' standard deviation is
    ``sd`` (the observed one, in practice): exact, with the noncentral t (noncentrality
    D sqrt(n) / sd) and a root finder. For large n it approaches the normal approximation
    (z_{1-alpha/2} + z_power) sd / sqrt(n); for n = 3 it is far larger. None for n < 2 (no
    test); 0.0 for sd == 0 (any difference is detected when there is no spread)."""
    if not 0 < alpha < power < 1:
        raise ValueError(f"need 0 < alpha < power < 1, got alpha {alpha} and power {power}")
    if n < 2:
        return None
    if sd == 0:
        return 0.0
    high = 1.0
    while _power(high, n, alpha) < power:  # power rises with the effect: bracket the root
        high *= 2
    effect = optimize.brentq(lambda e: _power(e, n, alpha) - power, 0.0, high, xtol=1e-12)
    return float(effect) * sd


@dataclass(frozen=True)
class Tost:
    """Two one-sided paired t-tests of the mean difference against -margin and +margin.
    ``p`` (the larger of the two) is below alpha exactly when the (1 - 2 alpha) t interval
    lies inside (-margin, margin), which is when equivalence within the margin is shown."""

    n: int
    mean_difference: float
    p_lower: float | None  # H0: mean <= -margin
    p_upper: float | None  # H0: mean >= +margin
    p: float | None
    ci_low: float | None  # the (1 - 2 alpha) interval
    ci_high: float | None
    equivalent: bool


def tost(differences: Sequence[float], margin: float, alpha: float = ALPHA) -> Tost:
    """Equivalence test (TOST) of paired differences within ±margin at level ``alpha``.
    Fewer than 2 differences: no test (p None, not equivalent). Identical differences
    (standard deviation 0): each one-sided p is 0 when the difference is strictly inside the
    margin on its side and 1 otherwise, and the interval is the exact [d, d]."""
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    d = np.asarray(differences, dtype=float)
    mean = float(d.mean())
    if len(d) < 2:
        return Tost(len(d), mean, None, None, None, None, None, False)
    std = _sd(d)
    if std == 0:
        p_lower = 0.0 if mean > -margin else 1.0
        p_upper = 0.0 if mean < margin else 1.0
        low = high = mean
    else:
        se, df = std / math.sqrt(len(d)), len(d) - 1
        p_lower = float(stats.t.sf((mean + margin) / se, df))
        p_upper = float(stats.t.cdf((mean - margin) / se, df))
        low, high = _t_interval(mean, std, len(d), 1 - 2 * alpha)
    p = max(p_lower, p_upper)
    return Tost(len(d), mean, p_lower, p_upper, p, low, high, p < alpha)


@dataclass(frozen=True)
class Comparison:
    """One activation against the baseline of its architecture, paired by seed.

    ``seeds``/``trained``: the activation's seeds and how many of them trained. The t-based
    numbers (None where no test was made: the baseline itself, a configuration or baseline
    with seeds that did not train, fewer than 2 paired seeds) are over the ``n`` paired seeds:
    the mean difference activation - baseline, its Bonferroni-adjusted interval at level
    ``confidence`` = 1 - alpha/m, the raw and the adjusted (x m) paired t-test p, the minimum
    detectable difference at level alpha/m with power ``POWER``, and the TOST p against
    ±margin, adjusted (x m) the same way."""

    activation: str
    baseline: str
    seeds: int
    trained: int
    n: int
    mean_difference: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float | None
    p_value: float | None
    p_adjusted: float | None
    mdd: float | None
    p_equivalence: float | None
    verdict: str


_TESTED = (
    "mean_difference",
    "ci_low",
    "ci_high",
    "confidence",
    "p_value",
    "p_adjusted",
    "mdd",
    "p_equivalence",
)


def _shortfall(trained: int, seeds: int) -> str | None:
    if trained == seeds:
        return None
    if trained == 0:
        return NOT_TRAINED.format(seeds=seeds)
    return PARTLY_TRAINED.format(trained=trained, seeds=seeds)


def compare_to_baseline(
    by_activation: Mapping[str, Mapping[int, float]],
    baseline: str,
    *,
    margin: float,
    chance: float,
    alpha: float = ALPHA,
) -> dict[str, Comparison]:
    """``{activation: {seed: test accuracy %}}`` of one architecture -> each activation, in the
    given order, against ``baseline`` on the seeds both have.

    Only activations whose seeds all trained are tested, and only if the baseline's seeds all
    trained too (a mixture of trained and chance-level seeds is not one normal population:
    the verdict then says how many trained). m is the number of tests made; each is judged at
    alpha/m (Bonferroni). Verdict: worse/better than the baseline when the adjusted p < alpha,
    else equivalent within ±margin when the adjusted TOST p < alpha, else inconclusive."""
    if baseline not in by_activation:
        raise ValueError(
            f"baseline activation {baseline!r} is not among the activations compared: "
            f"{', '.join(by_activation)}"
        )
    base = by_activation[baseline]
    base_shortfall = _shortfall(count_trained(list(base.values()), chance), len(base))
    trained = {a: count_trained(list(v.values()), chance) for a, v in by_activation.items()}
    verdicts: dict[str, str] = {baseline: BASELINE}
    differences: dict[str, list[float]] = {}
    paired_seeds: dict[str, int] = {}
    for a, values in by_activation.items():
        seeds = sorted(set(values) & set(base))
        paired_seeds[a] = len(seeds)
        if a == baseline:
            continue
        own = _shortfall(trained[a], len(values))
        if own is not None:
            verdicts[a] = own
        elif base_shortfall is not None:
            verdicts[a] = BASELINE_SHORTFALL.format(shortfall=base_shortfall)
        elif len(seeds) < 2:
            verdicts[a] = TOO_FEW
        else:
            differences[a] = [values[s] - base[s] for s in seeds]
    m = len(differences)
    level = alpha / m if m else alpha
    tests = {a: paired(d, [0.0] * len(d), confidence=1 - level) for a, d in differences.items()}
    adjusted = dict(zip(tests, bonferroni([t.p_value for t in tests.values()]), strict=True))
    equivalence = bonferroni([tost(d, margin, level).p for d in differences.values()])
    adjusted_equivalence = dict(zip(differences, equivalence, strict=True))
    result = {}
    for a, values in by_activation.items():
        numbers: dict[str, float | None] = {}
        verdict = verdicts.get(a, INCONCLUSIVE)
        if a in differences:
            d, t = differences[a], tests[a]
            p_adjusted, p_equivalence = adjusted[a], adjusted_equivalence[a]
            numbers = {
                "mean_difference": t.mean_difference,
                "ci_low": t.ci_low,
                "ci_high": t.ci_high,
                "confidence": 1 - level,
                "p_value": t.p_value,
                "p_adjusted": p_adjusted,
                "mdd": minimum_detectable_difference(_sd(np.asarray(d)), len(d), level),
                "p_equivalence": p_equivalence,
            }
            if p_adjusted < alpha:
                verdict = (WORSE if t.mean_difference < 0 else BETTER).format(baseline=baseline)
            elif p_equivalence < alpha:
                verdict = EQUIVALENT.format(baseline=baseline, margin=margin)
        result[a] = Comparison(
            activation=a,
            baseline=baseline,
            seeds=len(values),
            trained=trained[a],
            n=paired_seeds[a],
            **(dict.fromkeys(_TESTED) | numbers),
            verdict=verdict,
        )
    return result
