"""Two runs' model tables side by side, per configuration."""

from pathlib import Path

import pandas as pd
import pytest

from actlab.tools import compare_runs


def models(accs, epochs):
    rows = []
    for (activation, arch), values in accs.items():
        for seed, (acc, ep) in enumerate(zip(values, epochs[(activation, arch)], strict=True), 42):
            rows.append(
                {
                    "model": f"{activation}-{arch}-{seed}",
                    "activation": activation,
                    "architecture": arch,
                    "seed": seed,
                    "test_acc": acc,
                    "epochs": ep,
                }
            )
    return pd.DataFrame(rows)


A = models(
    {("sigmoid", "base"): [10.0, 10.0, 79.0], ("relu", "base"): [88.0, 88.5, 87.5]},
    {("sigmoid", "base"): [14, 14, 50], ("relu", "base"): [30, 20, 40]},
)
B = models(
    {("sigmoid", "base"): [80.0, 10.0, 79.0], ("relu", "base"): [88.0, 88.5, 88.5]},
    {("sigmoid", "base"): [50, 50, 50], ("relu", "base"): [30, 20, 40]},
)


def test_side_by_side_counts_trained_seeds_and_the_change():
    table = compare_runs.side_by_side(A, B, ("old", "new"), chance=10.0).set_index("configuration")
    assert table.loc["sigmoid-base", "old: trained"] == "1/3"
    assert table.loc["sigmoid-base", "new: trained"] == "2/3"
    assert table.loc["sigmoid-base", "old: test acc %"] == "33.00"
    assert table.loc["sigmoid-base", "new: epochs"] == "50.0"
    assert table.loc["sigmoid-base", "change (points)"] == "+23.33"
    assert table.loc["relu-base", "change (points)"] == "+0.33"


def test_the_tool_writes_the_table_and_names_a_bad_file(tmp_path, capsys):
    A.to_csv(tmp_path / "a.csv", index=False)
    B.to_csv(tmp_path / "b.csv", index=False)
    out = tmp_path / "t.md"
    assert (
        compare_runs.main([str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out", str(out)])
        == 0
    )
    assert out.read_text().startswith("| configuration") and "+23.33" in out.read_text()
    A.drop(columns="epochs").to_csv(tmp_path / "bad.csv", index=False)
    assert compare_runs.main([str(tmp_path / "bad.csv"), str(tmp_path / "b.csv")]) == 2
    assert "no column ['epochs']" in capsys.readouterr().err


RUNS = Path(__file__).resolve().parent.parent / "docs" / "runs"
SAVED = [  # the tables docs/results.md shows: (run a, run b, their names, the saved table)
    (
        "val-acc-patience-7",
        "early-stopped",
        ("val_acc, patience 7", "either, min 20"),
        "stopping.md",
    ),
    (
        "early-stopped",
        "fixed-budget",
        ("early-stopped", "fixed budget"),
        "fixed-budget/stopping.md",
    ),
]


@pytest.mark.parametrize("a, b, names, table", SAVED, ids=[t for *_, t in SAVED])
def test_the_saved_tables_are_the_tools_output(tmp_path, a, b, names, table):
    out = tmp_path / "table.md"
    args = [str(RUNS / a / "models.csv"), str(RUNS / b / "models.csv"), "--out", str(out)]
    assert compare_runs.main([*args, "--names", *names]) == 0
    assert out.read_text() == (RUNS / table).read_text()
