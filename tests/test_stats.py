"""The statistics module against values computed by hand.

For df = 2 the Student t distribution has closed forms: the two-sided p of t is
1 - t / sqrt(2 + t^2) (one-sided: 1/2 - t / (2 sqrt(2 + t^2))), and the q quantile is
(2q - 1) sqrt(2 / (4 q (1 - q))). For df = 1 (Cauchy) the two-sided p is 1 - (2/pi) atan|t|.
Everything else is checked against scipy's distributions, used independently of the module.
"""

import math

import numpy as np
import pytest
from scipy import stats as sp

from actlab.analysis import stats


def quantile_df2(q):
    return (2 * q - 1) * math.sqrt(2 / (4 * q * (1 - q)))


def two_sided_p_df2(t):
    return 1 - abs(t) / math.sqrt(2 + t * t)


def sf_df2(t):  # P(T > t), any sign of t
    return 0.5 - t / (2 * math.sqrt(2 + t * t))


T975_DF2 = quantile_df2(0.975)  # 4.3027


def test_closed_forms_are_the_t_distribution():
    """The hand formulas of this file, once, against scipy: the tests below rely on them."""
    assert T975_DF2 == pytest.approx(sp.t.ppf(0.975, 2), rel=1e-12)
    assert quantile_df2(0.99375) == pytest.approx(sp.t.ppf(0.99375, 2), rel=1e-12)
    assert two_sided_p_df2(math.sqrt(7)) == pytest.approx(2 * sp.t.sf(math.sqrt(7), 2))
    assert sf_df2(-1.3) == pytest.approx(sp.t.sf(-1.3, 2))


def test_describe_mean_std_and_t_interval():
    s = stats.describe([1.0, 2.0, 3.0])
    assert (s.n, s.mean, s.std) == (3, 2.0, 1.0)
    half = T975_DF2 * 1.0 / math.sqrt(3)  # 2.48414
    assert s.ci_low == pytest.approx(2 - half, rel=1e-12)
    assert s.ci_high == pytest.approx(2 + half, rel=1e-12)


def test_one_value_has_no_spread_and_no_interval():
    assert stats.describe([88.1]) == stats.Summary(1, 88.1, None, None, None)
    with pytest.raises(ValueError):
        stats.describe([])


def test_prediction_interval_for_one_new_run():
    # mean 2, s 1, n 3: 2 ± t_{0.975,2} sqrt(1 + 1/3), wider than the interval of the mean
    low, high = stats.prediction_interval([1.0, 2.0, 3.0])
    half = T975_DF2 * math.sqrt(4 / 3)  # 4.9683
    assert (low, high) == pytest.approx((2 - half, 2 + half), rel=1e-12)
    low, high = stats.prediction_interval([1.0, 2.0, 3.0], confidence=0.8)
    assert high - 2 == pytest.approx(quantile_df2(0.9) * math.sqrt(4 / 3), rel=1e-12)
    values = [88.7, 88.59, 87.52, 88.1, 88.3]
    low, high = stats.prediction_interval(values)
    v = np.asarray(values)
    expected = sp.t.ppf(0.975, 4) * v.std(ddof=1) * math.sqrt(1 + 1 / 5)
    assert (low, high) == pytest.approx((v.mean() - expected, v.mean() + expected), rel=1e-12)
    assert stats.prediction_interval([88.1]) is None
    assert stats.prediction_interval([10.0, 10.0]) == (10.0, 10.0)


def test_trained_threshold_is_a_tenth_of_the_way_from_chance():
    assert stats.TRAINED_FRACTION == 0.1
    assert stats.trained_threshold(10.0) == pytest.approx(19.0)  # ten classes
    assert stats.trained_threshold(50.0) == pytest.approx(55.0)  # two classes
    assert stats.count_trained([19.0, 18.99, 88.0, 10.0], 10.0) == 2
    assert stats.count_trained([54.0, 56.0], 50.0) == 1
    assert stats.count_trained([], 10.0) == 0


def test_an_interval_only_where_seeds_are_neither_mixed_nor_identical():
    assert stats.supports_interval([88.7, 88.59, 87.52], 10.0)
    assert stats.supports_interval([10.0, 10.3, 9.9], 10.0)  # all at chance: one population
    assert not stats.supports_interval([10.0, 10.0, 79.3], 10.0)  # mixed: [-66, 132] as a t CI
    assert not stats.supports_interval([10.0, 10.0, 10.0], 10.0)  # identical: zero width
    assert not stats.supports_interval([88.1], 10.0)


def test_paired_difference_interval_and_p_value():
    # d = [1, 2, 4]: mean 7/3, std sqrt(7/3), t = mean / (std / sqrt 3) = sqrt(7)
    p = stats.paired([1.0, 2.0, 4.0], [0.0, 0.0, 0.0])
    assert p.n == 3 and p.mean_difference == pytest.approx(7 / 3)
    t = math.sqrt(7)
    assert p.p_value == pytest.approx(two_sided_p_df2(t), rel=1e-9)  # 0.1180
    half = T975_DF2 * math.sqrt(7 / 3) / math.sqrt(3)
    assert (p.ci_low, p.ci_high) == pytest.approx((7 / 3 - half, 7 / 3 + half), rel=1e-9)


def test_paired_interval_at_an_adjusted_level():
    # Bonferroni over 4 comparisons: level 1 - 0.05/4, quantile 1 - 0.05/8
    p = stats.paired([1.0, 2.0, 4.0], [0.0, 0.0, 0.0], confidence=1 - 0.05 / 4)
    half = quantile_df2(1 - 0.05 / 8) * math.sqrt(7 / 3) / math.sqrt(3)
    assert (p.ci_low, p.ci_high) == pytest.approx((7 / 3 - half, 7 / 3 + half), rel=1e-9)
    assert p.p_value == pytest.approx(two_sided_p_df2(math.sqrt(7)), rel=1e-9)  # unchanged


def test_paired_pairs_by_position_not_by_pooling():
    """A constant offset with large seed-to-seed spread is still a clear paired difference."""
    best = [80.0, 90.0, 85.0]
    p = stats.paired([b - 1.0 for b in best], best)
    assert p.mean_difference == pytest.approx(-1.0) and p.p_value == 0.0
    assert (p.ci_low, p.ci_high) == pytest.approx((-1.0, -1.0))  # identical differences: exact
    assert stats.paired(best, best).p_value == 1.0
    # equal on paper, not in the last bits (88.7 - 88.59 != 87.7 - 87.59): still identical
    p = stats.paired([88.7, 87.7, 86.7], [88.59, 87.59, 86.59])
    assert p.p_value == 0.0 and p.ci_low == p.ci_high == pytest.approx(0.11)
    assert stats.describe([0.1 + 0.2, 0.3, 0.3]).std == 0.0


def test_paired_with_one_seed_has_no_test():
    assert stats.paired([1.0], [2.0]) == stats.Paired(1, -1.0, None, None, None)


def test_bonferroni_by_hand():
    assert stats.bonferroni([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.12, 0.09])
    assert stats.bonferroni([0.01, None, 0.4]) == [pytest.approx(0.02), None, pytest.approx(0.8)]
    assert stats.bonferroni([0.3, 0.6]) == pytest.approx([0.6, 1.0])  # capped at 1
    assert stats.bonferroni([None]) == [None] and stats.bonferroni([]) == []


def power_by_scipy(difference, sd, n, alpha):
    df = n - 1
    crit = sp.t.ppf(1 - alpha / 2, df)
    nc = difference * math.sqrt(n) / sd
    lower = sp.nct.cdf(-crit, df, nc)  # far in the lower tail scipy can answer nan for ~0
    assert np.isnan(lower) or lower < 1e-3
    return sp.nct.sf(crit, df, nc) + (0.0 if np.isnan(lower) else lower)


@pytest.mark.parametrize(
    ("sd", "n", "alpha"), [(1.0, 3, 0.05), (0.37, 3, 0.0125), (2.5, 5, 0.05), (1.0, 30, 0.01)]
)
def test_minimum_detectable_difference_has_the_stated_power(sd, n, alpha):
    mdd = stats.minimum_detectable_difference(sd, n, alpha)
    assert power_by_scipy(mdd, sd, n, alpha) == pytest.approx(0.8, abs=1e-9)
    assert power_by_scipy(0.98 * mdd, sd, n, alpha) < 0.8  # and it is the smallest such
    mdd90 = stats.minimum_detectable_difference(sd, n, alpha, power=0.9)
    assert power_by_scipy(mdd90, sd, n, alpha) == pytest.approx(0.9, abs=1e-9)


def test_minimum_detectable_difference_known_values():
    """n = 3, alpha 0.05: 3.264 standard deviations (noncentrality 5.653), where the normal
    approximation says 1.617: three seeds detect only large differences."""
    assert stats.minimum_detectable_difference(1.0, 3, 0.05) == pytest.approx(3.26404, abs=1e-4)
    assert stats.minimum_detectable_difference(2.0, 3, 0.05) == pytest.approx(2 * 3.26404, 1e-4)
    # large n: the normal approximation (z_{1-alpha/2} + z_power) sd / sqrt(n)
    for alpha in (0.05, 0.0125):
        normal = (sp.norm.ppf(1 - alpha / 2) + sp.norm.ppf(0.8)) * 1.3 / math.sqrt(5000)
        exact = stats.minimum_detectable_difference(1.3, 5000, alpha)
        assert exact == pytest.approx(normal, rel=2e-3) and exact > normal


def test_minimum_detectable_difference_degenerate():
    assert stats.minimum_detectable_difference(1.0, 1) is None
    assert stats.minimum_detectable_difference(0.0, 3) == 0.0
    with pytest.raises(ValueError):
        stats.minimum_detectable_difference(1.0, 3, alpha=0.9)


def test_tost_by_hand_df2():
    # d = [0, 0.5, 1]: mean 0.5, sd 0.5, se 0.5/sqrt 3
    se = 0.5 / math.sqrt(3)
    r = stats.tost([0.0, 0.5, 1.0], margin=1.5, alpha=0.05)
    assert r.p_lower == pytest.approx(sf_df2((0.5 + 1.5) / se), rel=1e-9)  # t = 4 sqrt 3
    assert r.p_upper == pytest.approx(1 - sf_df2((0.5 - 1.5) / se), rel=1e-9)  # t = -2 sqrt 3
    assert r.p == pytest.approx(0.0370, abs=1e-4) and r.p == r.p_upper and r.equivalent
    half = quantile_df2(0.95) * se  # the 90 % interval: 0.5 ± 0.843
    assert (r.ci_low, r.ci_high) == pytest.approx((0.5 - half, 0.5 + half), rel=1e-9)
    r = stats.tost([0.0, 0.5, 1.0], margin=1.0, alpha=0.05)  # t_upper = -sqrt 3: p 0.113
    assert r.p == pytest.approx(1 - sf_df2(-math.sqrt(3)), rel=1e-9) and not r.equivalent
    assert r.ci_high > 1.0  # the 90 % interval reaches beyond the margin


def test_tost_p_below_alpha_exactly_when_the_interval_is_inside_the_margin():
    rng = np.random.default_rng(3)
    outcomes = set()
    for _ in range(300):
        n = int(rng.integers(2, 7))
        d = rng.normal(rng.uniform(-1, 1), rng.uniform(0.05, 1.0), n)
        margin, alpha = float(rng.uniform(0.2, 1.5)), float(rng.choice([0.05, 0.0125]))
        r = stats.tost(d.tolist(), margin, alpha)
        inside = -margin < r.ci_low and r.ci_high < margin
        assert r.equivalent == inside == (r.p < alpha)
        outcomes.add(inside)
    assert outcomes == {True, False}  # both sides were exercised


def test_tost_degenerate():
    r = stats.tost([0.2, 0.2, 0.2], margin=0.5)  # identical differences inside the margin
    assert (r.p_lower, r.p_upper, r.p, r.equivalent) == (0.0, 0.0, 0.0, True)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.2, 0.2))
    r = stats.tost([-0.7, -0.7], margin=0.5)  # identical, outside
    assert (r.p_lower, r.p_upper, r.p, r.equivalent) == (1.0, 0.0, 1.0, False)
    assert stats.tost([0.5, 0.5], margin=0.5).p == 1.0  # on the margin is not inside it
    r = stats.tost([0.1], margin=0.5)  # one seed: no test
    assert r.p is None and not r.equivalent and r.mean_difference == pytest.approx(0.1)
    with pytest.raises(ValueError):
        stats.tost([0.1, 0.2], margin=0.0)


# relu at exactly representable values, the others relu + known differences
RELU = {42: 88.0, 43: 88.5, 44: 88.25}


def shifted(differences):
    return {s: RELU[s] + d for s, d in zip(RELU, differences, strict=True)}


def test_compare_to_baseline_by_hand():
    by_activation = {
        "relu": RELU,
        "tanh": shifted([-1.0, -2.0, -4.0]),  # t = -sqrt 7: p 0.118, inconclusive
        "elu": shifted([-0.25, 0.25, 0.0]),  # mean 0, sd 0.25: equivalent within ±1
        "sigmoid": {42: 10.0, 43: 10.0, 44: 10.0},  # at chance: no test, not in m
        "swish": shifted([-10.0, -11.0, -12.0]),  # t = -11 sqrt 3
        "leakyrelu": shifted([2.0, 2.5, 2.25]),  # t = 9 sqrt 3
    }
    result = stats.compare_to_baseline(by_activation, "relu", margin=1.0, chance=10.0)
    assert list(result) == list(by_activation)
    m, level = 4, 0.05 / 4

    relu = result["relu"]
    assert relu.verdict == stats.BASELINE and relu.p_value is None and relu.mean_difference is None
    assert (relu.seeds, relu.trained, relu.n) == (3, 3, 3)

    tanh = result["tanh"]
    p = two_sided_p_df2(math.sqrt(7))
    assert tanh.p_value == pytest.approx(p, rel=1e-9) and tanh.p_adjusted == pytest.approx(m * p)
    assert tanh.mean_difference == pytest.approx(-7 / 3) and tanh.confidence == 1 - level
    half = quantile_df2(1 - level / 2) * math.sqrt(7 / 3) / math.sqrt(3)
    assert (tanh.ci_low, tanh.ci_high) == pytest.approx((-7 / 3 - half, -7 / 3 + half))
    assert tanh.mdd == pytest.approx(
        stats.minimum_detectable_difference(math.sqrt(7 / 3), 3, level)
    )
    assert power_by_scipy(tanh.mdd, math.sqrt(7 / 3), 3, level) == pytest.approx(0.8)
    assert tanh.verdict == stats.INCONCLUSIVE

    elu = result["elu"]  # t of each one-sided test: ±1 / (0.25 / sqrt 3) = ±4 sqrt 3
    assert elu.p_equivalence == pytest.approx(m * sf_df2(4 * math.sqrt(3)), rel=1e-9)  # 0.0404
    assert elu.p_adjusted == pytest.approx(1.0) and elu.verdict == "equivalent to relu (±1)"
    # the unadjusted TOST (0.0101) would also pass; with margin 0.5 the adjusted one does not
    narrow = stats.compare_to_baseline(by_activation, "relu", margin=0.5, chance=10.0)
    assert narrow["elu"].p_equivalence == pytest.approx(m * sf_df2(2 * math.sqrt(3)))  # 0.148
    assert narrow["elu"].verdict == stats.INCONCLUSIVE

    assert result["sigmoid"].verdict == "did not train (0/3)"
    assert result["sigmoid"].p_value is None and result["sigmoid"].trained == 0

    swish = result["swish"]
    p = two_sided_p_df2(11 * math.sqrt(3))
    assert swish.p_adjusted == pytest.approx(m * p, rel=1e-9) and swish.verdict == "worse than relu"
    assert swish.ci_high < 0
    leaky = result["leakyrelu"]
    assert leaky.p_adjusted == pytest.approx(m * two_sided_p_df2(9 * math.sqrt(3)), rel=1e-9)
    assert leaky.verdict == "better than relu" and leaky.ci_low > 0


def test_adjusted_interval_excludes_zero_exactly_when_the_adjusted_p_is_below_alpha():
    rng = np.random.default_rng(7)
    raw_only = 0  # comparisons significant before adjustment and not after
    for _ in range(60):
        seeds = range(int(rng.integers(2, 6)))
        base = {s: float(rng.normal(88, 1)) for s in seeds}
        by_activation = {"relu": base} | {
            f"a{i}": {s: base[s] + float(rng.normal(rng.uniform(-2, 2), 0.7)) for s in seeds}
            for i in range(int(rng.integers(1, 6)))
        }
        result = stats.compare_to_baseline(by_activation, "relu", margin=0.5, chance=10.0)
        tested = [c for c in result.values() if c.p_value is not None]
        adjusted = stats.bonferroni([c.p_value for c in tested])
        for c, p in zip(tested, adjusted, strict=True):
            assert c.p_adjusted == pytest.approx(p)
            assert (c.ci_low > 0 or c.ci_high < 0) == (c.p_adjusted < 0.05)
            raw_only += c.p_value < 0.05 <= c.p_adjusted
    assert raw_only > 0  # unadjusted intervals would have failed the check above


def test_seeds_that_did_not_train_are_not_tested():
    by_activation = {
        "relu": RELU,
        "tanh": {42: 87.0, 43: 10.0, 44: 10.0},  # one seed trained
        "elu": {42: 87.0, 43: 86.5, 44: 10.2},
    }
    result = stats.compare_to_baseline(by_activation, "relu", margin=0.5, chance=10.0)
    assert result["tanh"].verdict == "1/3 seeds trained" and result["tanh"].trained == 1
    assert result["elu"].verdict == "2/3 seeds trained"
    assert all(result[a].p_value is None and result[a].ci_low is None for a in ("tanh", "elu"))


def test_a_baseline_with_seeds_that_did_not_train_tests_nothing():
    by_activation = {
        "relu": {42: 88.0, 43: 10.0, 44: 88.5},
        "tanh": {42: 87.0, 43: 87.5, 44: 86.0},
        "sigmoid": {42: 10.0, 43: 10.1, 44: 10.0},
    }
    result = stats.compare_to_baseline(by_activation, "relu", margin=0.5, chance=10.0)
    assert result["relu"].verdict == stats.BASELINE and result["relu"].trained == 2
    assert result["tanh"].verdict == "baseline: 2/3 seeds trained"
    assert result["tanh"].p_value is None and result["tanh"].mdd is None
    assert result["sigmoid"].verdict == "did not train (0/3)"  # its own shortfall first
    dead = {"relu": {42: 10.0, 43: 10.0}, "tanh": {42: 87.0, 43: 86.0}}
    verdict = stats.compare_to_baseline(dead, "relu", margin=0.5, chance=10.0)["tanh"].verdict
    assert verdict == "baseline: did not train (0/2)"


def test_a_baseline_missing_seeds_is_paired_on_the_seeds_both_have():
    by_activation = {"relu": {42: 88.0, 43: 88.5}, "tanh": {42: 87.0, 43: 86.5, 44: 88.0}}
    tanh = stats.compare_to_baseline(by_activation, "relu", margin=0.5, chance=10.0)["tanh"]
    # d = [-1, -2]: mean -1.5, sd sqrt(0.5), t = -1.5 / 0.5 = -3, df 1: p = 1 - (2/pi) atan 3
    assert (tanh.seeds, tanh.n) == (3, 2)
    assert tanh.p_value == pytest.approx(1 - 2 / math.pi * math.atan(3), rel=1e-9)  # 0.205
    assert tanh.p_adjusted == tanh.p_value  # one comparison
    half = math.tan(math.pi / 2 * 0.95) * 0.5  # Cauchy 97.5 % quantile x se
    assert (tanh.ci_low, tanh.ci_high) == pytest.approx((-1.5 - half, -1.5 + half))
    one = {"relu": {42: 88.0}, "tanh": {42: 87.0, 43: 86.5}}
    tanh = stats.compare_to_baseline(one, "relu", margin=0.5, chance=10.0)["tanh"]
    assert tanh.verdict == stats.TOO_FEW and tanh.p_value is None and tanh.n == 1


def test_one_seed_cannot_tell():
    result = stats.compare_to_baseline(
        {"relu": {42: 88.0}, "tanh": {42: 87.0}}, "relu", margin=0.5, chance=10.0
    )
    assert [c.verdict for c in result.values()] == [stats.BASELINE, stats.TOO_FEW]
    assert result["tanh"].p_adjusted is None and result["tanh"].ci_low is None


def test_identical_differences():
    """sd 0: the exact interval [d, d], p 0 (d != 0) or 1 (d == 0), mdd 0, TOST p 0 or 1."""
    by_activation = {"relu": RELU, "tanh": shifted([-1.0] * 3), "elu": dict(RELU)}
    result = stats.compare_to_baseline(by_activation, "relu", margin=0.5, chance=10.0)
    tanh, elu = result["tanh"], result["elu"]
    assert (tanh.ci_low, tanh.ci_high) == pytest.approx((-1.0, -1.0))
    assert (tanh.p_value, tanh.p_adjusted, tanh.mdd, tanh.p_equivalence) == (0.0, 0.0, 0.0, 1.0)
    assert tanh.verdict == "worse than relu"
    assert (elu.p_value, elu.p_adjusted, elu.p_equivalence) == (1.0, 1.0, 0.0)
    assert elu.verdict == "equivalent to relu (±0.5)"


def test_a_missing_baseline_names_what_there_is():
    with pytest.raises(ValueError, match=r"'relu'.*tanh, elu"):
        stats.compare_to_baseline(
            {"tanh": {42: 87.0}, "elu": {42: 86.0}}, "relu", margin=0.5, chance=10.0
        )
