"""Every activation against a pre-declared baseline, paired by seed: the verdict procedure.

Pure: numbers in, numbers out. The model behind it, per architecture: the test accuracy of
activation a, seed s is x_as = mu_a + beta_s + e_as (the seed is a block: it gives every
activation the same initial weights and batch order), and each x_as is itself a mean over the
test images, which are one sample of the images the task could show. Two questions follow.

**On this test set**: how the mean paired difference D_a = mean_s (x_as - x_bs) varies with the
seeds, the images held fixed: its standard error from the seeds alone.

**On new images like these**: the per-image differences delta_si = c_asi - c_bsi (c: 1 when
image i is classified correctly) form a seeds x images table with a crossed structure,
delta_si = mu + alpha_s + beta_i + eps_si, so (two-way random effects, method of moments,
Searle, Casella & McCulloch 1992, ch. 4)

    Var(D) = sigma_alpha^2/S + sigma_beta^2/I + sigma_eps^2/(S I)
           = (MS_seed + MS_image - MS_resid) / (S I)

of which MS_seed / (S I) is the seed-only variance above. The image part
b = (MS_image - MS_resid) / (S I) (never below 0) does not shrink with more seeds: it is the
floor the test set's size puts under every comparison. It is estimated from thousands of
images and taken as known. The interval on new images keeps the seeds' degrees of freedom
(conservative: a Satterthwaite df that grows with b would make it narrower than the one on
this test set for a seed part of b's size) and Bonferroni's adjustment (the image parts of two
comparisons need not correlate as Dunnett assumes), so it always holds the one on this test
set; a simulated task checks its coverage (tests/test_compare.py).

**The baseline** is named in advance (relu by default), not the activation with the highest
sample mean: comparing with the sample maximum picks the luckiest seeds (winner's curse) and
never tests the winner itself. A configuration or a baseline whose seeds did not all train is
not tested (a mixture of trained and chance-level seeds is not one normal population).

**The family** is every tested activation against the baseline, per architecture. Where the
activations' variances are compatible (Brown-Forsythe's test of the seed-blocked residuals,
p >= 0.25, with at least two comparisons on at least 10 shared seeds: below that the test has
too little power to decide anything) the seed variance is pooled over them (residual mean
square of the seed-blocked two-way model, df (k-1)(S-1)) and the comparisons are adjusted with
Dunnett's many-to-one procedure (Dunnett 1955: equicorrelated t, rho = 1/2); otherwise each
pair has its own variance (df S-1) and the adjustment is Bonferroni. The same adjusted
critical values give the intervals, the tests, the equivalence tests (TOST against
±margin, each side adjusted one-sided) and the smallest detectable difference, which is shown
as a range: from the 95 % confidence interval of the seed standard deviation, never as one
number from 2 degrees of freedom.

**Verdicts**: worse/better than the baseline when the difference is significant counting image
sampling; "... on this test set" when only the seed-only test finds it; equivalent within the
margin when TOST holds counting image sampling, "... on this test set" when only seed-only;
else inconclusive with the range of detectable differences. Without per-image predictions
(tables from saved models.csv files) every verdict is on this test set. Differences identical
on every seed (accuracies move in steps of 0.01 points) have no seed spread to test against: a
spread of 0 from 2 degrees of freedom is no known 0, so such a comparison is not tested (no p
of 0), with or without the images.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from actlab.analysis.stats import ALPHA, POWER, count_trained, sample_sd

# Verdicts; the templates are filled with ``str.format``.
BASELINE = "baseline"
WORSE = "worse than {baseline}"
BETTER = "better than {baseline}"
EQUIVALENT = "equivalent to {baseline} (±{margin:g})"
ON_THIS_TEST_SET = " on this test set"
INCONCLUSIVE = "inconclusive"
TOO_FEW = "cannot tell: fewer than 2 paired seeds"
NO_SPREAD = "cannot tell: identical differences on every seed"
PARTLY_TRAINED = "{trained}/{seeds} seeds trained"
NOT_TRAINED = "did not train (0/{seeds})"
BASELINE_SHORTFALL = "baseline: {shortfall}"  # shortfall: PARTLY_TRAINED or NOT_TRAINED

DUNNETT, BONFERRONI = "Dunnett", "Bonferroni"
# Pooling the seed variance is decided by a preliminary test, which decides the final one: at
# 0.25, as Bancroft (1964) recommends for such tests, and only with enough seeds for it to have
# power. Simulated (7 activations, one with 2.5x the others' seed SD): pooling on a 0.05 test
# with 3 seeds had a family-wise error of 0.10, with 10 seeds 0.075; at 0.25 with 10 seeds 0.043.
VARIANCE_TEST_ALPHA = 0.25
MIN_SEEDS_TO_POOL = 10
SD_CONFIDENCE = 0.95  # the interval of the seed standard deviation the detectable range uses


# --- the test images -----------------------------------------------------------------------


@dataclass(frozen=True)
class Crossed:
    """Mean squares of a seeds x images table of paired per-image differences (points)."""

    seeds: int
    images: int
    mean: float
    ms_seed: float
    ms_image: float
    ms_resid: float

    @property
    def seed_variance(self) -> float:
        """Var(D) on this test set: the seeds' spread of their mean differences, over S."""
        return self.ms_seed / (self.seeds * self.images)

    @property
    def image_variance(self) -> float:
        """The image-sampling part of Var(D), sigma_beta^2 / I (0 where the estimate is not
        positive)."""
        return max(0.0, (self.ms_image - self.ms_resid) / (self.seeds * self.images))


def crossed(delta: np.ndarray) -> Crossed:
    """Two-way mean squares of ``delta`` (seeds x images, no replication)."""
    d = np.asarray(delta, dtype=float)
    s, n = d.shape
    if s < 2 or n < 2:
        raise ValueError(f"need at least 2 seeds and 2 images, got {s} x {n}")
    grand = float(d.mean())
    rows, cols = d.mean(1), d.mean(0)
    ms_seed = n * float(((rows - grand) ** 2).sum()) / (s - 1)
    ms_image = s * float(((cols - grand) ** 2).sum()) / (n - 1)
    resid = d - rows[:, None] - cols[None, :] + grand
    ms_resid = float((resid**2).sum()) / ((s - 1) * (n - 1))
    return Crossed(s, n, grand, ms_seed, ms_image, ms_resid)


def image_variance(candidate: np.ndarray, baseline: np.ndarray) -> float:
    """b for a pair: ``candidate`` and ``baseline`` are seeds x images tables of correct (1)
    and wrong (0), their rows paired by seed; the differences are in points (x 100)."""
    return crossed(
        100.0 * (np.asarray(candidate, float) - np.asarray(baseline, float))
    ).image_variance


def fixed_models_variance(candidate: np.ndarray, baseline: np.ndarray) -> float:
    """The variance of the mean paired difference (points) over new test sets drawn like this
    one with these models held fixed: the variance of the images' seed-averaged differences over
    the number of images, MS_image / (S I) (images drawn independently). A fresh test set of a
    generated dataset measures it directly (``actlab.tools.fresh_test``)."""
    c = crossed(100.0 * (np.asarray(candidate, float) - np.asarray(baseline, float)))
    return c.ms_image / (c.seeds * c.images)


# --- Dunnett's and Bonferroni's critical values ---------------------------------------------

_NODES, _WEIGHTS = special.roots_hermitenorm(48)  # integrate f(x) phi(x) dx over the reals
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)


_LEGENDRE = np.polynomial.legendre.leggauss(64)  # integrate over W's range, below


def _max_normal(z: np.ndarray, m: int, two_sided: bool) -> np.ndarray:
    """P(max_j |Z_j| <= z) (or P(max_j Z_j <= z)) for m standard normals with correlation 1/2,
    for each z: Z_j = (X_j - X_0) / sqrt 2 with independent X, so given X_0 = x the m events
    are independent (Gauss-Hermite over x)."""
    a = np.sqrt(2.0) * np.atleast_1d(np.asarray(z, dtype=float))[:, None]
    if two_sided:
        inner = np.clip(sps.norm.cdf(_NODES + a) - sps.norm.cdf(_NODES - a), 0.0, 1.0)
    else:
        inner = sps.norm.cdf(_NODES + a)
    return np.clip((_WEIGHTS * inner**m).sum(1), 0.0, 1.0)


@lru_cache(maxsize=65536)
def dunnett_cdf(c: float, m: int, df: float, two_sided: bool = True) -> float:
    """P(max_j |T_j| <= c) (two-sided; one-sided: P(max_j T_j <= c)) for m Student t's with df
    degrees of freedom and correlation 1/2: the many-to-one comparisons of equal-sized groups
    (Dunnett 1955). df = inf: normal. T = Z / W with W = sqrt(chi2_df / df), so the normal
    case is averaged over W's density (Gauss-Legendre between its 1e-15 quantiles)."""
    if m < 1:
        raise ValueError(f"need m >= 1 comparisons, got {m}")
    if two_sided and c <= 0:
        return 0.0
    if math.isinf(df):
        return float(_max_normal(c, m, two_sided)[0])
    low, high = (math.sqrt(sps.chi2.ppf(q, df) / df) for q in (1e-15, 1 - 1e-15))
    x, w = _LEGENDRE
    ws = (high - low) / 2 * x + (high + low) / 2
    log_density = (
        (df / 2) * math.log(df / 2)
        - special.gammaln(df / 2)
        + math.log(2.0)
        + (df - 1) * np.log(ws)
        - df * ws * ws / 2
    )
    value = (
        (high - low)
        / 2
        * float((w * np.exp(log_density) * _max_normal(c * ws, m, two_sided)).sum())
    )
    return float(min(1.0, max(0.0, value)))


@dataclass(frozen=True)
class Family:
    """How the m comparisons of an architecture are adjusted: ``method`` (Dunnett or
    Bonferroni) at family-wise level ``alpha``."""

    method: str
    m: int
    alpha: float = ALPHA

    def critical(self, df: float, two_sided: bool = True) -> float:
        """The adjusted critical value of |t| (two-sided) or t (one-sided) at ``df``."""
        return _critical(self.method, self.m, float(df), self.alpha, two_sided)

    def p(self, t: float, df: float, two_sided: bool = True) -> float:
        """The adjusted p of statistic ``t`` (|t| two-sided; one-sided: the upper tail)."""
        if self.method == BONFERRONI:
            tail = 2 * sps.t.sf(abs(t), df) if two_sided else sps.t.sf(t, df)
            return float(min(1.0, self.m * tail))
        return float(
            min(1.0, max(0.0, 1.0 - dunnett_cdf(abs(t) if two_sided else t, self.m, df, two_sided)))
        )


@lru_cache(maxsize=1024)
def _critical(method: str, m: int, df: float, alpha: float, two_sided: bool) -> float:
    if method == BONFERRONI:
        return float(sps.t.ppf(1 - alpha / (2 * m if two_sided else m), df))
    target = 1 - alpha
    return float(
        optimize.brentq(lambda c: dunnett_cdf(c, m, df, two_sided) - target, 0.0, 100.0, xtol=1e-10)
    )


# --- one comparison ----------------------------------------------------------------------


def new_images_se(seed_variance: float, image_variance: float) -> float:
    """The standard error of a mean difference on new images like these: the seeds' variance
    of it plus the test images' share."""
    return math.sqrt(seed_variance + image_variance)


def _power(effect: float, se: float, df: float, c: float) -> float:
    """P(|T| > c) when T = D / se is noncentral t with noncentrality effect / se."""
    nc = effect / se
    if math.isinf(df):
        return float(sps.norm.sf(c - nc) + sps.norm.cdf(-c - nc))
    upper = float(sps.nct.sf(c, df, nc))
    lower = float(sps.nct.sf(c, df, -nc))  # P(T < -c) by symmetry; avoids nct.cdf's nan
    return upper + (0.0 if math.isnan(lower) else lower)


def detectable(se: float, df: float, c: float, power: float = POWER) -> float:
    """The smallest true difference a test rejecting at |D / se| > c detects with probability
    ``power`` (noncentral t; normal for df = inf). 0 when se is 0."""
    if se == 0:
        return 0.0
    high = 1.0
    while _power(high * se, se, df, c) < power:
        high *= 2
    effect = optimize.brentq(lambda e: _power(e * se, se, df, c) - power, 0.0, high, xtol=1e-12)
    return float(effect) * se


def sd_interval(sd: float, df: float, confidence: float = SD_CONFIDENCE) -> tuple[float, float]:
    """The chi-square confidence interval of a standard deviation estimated with ``df``."""
    tail = (1 - confidence) / 2
    return (
        sd * math.sqrt(df / sps.chi2.ppf(1 - tail, df)),
        sd * math.sqrt(df / sps.chi2.ppf(tail, df)),
    )


@dataclass(frozen=True)
class Comparison:
    """One activation against the baseline of its architecture, paired by seed.

    Numbers are None where no test was made (the baseline itself, seeds that did not train,
    fewer than 2 paired seeds). ``test``: on this test set (seed variance only); ``new``:
    counting the sampling of the test images too (None without per-image predictions).
    Intervals are family-adjusted at ``confidence``; p-values adjusted by ``method``."""

    activation: str
    baseline: str
    seeds: int
    trained: int
    n: int
    method: str | None = None
    mean_difference: float | None = None
    sd: float | None = None  # the seed standard deviation of the differences (pooled: its share)
    sd_df: float | None = None
    se_test: float | None = None
    df_test: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_test: float | None = None
    p_equivalence_test: float | None = None
    image_variance: float | None = None
    se_new: float | None = None
    df_new: float | None = None
    ci_low_new: float | None = None
    ci_high_new: float | None = None
    p_new: float | None = None
    p_equivalence_new: float | None = None
    mdd_low: float | None = None
    mdd_high: float | None = None
    confidence: float | None = None
    verdict: str = INCONCLUSIVE
    notes: tuple[str, ...] = field(default=())

    @property
    def p_adjusted(self) -> float | None:
        """The p the verdict stands on: counting image sampling where it can."""
        return self.p_new if self.p_new is not None else self.p_test

    @property
    def p_equivalence(self) -> float | None:
        return (
            self.p_equivalence_new
            if self.p_equivalence_new is not None
            else self.p_equivalence_test
        )


def _shortfall(trained: int, seeds: int) -> str | None:
    if trained == seeds:
        return None
    if trained == 0:
        return NOT_TRAINED.format(seeds=seeds)
    return PARTLY_TRAINED.format(trained=trained, seeds=seeds)


def variance_test(table: np.ndarray) -> float:
    """Brown-Forsythe's test (Levene's, median-centred) that the activations of a seed-blocked
    table (activations x seeds) have equal variances, on the residuals of the additive model;
    its p (1.0 where every residual is 0)."""
    x = np.asarray(table, float)
    resid = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    if np.allclose(resid, 0.0, atol=1e-9):
        return 1.0
    p = float(sps.levene(*resid, center="median").pvalue)
    return 1.0 if math.isnan(p) else p


def pooled_sd(table: np.ndarray) -> tuple[float, float]:
    """The residual standard deviation of the additive seed-blocked model and its df."""
    x = np.asarray(table, float)
    k, s = x.shape
    resid = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    df = (k - 1) * (s - 1)
    return math.sqrt(float((resid**2).sum()) / df), float(df)


def compare_to_baseline(
    by_activation: Mapping[str, Mapping[int, float]],
    baseline: str,
    *,
    margin: float,
    chance: float,
    alpha: float = ALPHA,
    correct: Mapping[str, Mapping[int, np.ndarray]] | None = None,
    detectable_range: bool = True,
) -> dict[str, Comparison]:
    """``{activation: {seed: test accuracy %}}`` of one architecture -> each activation, in
    the given order, against ``baseline`` on the seeds both have. ``correct``: per activation
    and seed, which test images the model classified correctly (bools, the same images in the
    same order for every model); without it every verdict is on this test set.
    ``detectable_range``: compute the range of detectable differences (the verdicts do not
    depend on it; simulations of the procedure leave it out for speed).

    Tested: activations whose seeds all trained, against a baseline whose seeds all trained
    (a mixture of trained and chance-level seeds is not one normal population: the verdict
    then says how many trained), on at least 2 paired seeds."""
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    if baseline not in by_activation:
        raise ValueError(
            f"baseline activation {baseline!r} is not among the activations compared: "
            f"{', '.join(by_activation)}"
        )
    base = by_activation[baseline]
    base_shortfall = _shortfall(count_trained(list(base.values()), chance), len(base))
    trained = {a: count_trained(list(v.values()), chance) for a, v in by_activation.items()}
    verdicts: dict[str, str] = {baseline: BASELINE}
    seeds_of: dict[str, list[int]] = {}
    for a, values in by_activation.items():
        seeds_of[a] = sorted(set(values) & set(base))
        if a == baseline:
            continue
        own = _shortfall(trained[a], len(values))
        if own is not None:
            verdicts[a] = own
        elif base_shortfall is not None:
            verdicts[a] = BASELINE_SHORTFALL.format(shortfall=base_shortfall)
        elif len(seeds_of[a]) < 2:
            verdicts[a] = TOO_FEW
    tested = [a for a in by_activation if a not in verdicts]
    differences = {
        a: np.array([by_activation[a][s] - base[s] for s in seeds_of[a]]) for a in tested
    }
    family, pooled = _family(by_activation, baseline, tested, seeds_of, alpha)
    result = {}
    for a, values in by_activation.items():
        common = dict(
            activation=a,
            baseline=baseline,
            seeds=len(values),
            trained=trained[a],
            n=len(seeds_of[a]),
        )
        if a not in differences:
            result[a] = Comparison(**common, verdict=verdicts[a])
            continue
        d = differences[a]
        n = len(d)
        sd, sd_df = pooled if pooled is not None else (sample_sd(d), float(n - 1))
        b = None
        if correct is not None and a in correct and baseline in correct:
            rows = seeds_of[a]
            b = image_variance(
                np.stack([correct[a][s] for s in rows]),
                np.stack([correct[baseline][s] for s in rows]),
            )
        result[a] = _compare(
            common, float(d.mean()), sd, sd_df, n, b, family, margin, alpha, detectable_range
        )
    return result


def _family(
    by_activation: Mapping[str, Mapping[int, float]],
    baseline: str,
    tested: Sequence[str],
    seeds_of: Mapping[str, list[int]],
    alpha: float,
) -> tuple[Family, tuple[float, float] | None]:
    """Dunnett on the pooled seed variance where the comparisons share at least
    ``MIN_SEEDS_TO_POOL`` seeds and the variances are compatible, else Bonferroni per pair;
    the pooled (sd of a difference, df), or None."""
    m = max(1, len(tested))
    same_seeds = len({tuple(seeds_of[a]) for a in tested}) == 1
    if len(tested) >= 2 and same_seeds and len(seeds_of[tested[0]]) >= MIN_SEEDS_TO_POOL:
        seeds = seeds_of[tested[0]]
        table = np.array([[by_activation[a][s] for s in seeds] for a in [baseline, *tested]])
        if variance_test(table) >= VARIANCE_TEST_ALPHA:
            sd, df = pooled_sd(table)
            return Family(DUNNETT, m, alpha), (sd * math.sqrt(2.0), df)
    return Family(BONFERRONI, m, alpha), None


def _compare(
    common: dict,
    mean: float,
    sd: float,
    sd_df: float,
    n: int,
    b: float | None,
    family: Family,
    margin: float,
    alpha: float,
    detectable_range: bool,
) -> Comparison:
    seed_variance = sd**2 / n
    out = dict(common, method=family.method, mean_difference=mean, sd=sd, sd_df=sd_df)
    out |= dict(confidence=1 - alpha, image_variance=b)
    if seed_variance == 0:  # identical differences: a spread of 0 from 2 df is no known 0
        return Comparison(**out, verdict=NO_SPREAD)
    se, df = math.sqrt(seed_variance), sd_df
    c = family.critical(df)
    out |= dict(se_test=se, df_test=df, ci_low=mean - c * se, ci_high=mean + c * se)
    out["p_test"] = family.p(mean / se, df)
    out["p_equivalence_test"] = _tost(mean, se, df, margin, family)
    verdict_test = _verdict(out["p_test"], out["p_equivalence_test"], mean, alpha)
    verdict_new = None
    # On new images: the seeds' df and Bonferroni's adjustment, so the interval always holds
    # the one on this test set (and the image parts of two comparisons need not correlate 1/2)
    images = Family(BONFERRONI, family.m, alpha)
    if b is not None:
        se = new_images_se(seed_variance, b)
        c = images.critical(df)
        out |= dict(se_new=se, df_new=df, ci_low_new=mean - c * se, ci_high_new=mean + c * se)
        out["p_new"] = images.p(mean / se, df)
        out["p_equivalence_new"] = _tost(mean, se, df, margin, images)
        verdict_new = _verdict(out["p_new"], out["p_equivalence_new"], mean, alpha)
    if detectable_range:  # at both ends of the seed sd's interval, the image part as it is
        used = family if b is None else images
        for key, s in zip(("mdd_low", "mdd_high"), sd_interval(sd, df), strict=True):
            out[key] = detectable(new_images_se(s**2 / n, b or 0.0), df, used.critical(df))
    out["verdict"] = _word(verdict_new, verdict_test, common["baseline"], margin)
    return Comparison(**out)


def _tost(mean: float, se: float, df: float, margin: float, family: Family) -> float:
    """The adjusted TOST p: each one-sided test adjusted over the family, the larger."""
    lower = family.p((mean + margin) / se, df, two_sided=False)  # H0: mean <= -margin
    upper = family.p((margin - mean) / se, df, two_sided=False)  # H0: mean >= +margin
    return max(lower, upper)


def outcome(verdict: object) -> str:
    """What a verdict text (of the templates above) says, as one word: worse, better,
    equivalent (also "on this test set"), baseline, inconclusive, or untested (too few seeds,
    no spread, not trained, or no text at all)."""
    text = verdict if isinstance(verdict, str) else ""
    for word, template in (("worse", WORSE), ("better", BETTER), ("equivalent", EQUIVALENT)):
        if text.startswith(template.split("{", 1)[0]):
            return word
    if text == BASELINE:
        return "baseline"
    return "inconclusive" if text == INCONCLUSIVE else "untested"


def _verdict(p: float, p_equivalence: float, mean: float, alpha: float) -> str | None:
    if p < alpha:
        return "worse" if mean < 0 else "better"
    if p_equivalence < alpha:
        return "equivalent"
    return None


def _word(new: str | None, test: str | None, baseline: str, margin: float) -> str:
    templates = {"worse": WORSE, "better": BETTER, "equivalent": EQUIVALENT}
    for outcome, suffix in ((new, ""), (test, ON_THIS_TEST_SET)):
        if outcome in ("worse", "better"):
            return templates[outcome].format(baseline=baseline, margin=margin) + suffix
    for outcome, suffix in ((new, ""), (test, ON_THIS_TEST_SET)):
        if outcome == "equivalent":
            return templates[outcome].format(baseline=baseline, margin=margin) + suffix
    return INCONCLUSIVE
