"""Whether rankings transfer: Kendall's tau and its bootstrap interval on closed cases, the
verdict words, and the tool's table and figure from two models.csv files."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from actlab.analysis import compare, transfer
from actlab.tools import transfer as tool


def scores(means, seeds=(1, 2, 3), noise=0.0, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    return {a: {s: m + noise * rng.normal() for s in seeds} for a, m in means.items()}


def test_identical_rankings_without_spread_give_tau_one_and_a_point_interval():
    a = scores({"relu": 90.0, "tanh": 89.0, "sigmoid": 80.0, "elu": 89.5})
    b = scores({"relu": 70.0, "tanh": 60.0, "sigmoid": 50.0, "elu": 65.0})
    g = transfer.agreement(a, b, resamples=200)
    assert g.tau == 1.0 and (g.low, g.high) == (1.0, 1.0)
    reversed_b = scores({"relu": 50.0, "tanh": 60.0, "sigmoid": 70.0, "elu": 55.0})
    g = transfer.agreement(a, reversed_b, resamples=200)
    assert g.tau == -1.0 and (g.low, g.high) == (-1.0, -1.0)


def test_one_swapped_pair_of_four_is_tau_two_thirds():
    """6 pairs, one discordant: (5 - 1) / 6."""
    a = scores({"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0})
    b = scores({"a": 4.0, "b": 3.0, "c": 1.0, "d": 2.0})
    assert transfer.agreement(a, b, resamples=50).tau == pytest.approx(4 / 6)


def test_tau_matches_scipy_and_the_interval_holds_it_under_noise():
    means = {f"act{i}": 90.0 - 0.5 * i for i in range(8)}
    a = scores(means, seeds=range(10), noise=2.0, rng_seed=1)
    b = scores(means, seeds=range(10), noise=2.0, rng_seed=2)
    g = transfer.agreement(a, b, resamples=500)
    expected = sps.kendalltau(transfer.means(a, list(a)), transfer.means(b, list(b))).statistic
    assert g.tau == pytest.approx(expected)
    assert g.low <= g.tau <= g.high and g.low < g.high <= 1.0
    # the same seed of the bootstrap gives the same interval
    assert transfer.agreement(a, b, resamples=500) == g


def test_too_few_activations_or_seeds_are_refused():
    a = scores({"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match="tau needs 3 or more"):
        transfer.agreement(a, a)
    one_seed = scores({"a": 1.0, "b": 2.0, "c": 3.0}, seeds=(1,))
    with pytest.raises(ValueError, match="fewer than 2 seeds"):
        transfer.agreement(one_seed, one_seed)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["worse", "worse"], "same verdict"),
        (["equivalent", "worse"], "verdicts differ"),
        (["worse", "inconclusive"], "not decided everywhere"),
        (["inconclusive", "untested"], "decided nowhere"),
        (["baseline", "baseline"], ""),
    ],
)
def test_whether_a_verdict_transfers(words, expected):
    assert transfer.transfers(words) == expected


def test_direction_reads_the_verdicts():
    worse = compare.Comparison("a", "relu", 3, 3, 3, verdict="worse than relu on this test set")
    assert transfer.direction(worse) == "worse"
    assert transfer.direction(compare.Comparison("relu", "relu", 3, 3, 3, verdict="baseline")) == (
        "baseline"
    )
    untrained = compare.Comparison("a", "relu", 3, 0, 3, verdict="did not train (0/3)")
    assert transfer.direction(untrained) == "untested"


def models_csv(path, arch, means, seeds=(42, 43, 44), noise=0.3, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    rows = [
        {
            "model": f"{a}-{arch}-{s}",
            "activation": a,
            "architecture": arch,
            "seed": s,
            "test_acc": m + noise * rng.normal(),
            "epochs": 10,
        }
        for a, m in means.items()
        for s in seeds
    ]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_the_tool_writes_the_table_and_the_figure(tmp_path, capsys):
    means = {"relu": 90.0, "tanh": 88.0, "sigmoid": 70.0, "elu": 90.1}
    models_csv(tmp_path / "a.csv", "base", means)
    models_csv(tmp_path / "b.csv", "mlp", {**means, "tanh": 91.0}, rng_seed=1)
    out, fig = tmp_path / "t.md", tmp_path / "t.png"
    code = tool.main(
        [
            "--run",
            f"A={tmp_path / 'a.csv'}:base",
            "--run",
            f"B={tmp_path / 'b.csv'}:mlp",
            "--out",
            str(out),
            "--figure",
            str(fig),
        ]
    )
    assert code == 0 and fig.stat().st_size > 10_000
    text = out.read_text()
    assert "| activation | A: difference" in text.replace("   ", " ").replace("  ", " ")
    assert "Kendall's tau of the rankings by mean test accuracy, A vs B (4 activations)" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    assert "worse than relu on this test set" in rows["sigmoid"]
    assert rows["sigmoid"].rstrip("| ").endswith("same verdict")
    assert list(rows)[2:] == ["relu", "elu", "tanh", "sigmoid"]  # baseline, then best first


def test_the_tool_names_a_missing_architecture_and_a_bad_run(tmp_path, capsys):
    models_csv(tmp_path / "a.csv", "base", {"relu": 90.0, "tanh": 88.0, "elu": 89.0})
    code = tool.main(
        ["--run", f"A={tmp_path / 'a.csv'}:deep", "--run", f"B={tmp_path / 'a.csv'}:base"]
    )
    assert code == 2
    assert "no models of architecture 'deep' (it has base)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main(["--run", "no-equals-sign", "--run", "A=x.csv:base"])
    assert "expected LABEL=PATH:ARCHITECTURE[:SEEDS]" in capsys.readouterr().err
    assert tool.parse_run("A=m.csv:base:45-47").seeds == (45, 46, 47)
    assert tool.parse_run("A=m.csv:base:42,44").seeds == (42, 44)
