"""The winner's-curse check of a learning-rate grid: chosen on the pilot, scored on fresh seeds."""

import math

import pandas as pd
import pytest
import yaml

from actlab.tools import rate_check
from tests.helpers.params import reference_params

PILOT, FRESH = [42, 43], [45, 46]


def grid(values):
    """values: (activation, lr) -> per seed of PILOT + FRESH, (best val acc, test acc)."""
    rows = []
    for (activation, lr), per_seed in values.items():
        for seed, (val, test) in zip(PILOT + FRESH, per_seed, strict=True):
            rows.append(
                {
                    "model": f"{activation}-base-lr{lr}-{seed}",
                    "activation": activation,
                    "architecture": "base",
                    "lr": lr,
                    "seed": seed,
                    "best_val_acc": val,
                    "diverged_at_epoch": math.nan,
                    "test_acc": test,
                }
            )
    return pd.DataFrame(rows)


MODELS = grid(
    {
        # the pilot prefers 0.1 (90 against 89 on validation), the fresh seeds 0.01
        ("elu", 0.01): [(89, 88.0), (89, 88.2), (89.5, 88.4), (89.5, 88.6)],
        ("elu", 0.1): [(90, 89.0), (90, 89.4), (88, 87.0), (88, 87.4)],
        ("relu", 0.01): [(89, 88.5), (89, 88.5), (89, 88.7), (89, 88.9)],
        ("relu", 0.1): [(88, 87.5), (88, 87.5), (88, 87.7), (88, 87.9)],
    }
)


def test_the_pilots_rate_is_scored_on_the_fresh_seeds():
    table = rate_check.check(MODELS, FRESH, chance=10.0).set_index("activation")
    elu = table.loc["elu"]
    assert elu["chosen lr (pilot)"] == "0.1"
    assert elu["test acc %, pilot (2 seeds)"] == "89.20"  # mean of 89.0 and 89.4
    assert elu["test acc %, fresh (2 seeds)"] == "87.20"  # mean of 87.0 and 87.4
    assert elu["fresh - pilot"] == "-2.00"
    assert elu["fresh seeds would choose"] == "0.01"
    relu = table.loc["relu"]
    assert (relu["chosen lr (pilot)"], relu["fresh seeds would choose"]) == ("0.01", "0.01")
    assert relu["fresh - pilot"] == "+0.30"


def test_a_diverged_pilot_seed_counts_against_its_rate():
    models = MODELS.copy()
    # elu at 0.1 diverges on seed 43: its validation number counts as chance, so the pilot
    # chooses 0.01 (a diverged seed is a failure of the rate, never a missing value)
    hit = (models["activation"] == "elu") & (models["lr"] == 0.1) & (models["seed"] == 43)
    models.loc[hit, "diverged_at_epoch"] = 7
    table = rate_check.check(models, FRESH, chance=10.0).set_index("activation")
    assert table.loc["elu", "chosen lr (pilot)"] == "0.01"


@pytest.mark.parametrize(
    ("models", "fresh", "message"),
    [
        (MODELS[MODELS["lr"] == 0.01], FRESH, r"one learning rate \(0\.01\)"),
        (MODELS, [45, 47], "fresh seed 47 is not in the table"),
        (MODELS, PILOT + FRESH, "no pilot seed"),
    ],
)
def test_errors_name_what_is_wrong(models, fresh, message):
    with pytest.raises(rate_check.DataError, match=message):
        rate_check.check(models, fresh, chance=10.0)


def test_the_tool_writes_the_table_and_needs_fresh_seeds(tmp_path, capsys):
    path = tmp_path / "models.csv"
    MODELS.to_csv(path, index=False)
    out = tmp_path / "check.md"
    assert rate_check.main([str(path), "--fresh", "45", "46", "--out", str(out)]) == 0
    assert out.read_text().startswith("| activation") and "-2.00" in out.read_text()
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            reference_params(analysis__confirm_seeds=[45, 46], models__seeds=[42, 43, 45, 46])
        )
    )
    assert rate_check.main([str(path), "--params", str(params), "--out", str(out)]) == 0
    assert "-2.00" in out.read_text()  # the fresh seeds from analysis.confirm_seeds
    params.write_text(yaml.safe_dump(reference_params()))
    assert rate_check.main([str(path), "--params", str(params)]) == 2
    assert "no fresh seeds" in capsys.readouterr().err
