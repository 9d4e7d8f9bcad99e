"""Paired comparisons across architectures, checked against closed forms for df = 2."""

import math
from pathlib import Path

import pandas as pd
import pytest

from actlab.tools import compare_configs


def models(accs, stopped="patience"):
    rows = []
    for (activation, arch), values in accs.items():
        for seed, acc in enumerate(values, 42):
            rows.append(
                {
                    "model": f"{activation}-{arch}-{seed}",
                    "activation": activation,
                    "architecture": arch,
                    "seed": seed,
                    "test_acc": acc,
                    "epochs": 20 + seed - 42,
                    "stopped": stopped,
                }
            )
    return pd.DataFrame(rows)


M = models(
    {
        ("relu", "deep"): [88.0, 88.5, 87.5],
        ("relu", "deep_kaiming"): [87.0, 88.0, 87.5],  # d = -1, -0.5, 0: mean -0.5, sd 0.5
        ("relu", "deep_xavier"): [88.5, 89.0, 88.0],  # d = +0.5 on every seed
        ("swish", "deep"): [10.0, 10.0, 10.0],
        ("swish", "deep_kaiming"): [88.0, 87.0, 88.5],
        ("tanh", "deep_kaiming"): [87.0, 87.2, 87.1],  # no tanh-deep: no family
    }
)

SE = 0.5 / math.sqrt(3)
T = -0.5 / SE


def t_quantile_df2(f):
    """Student t quantile for 2 degrees of freedom: F(t) = 1/2 + t / (2 sqrt(2 + t^2))."""
    u = 2 * f - 1
    return u * math.sqrt(2 / (1 - u * u))


def test_families_across_pair_every_activation_with_its_own_baseline_architecture():
    assert compare_configs.families_across(M, "deep") == [
        ("relu-deep", ["relu-deep_kaiming", "relu-deep_xavier"]),
        ("swish-deep", ["swish-deep_kaiming"]),
    ]
    with pytest.raises(ValueError, match="no models of architecture 'shallow'; there are: deep"):
        compare_configs.families_across(M, "shallow")


def test_one_candidate_by_hand():
    row = compare_configs.compare(
        M, [("relu-deep", ["relu-deep_kaiming"])], margin=0.5, chance=10.0
    ).iloc[0]
    p = 1 - abs(T) / math.sqrt(2 + T * T)  # two-sided, df = 2, m = 1
    half = t_quantile_df2(0.975) * SE
    assert row["difference [adj. CI]"] == f"-0.50 [{-0.5 - half:+.2f}, {-0.5 + half:+.2f}]"
    assert row["p (adj.)"] == f"{p:.2g}" == "0.23"
    assert row["trained"] == "3/3 vs 3/3"
    assert row["test acc %"].startswith("87.50 [")
    assert row["verdict"].startswith("inconclusive (could detect ≥ ")
    assert row["epochs (vs baseline)"] == "21.0 (0/3 at max_epochs) vs 21.0 (0/3 at max_epochs)"


def test_a_family_of_two_is_adjusted_twice():
    """relu-deep and its two inits on 3 seeds, too few to pool their variance: each pair its
    own (df 2), Bonferroni over the 2 comparisons; xavier's identical differences untested."""
    table = compare_configs.compare(
        M, compare_configs.families_across(M, "deep")[:1], margin=0.5, chance=10.0
    ).set_index("candidate")
    p = 1 - abs(T) / math.sqrt(2 + T * T)
    half = t_quantile_df2(1 - 0.05 / 4) * SE  # Bonferroni: level 1 - alpha/2, two-sided
    kaiming = table.loc["relu-deep_kaiming"]
    assert kaiming["adjusted by"] == "Bonferroni" and kaiming["p (adj.)"] == f"{2 * p:.2g}"
    assert kaiming["difference [adj. CI]"] == f"-0.50 [{-0.5 - half:+.2f}, {-0.5 + half:+.2f}]"
    xavier = table.loc["relu-deep_xavier"]
    assert xavier["verdict"] == "cannot tell: identical differences on every seed"
    assert xavier["test acc %"] == "88.50 [87.26, 89.74]"


def test_identical_differences_are_not_tested_on_their_own():
    """+0.50 on every seed: no seed spread to test against, and no p of 0."""
    row = compare_configs.compare(
        M, [("relu-deep", ["relu-deep_xavier"])], margin=0.5, chance=10.0
    ).iloc[0]
    assert row["difference [adj. CI]"] == "+0.50" and row["p (adj.)"] == ""
    assert row["verdict"] == "cannot tell: identical differences on every seed"


def test_a_baseline_that_did_not_train_gets_no_test_and_says_so():
    row = compare_configs.compare(
        M, [("swish-deep", ["swish-deep_kaiming"])], margin=0.5, chance=10.0
    ).iloc[0]
    assert row["trained"] == "3/3 vs 0/3"
    assert row["baseline test acc %"] == "per seed: 10.00, 10.00, 10.00"
    assert row["difference [adj. CI]"] == row["p (adj.)"] == ""
    assert row["verdict"] == "baseline: did not train (0/3)"


def test_the_tool_writes_the_table_and_names_what_is_wrong(tmp_path, capsys):
    csv, out = tmp_path / "models.csv", tmp_path / "t.md"
    M.to_csv(csv, index=False)
    assert compare_configs.main([str(csv), "--across", "deep", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("| candidate") and text.count("\n") == 2 + 3
    assert compare_configs.main([str(csv), "--family", "relu-deep", "relu-deep_xavier"]) == 0
    assert "identical differences on every seed" in capsys.readouterr().out

    def error(*argv):
        assert compare_configs.main([str(csv), *argv]) == 2
        return capsys.readouterr().err

    assert "no models of configuration 'relu-dep'; there are: relu-deep, " in error(
        "--family", "relu-dep", "relu-deep_xavier"
    )
    assert "--family relu-deep: name a baseline and at least one candidate" in error(
        "--family", "relu-deep"
    )
    assert "'relu-deep' is the baseline of its family and a candidate" in error(
        "--family", "relu-deep", "relu-deep"
    )
    assert "--margin must be positive, got 0" in error("--across", "deep", "--margin", "0")
    assert "no models of architecture 'base'" in error("--across", "base")
    M.assign(lr=[0.01, 0.1] * 9).to_csv(csv, index=False)
    assert "several learning rates (0.01, 0.1); compare the models of one rate" in error(
        "--across", "deep"
    )
    M.drop(columns="epochs").to_csv(csv, index=False)
    assert "not a models.csv: no column ['epochs']" in error("--across", "deep")
    assert compare_configs.main([str(tmp_path / "none.csv"), "--across", "deep"]) == 2
    assert "none.csv" in capsys.readouterr().err


RUNS = Path(__file__).resolve().parent.parent / "docs" / "runs"


@pytest.mark.parametrize(
    ("table", "argv"),
    [
        ("init-experiment/across_inits.md", ["--across", "deep"]),
        ("mnist-shallow-deep/depth.md", ["--across", "shallow_64x4"]),
        (
            "mnist-shallow-deep/claims.md",
            [
                *("--family", "tanh-shallow_64x4", "relu-deep_48x9", "leakyrelu-deep_48x9"),
                *("--family", "relu-deep_48x9", "leakyrelu-deep_48x9"),
            ],
        ),
    ],
)
def test_the_saved_cross_architecture_tables_are_the_tools_output(table, argv, tmp_path):
    """docs/results.md shows these tables (copied by make results): each is what the command
    it quotes makes from the saved models.csv, not an edited copy."""
    saved = RUNS / table
    out = tmp_path / "t.md"
    models = saved.parent / "models.csv"
    assert compare_configs.main([str(models), *argv, "--out", str(out)]) == 0
    assert out.read_text() == saved.read_text()
