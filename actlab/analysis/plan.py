"""The analysis plan: what a comparison was decided to be before its models trained, and how
many fresh seeds a confirmation needs.

``records.plan`` is what every model records when it trains (its ``record.json`` and an MLflow
tag on its configuration's run): the baseline, the margin, delta, alpha, the power, the family,
the budgets, the stopping rule and the confirmatory seeds. A comparison is **confirmatory**
only on the confirmatory seeds (``analysis.confirm_seeds``, fresh seeds a pilot's plan chose)
and only when every model it compares recorded the plan the comparison is made under; every
other comparison is **exploratory**.

``seeds_needed`` sizes a confirmation from a pilot (``python -m actlab.tools.plan``): per
comparison, the seeds that give ``power`` to detect a difference of ``delta`` and to show
equivalence within the margin when the true difference is 0, at the family-wise ``alpha``
(Bonferroni over the architecture's comparisons, as the analysis on new images is adjusted).
The pilot's seed standard deviation is replaced by its one-sided 80 % upper confidence bound
(Browne 1995, "On the use of a pilot sample for sample size determination", Statistics in
Medicine 14:1933): with 2 degrees of freedom the sample SD itself is as likely too small as
not, and a plan sized on it is underpowered half the time. The test images' share of the
variance does not shrink with more seeds: where it alone leaves too little power, no number of
seeds is enough (more test images would be).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from actlab.analysis import compare
from actlab.errors import ConfigError

CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"
SD_BOUND = 0.8  # the one-sided upper confidence bound of the pilot's SD that plans use


def label(current: Mapping[str, Any], plans: Iterable[Mapping[str, Any] | None]) -> str:
    """Confirmatory when the comparison has confirmatory seeds and every model it compares
    recorded ``current`` as its plan; else exploratory."""
    plans = list(plans)
    if not current["confirm_seeds"] or not plans:
        return EXPLORATORY
    return (
        CONFIRMATORY
        if all(p is not None and dict(p) == dict(current) for p in plans)
        else EXPLORATORY
    )


def sd_upper(sd: float, df: float, bound: float = SD_BOUND) -> float:
    """The one-sided ``bound`` upper confidence limit of a standard deviation."""
    return sd * math.sqrt(df / sps.chi2.ppf(1 - bound, df))


LIMIT = 5000  # seeds: past this a comparison counts as out of reach (the test images' floor)


@dataclass(frozen=True)
class Need:
    """Seeds per configuration for one comparison: to detect ``delta``, to show equivalence,
    to decide it (the larger); None where no number of seeds up to ``LIMIT`` is enough (the
    test images' share of the variance alone leaves too little power)."""

    difference: int | None
    equivalence: int | None

    @property
    def decide(self) -> int | None:
        if self.difference is None or self.equivalence is None:
            return None
        return max(self.difference, self.equivalence)


def _power_difference(delta: float, sd: float, image: float, n: int, m: int, alpha: float) -> float:
    """The adjusted t-test's power on new images (the procedure's df: n - 1)."""
    se, df = compare.new_images_se(sd**2 / n, image), n - 1
    c = sps.t.ppf(1 - alpha / (2 * m), df)
    return compare._power(delta, se, df, c)


_NORMAL = np.random.default_rng(0).standard_normal(20000)  # the planning simulation's draws


def _power_equivalence(
    margin: float, sd: float, image: float, n: int, m: int, alpha: float
) -> float:
    """TOST's power on new images when the true difference is 0, the seed variance estimated
    (n - 1 df) as the procedure estimates it: by simulation, 20 000 fixed draws."""
    df = n - 1
    chi = np.random.default_rng(n).chisquare(df, len(_NORMAL)) / df
    seed_variance = sd**2 / n
    estimated = np.sqrt(seed_variance * chi + image)  # the standard error the test computes
    mean = _NORMAL * compare.new_images_se(seed_variance, image)
    c = sps.t.ppf(1 - alpha / m, df)
    return float(np.mean(np.abs(mean) + c * estimated < margin))


def seeds_needed(
    sd: float,
    image_se: float,
    *,
    delta: float,
    margin: float,
    m: int,
    alpha: float,
    power: float,
) -> Need:
    """The seeds one comparison needs (``sd``: the planning SD of its per-seed differences,
    already bounded; ``image_se``: the test images' share of the mean's standard error):
    the smallest n whose power reaches ``power`` (power grows with n: doubling, then
    bisection)."""
    image = image_se**2

    def smallest(power_at) -> int | None:
        if power_at(LIMIT) < power:
            return None
        low, high = 1, 2  # power_at(low) < power <= power_at(high), once doubled into place
        while power_at(high) < power:
            low, high = high, min(2 * high, LIMIT)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if power_at(middle) < power else (low, middle)
        return high

    return Need(
        smallest(lambda n: _power_difference(delta, sd, image, n, m, alpha)),
        smallest(lambda n: _power_equivalence(margin, sd, image, n, m, alpha)),
    )


def fresh_seeds(pilot: Iterable[int], count: int) -> list[int]:
    """``count`` seeds none of the pilot's: the next integers above its largest."""
    start = max(pilot, default=-1) + 1
    return list(range(start, start + count))


def check(cfg: Any) -> None:
    """What a plan needs of params.yaml beyond each key's own range (``check_params`` runs it):
    with a grid of learning rates the rates are chosen on the seeds that are not
    confirmatory, so there must be one."""
    a, m = cfg.analysis, cfg.models
    if len(cfg.train.lr) > 1 and a.confirm_seeds and set(m.seeds) <= set(a.confirm_seeds):
        raise ConfigError(
            f"analysis.confirm_seeds: {list(a.confirm_seeds)} leaves no seed of models.seeds "
            f"{list(m.seeds)} to choose the learning rates on (train.lr is a grid); keep the "
            "pilot's seeds in models.seeds"
        )
