"""Fresh MNIST-1D test sets pooled into one: the pipeline's verdicts on a larger test set."""

import numpy as np
import pytest

from actlab import config
from actlab.analysis import compare, stats
from actlab.errors import ConfigError
from actlab.tools import fresh_test
from tests.helpers.params import reference_params

SEEDS = [1, 2, 3, 4, 5, 6]


def fresh_sets(better_by: float, sets: int = 3, images: int = 1000) -> list[dict]:
    """Per fresh set, each model's correct images: the candidate right on ``better_by`` more of
    them than the baseline, each seed a little apart."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(sets):
        hard = rng.random(images)  # one difficulty per image, shared by the models
        per_set = {}
        for seed in SEEDS:
            for activation, skill in (("relu", 0.70), ("tanh", 0.70 + better_by)):
                per_set[f"{activation}-base-{seed}"] = hard < skill + 0.004 * rng.standard_normal()
        out.append(per_set)
    return out


def cfg(confirm: list[int] | None = None, lr: float | list[float] = 0.01) -> config.Config:
    params = reference_params(models__activations=["relu", "tanh"], models__seeds=SEEDS)
    params["models"]["architectures"] = ["base"]
    params["analysis"]["confirm_seeds"] = confirm or []
    params["train"]["lr"] = lr
    return config.parse(params)


def test_pooled_sets_are_one_larger_test_set_for_the_pipelines_comparison():
    fresh = fresh_sets(better_by=0.02)
    table = fresh_test.pooled_verdicts(cfg(), fresh, classes=10)
    assert list(table["comparison"]) == ["tanh-base vs relu"]
    row = table.iloc[0]
    assert row["seeds"] == "6" and "[adj. CI], these 3000 sequences" in table.columns
    # the same numbers as the comparison made directly on the concatenated predictions
    hits = {
        a: {s: np.concatenate([f[f"{a}-base-{s}"] for f in fresh]) for s in SEEDS}
        for a in ("relu", "tanh")
    }
    direct = compare.compare_to_baseline(
        {a: {s: 100.0 * h.mean() for s, h in v.items()} for a, v in hits.items()},
        "relu",
        margin=cfg().analysis.equivalence_margin,
        chance=stats.chance(10),
        correct=hits,
    )["tanh"]
    assert row["[adj. CI], new images"] == (
        f"{direct.mean_difference:+.2f} [{direct.ci_low_new:+.2f}, {direct.ci_high_new:+.2f}]"
    )
    assert 1.5 < direct.mean_difference < 2.5 and row["verdict"] == "better than relu"


def test_no_difference_is_not_called_one():
    row = fresh_test.pooled_verdicts(cfg(), fresh_sets(better_by=0.0), classes=10).iloc[0]
    assert not row["verdict"].startswith(("better", "worse"))
    low, high = row["[adj. CI], new images"].split("[")[1].rstrip("]").split(", ")
    assert float(low) < 0 < float(high)


def test_with_confirmatory_seeds_only_those_are_compared():
    fresh = fresh_sets(better_by=0.02)
    assert fresh_test.pooled_verdicts(cfg(confirm=[3, 4, 5, 6]), fresh, 10).iloc[0]["seeds"] == "4"


def test_a_grid_of_rates_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"train.lr: a grid \[0.01, 0.1\]; --verdicts compares"):
        fresh_test.pooled_verdicts(cfg(lr=[0.01, 0.1]), fresh_sets(better_by=0.0), 10)
