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
