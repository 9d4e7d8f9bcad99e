"""The statistics module against values computed by hand.

For df = 2 the Student t distribution has closed forms: the two-sided p of t is
1 - t / sqrt(2 + t^2), and the q quantile is (2q - 1) sqrt(2 / (4 q (1 - q))).
"""

import math

import pytest

from actlab.analysis import stats

T975_DF2 = 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025))  # 4.3027


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


def test_paired_difference_interval_and_p_value():
    # d = [1, 2, 4]: mean 7/3, std sqrt(7/3), t = mean / (std / sqrt 3) = sqrt(7)
    p = stats.paired([1.0, 2.0, 4.0], [0.0, 0.0, 0.0])
    assert p.n == 3 and p.mean_difference == pytest.approx(7 / 3)
    t = math.sqrt(7)
    assert p.p_value == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-9)  # 0.1180
    half = T975_DF2 * math.sqrt(7 / 3) / math.sqrt(3)
    assert (p.ci_low, p.ci_high) == pytest.approx((7 / 3 - half, 7 / 3 + half), rel=1e-9)


def test_paired_pairs_by_position_not_by_pooling():
    """A constant offset with large seed-to-seed spread is still a clear paired difference."""
    best = [80.0, 90.0, 85.0]
    p = stats.paired([b - 1.0 for b in best], best)
    assert p.mean_difference == pytest.approx(-1.0) and p.p_value == 0.0
    assert stats.paired(best, best).p_value == 1.0


def test_paired_with_one_seed_has_no_test():
    assert stats.paired([1.0], [2.0]) == stats.Paired(1, -1.0, None, None, None)


def test_holm_adjustment_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]
    assert stats.holm([0.2, 0.01]) == pytest.approx([0.2, 0.02])


def test_compare_to_best_verdicts():
    by_activation = {
        "relu": {42: 88.0, 43: 88.4, 44: 88.2},
        "tanh": {42: 87.9, 43: 88.5, 44: 88.0},  # within the noise of relu
        "sigmoid": {42: 10.0, 43: 10.5, 44: 10.2},  # far below, consistently
    }
    result = {c.activation: c for c in stats.compare_to_best(by_activation)}
    assert result["relu"].verdict == stats.BEST and result["relu"].paired is None
    assert result["tanh"].best == "relu" and result["tanh"].verdict == stats.SAME
    assert result["sigmoid"].verdict == stats.WORSE
    # the Holm family is the two comparisons
    raw = [result[a].paired.p_value for a in ("tanh", "sigmoid")]
    assert [result[a].p_holm for a in ("tanh", "sigmoid")] == pytest.approx(stats.holm(raw))
    assert list(result) == ["relu", "tanh", "sigmoid"]


def test_compare_with_one_seed_cannot_tell():
    result = stats.compare_to_best({"relu": {42: 88.0}, "tanh": {42: 87.0}})
    assert [c.verdict for c in result] == [stats.BEST, stats.TOO_FEW]
    assert result[1].p_holm is None and result[1].paired.ci_low is None
