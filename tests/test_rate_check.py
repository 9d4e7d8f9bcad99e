"""The winner's-curse check of a learning-rate grid: chosen on the pilot, scored on fresh seeds."""

import math

import pandas as pd
import pytest
import yaml

from actlab.tools import rate_check
from tests.helpers.params import reference_params

PILOT, FRESH = [42, 43], [45, 46]


def grid(values):
    """values: (activation, architecture, lr) -> per seed of PILOT + FRESH, (best val acc,
    test acc)."""
    rows = []
    for (activation, arch, lr), per_seed in values.items():
        for seed, (val, test) in zip(PILOT + FRESH, per_seed, strict=True):
            rows.append(
                {
                    "model": f"{activation}-{arch}-lr{lr}-{seed}",
                    "activation": activation,
                    "architecture": arch,
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
        # base: the pilot's validation prefers 0.1 (90 against 89), its test does not (88.1
        # against 89.2 at 0.01): a check that chose on the test would say 0.01. The fresh
        # seeds' validation prefers 0.01.
        ("elu", "base", 0.01): [(89, 89.0), (89, 89.4), (89.5, 88.4), (89.5, 88.6)],
        ("elu", "base", 0.1): [(90, 88.0), (90, 88.2), (88, 87.0), (88, 87.4)],
        ("relu", "base", 0.01): [(89, 88.5), (89, 88.5), (89, 88.7), (89, 88.9)],
        ("relu", "base", 0.1): [(88, 87.5), (88, 87.5), (88, 87.7), (88, 87.9)],
        # deep: the other way round for elu, so the architectures must be kept apart
        ("elu", "deep", 0.01): [(80, 80.0), (80, 80.0), (80, 80.0), (80, 80.0)],
        ("elu", "deep", 0.1): [(85, 85.0), (85, 85.0), (85, 85.0), (85, 85.0)],
        ("relu", "deep", 0.01): [(84, 84.0), (84, 84.0), (84, 84.0), (84, 84.0)],
        ("relu", "deep", 0.1): [(83, 83.0), (83, 83.0), (83, 83.0), (83, 83.0)],
    }
)


def rows(table):
    return table.set_index(["activation", "architecture"])


def test_the_pilots_rate_is_scored_on_the_fresh_seeds():
    table = rows(rate_check.against_fresh(MODELS, FRESH, chance=10.0))
    elu = table.loc[("elu", "base")]
    assert elu["chosen lr (pilot)"] == "0.1"  # on validation, not on the test
    assert elu["test acc % (SD), pilot 2 seeds"] == "88.10 (0.14)"  # 88.0 and 88.2
    assert elu["fresh 2 seeds"] == "87.20 (0.28)"  # 87.0 and 87.4
    assert elu["fresh - pilot"] == "-0.90"
    assert elu["diverged (pilot, fresh)"] == "0, 0"
    assert elu["fresh seeds would choose"] == "0.01"
    relu = table.loc[("relu", "base")]
    assert (relu["chosen lr (pilot)"], relu["fresh seeds would choose"]) == ("0.01", "0.01")
    assert relu["fresh - pilot"] == "+0.30"
    deep = table.loc[("elu", "deep")]
    assert (deep["chosen lr (pilot)"], deep["fresh - pilot"]) == ("0.1", "+0.00")


def test_a_diverged_seed_counts_against_its_rate_and_is_shown():
    models = MODELS.copy()
    at = (models["activation"] == "elu") & (models["architecture"] == "base")
    # elu at 0.1 diverges on pilot seed 43: its validation counts as chance, so the pilot
    # chooses 0.01 (a diverged seed is a failure of the rate, never a missing value) ...
    models.loc[at & (models["lr"] == 0.1) & (models["seed"] == 43), "diverged_at_epoch"] = 7
    # ... and at 0.01 fresh seed 46 diverges: the row says so
    models.loc[at & (models["lr"] == 0.01) & (models["seed"] == 46), "diverged_at_epoch"] = 30
    elu = rows(rate_check.against_fresh(models, FRESH, chance=10.0)).loc[("elu", "base")]
    assert elu["chosen lr (pilot)"] == "0.01"
    assert elu["diverged (pilot, fresh)"] == "0, 1"
    assert elu["fresh seeds would choose"] == "0.1"  # 89.5 and chance against 88 and 88


def test_fresh_seeds_named_twice_count_once():
    table = rate_check.against_fresh(MODELS, [45, 46, 45], chance=10.0)
    assert "fresh 2 seeds" in table.columns


GAP = MODELS.drop(MODELS.index[(MODELS["lr"] == 0.1) & (MODELS["seed"] == 46)][:1])
NAN = MODELS.assign(test_acc=MODELS["test_acc"].where(MODELS["seed"] != 45))


@pytest.mark.parametrize(
    ("models", "fresh", "message"),
    [
        (MODELS.iloc[:0], FRESH, "no models"),
        (MODELS[MODELS["lr"] == 0.01], FRESH, r"one learning rate \(0\.01\)"),
        (MODELS, [45, 47], r"fresh seed 47 \(from --fresh\) is not in the table"),
        (MODELS, PILOT + FRESH, "no pilot seed"),
        (GAP, FRESH, "elu-base at lr 0.1: no test accuracy for seed 46"),
        (NAN, FRESH, "elu-base at lr 0.01: no test accuracy for seed 45"),
    ],
)
def test_errors_name_what_is_wrong(models, fresh, message):
    with pytest.raises(rate_check.DataError, match=message):
        rate_check.against_fresh(models, fresh, chance=10.0)


def test_the_tool_writes_the_table_and_needs_fresh_seeds(tmp_path, capsys):
    path = tmp_path / "models.csv"
    MODELS.to_csv(path, index=False)
    out = tmp_path / "check.md"
    assert rate_check.main([str(path), "--fresh", "45", "46", "--out", str(out)]) == 0
    assert out.read_text().startswith("| activation") and "-0.90" in out.read_text()
    params = tmp_path / "params.yaml"
    edits = {"analysis__confirm_seeds": [45, 46], "models__seeds": [42, 43, 45, 46]}
    params.write_text(yaml.safe_dump(reference_params(**edits)))
    assert rate_check.main([str(path), "--params", str(params), "--out", str(out)]) == 0
    assert "-0.90" in out.read_text()  # the fresh seeds from analysis.confirm_seeds
    params.write_text(yaml.safe_dump(reference_params()))
    assert rate_check.main([str(path), "--params", str(params)]) == 2
    assert "no fresh seeds" in capsys.readouterr().err
    edits = {"analysis__confirm_seeds": [47], "models__seeds": [42, 47]}
    params.write_text(yaml.safe_dump(reference_params(**edits)))
    assert rate_check.main([str(path), "--params", str(params)]) == 2
    assert f"from analysis.confirm_seeds in {params}" in capsys.readouterr().err
