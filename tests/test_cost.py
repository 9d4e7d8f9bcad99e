"""The cost table (actlab.analysis.cost) and its tool (python -m actlab.tools.cost), on hand-made
timing and curves files with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from actlab import paths
from actlab.analysis import cost
from actlab.identity import ModelSpec
from actlab.tools import cost as tool
from tests.helpers.params import reference_params


def _history(val_acc: list[float]) -> pd.DataFrame:
    n = len(val_acc)
    return pd.DataFrame(
        {
            "epoch": range(1, n + 1),
            "train_loss": [1.0] * n,
            "train_acc": [0.5] * n,
            "val_loss": [1.0] * n,
            "val_acc": val_acc,
        }
    )


def _spec(activation: str, arch: str, seed: int) -> ModelSpec:
    return ModelSpec(f"{activation}-{arch}-{seed}", activation, (), arch, (8,), seed, lr=0.01)


def test_first_epoch_reaching_counts_an_exact_hit_and_ignores_nan():
    assert cost.first_epoch_reaching(_history([0.5, 0.85, 0.9]), 0.85) == 2
    assert cost.first_epoch_reaching(_history([0.5, 0.84999, 0.9]), 0.85) == 3
    assert cost.first_epoch_reaching(_history([0.5, float("nan"), 0.6]), 0.85) is None


def test_seconds_to_reach_is_epochs_times_seconds_per_epoch():
    c = cost.model_cost(
        _spec("relu", "base", 42),
        {"device": "cpu", "seconds": 6.0, "seconds_per_epoch": 1.5},
        _history([0.5, 0.8, 0.86, 0.9]),
        0.85,
    )
    assert (c.epochs, c.epoch_reached, c.seconds_to_reach, c.device) == (4, 3, 4.5, "cpu")


def _costs() -> list[cost.ModelCost]:
    """relu-base: seeds 42 and 43 reach 0.85 (epoch 2 exactly, epoch 3), 44 never; tanh-base:
    two seeds on the CPU, one on CUDA."""
    made = [
        (_spec("relu", "base", 42), "cpu", 1.0, [0.7, 0.85, 0.9]),
        (_spec("relu", "base", 43), "cpu", 2.0, [0.7, 0.8, 0.86, 0.87]),
        (_spec("relu", "base", 44), "cpu", 3.0, [0.1, 0.1]),
        (_spec("tanh", "base", 42), "cpu", 4.0, [0.9]),
        (_spec("tanh", "base", 43), "cuda:0", 0.5, [0.8, 0.9]),
        (_spec("tanh", "base", 44), "cpu", 6.0, [0.9]),
    ]
    return [
        cost.model_cost(spec, {"device": device, "seconds_per_epoch": spe}, _history(acc), 0.85)
        for spec, device, spe, acc in made
    ]


def test_configuration_costs_known_answers():
    t = cost.configuration_costs(_costs()).set_index(["configuration", "device"])
    assert list(t.index) == [("relu-base", "cpu"), ("tanh-base", "cpu"), ("tanh-base", "cuda:0")]
    relu = t.loc[("relu-base", "cpu")]
    assert (relu["seeds"], relu["reached"]) == (3, 2)
    assert relu["seconds_per_epoch_mean"] == pytest.approx(2.0)
    assert (relu["seconds_per_epoch_min"], relu["seconds_per_epoch_max"]) == (1.0, 3.0)
    assert (relu["epochs_min"], relu["epochs_max"]) == (2, 4)
    assert relu["epoch_reached_mean"] == pytest.approx(2.5)  # the two that reached it
    # 2 x 1.0 and 3 x 2.0
    assert (relu["seconds_to_reach_min"], relu["seconds_to_reach_max"]) == (2.0, 6.0)
    assert relu["seconds_to_reach_mean"] == pytest.approx(4.0)
    # the devices are never averaged together
    cpu, cuda = t.loc[("tanh-base", "cpu")], t.loc[("tanh-base", "cuda:0")]
    assert (cpu["seeds"], cpu["seconds_per_epoch_mean"]) == (2, pytest.approx(5.0))
    assert (cuda["seeds"], cuda["seconds_per_epoch_mean"], cuda["seconds_to_reach_mean"]) == (
        1,
        0.5,
        1.0,
    )


def test_readable_says_how_many_seeds_reached():
    table = cost.readable(cost.configuration_costs(_costs()), 0.85)
    rows = {(r["configuration"], r["device"]): r for _, r in table.iterrows()}
    relu = rows[("relu-base", "cpu")]
    assert relu["s / epoch"] == "2.00 (1.00–3.00)"
    assert relu["first epoch val acc ≥ 85 %"] == "2.5 (2–3), 2/3 seeds reached"
    assert relu["s to val acc ≥ 85 % (≈ epochs × s / epoch)"] == (
        "4.00 (2.00–6.00), 2/3 seeds reached"
    )
    assert rows[("tanh-base", "cuda:0")]["first epoch val acc ≥ 85 %"] == "2"
    assert rows[("tanh-base", "cpu")]["first epoch val acc ≥ 85 %"] == "1"  # all reached


def test_readable_when_no_seed_reached():
    c = cost.model_cost(
        _spec("sigmoid", "deep", 42),
        {"device": "cpu", "seconds_per_epoch": 1.0},
        _history([0.1]),
        0.85,
    )
    row = cost.readable(cost.configuration_costs([c]), 0.85).iloc[0]
    assert row["first epoch val acc ≥ 85 %"] == "not reached (0/1 seeds)"


def test_seconds_format():
    assert [cost.seconds(v) for v in (1.22, 0.0531, 61, 1234.4, 0)] == [
        "1.22",
        "0.0531",
        "61.0",
        "1234",
        "0",
    ]


# The tool, run in a workspace of hand-made files.


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    """params.yaml with relu and tanh on base, seeds 42 and 43, and their timing and curves:
    relu-base-43 never reaches 0.85; tanh-base-43 trained on CUDA."""
    monkeypatch.chdir(tmp_path)
    params = reference_params(
        models__activations=["relu", "tanh"], models__architectures=["base"], models__seeds=[42, 43]
    )
    Path("params.yaml").write_text(yaml.safe_dump(params))
    made = {
        "relu-base-42": ("cpu", 1.25, [0.8, 0.85]),
        "relu-base-43": ("cpu", 1.75, [0.8, 0.84]),
        "tanh-base-42": ("cpu", 2.0, [0.86]),
        "tanh-base-43": ("cuda:0", 0.1, [0.5, 0.7, 0.9]),
    }
    for name, (device, spe, acc) in made.items():
        paths.timing(name).parent.mkdir(parents=True, exist_ok=True)
        paths.timing(name).write_text(
            json.dumps({"device": device, "seconds": spe * len(acc), "seconds_per_epoch": spe})
        )
        paths.curves(name).parent.mkdir(parents=True, exist_ok=True)
        _history(acc).to_csv(paths.curves(name), sep="\t", index=False)
    # a model outside the matrix is not in the table: the list comes from params
    paths.timing("elu-base-42").write_text('{"device": "cpu", "seconds_per_epoch": 9}')
    return tmp_path


def test_tool_prints_the_table(workspace, capsys):
    assert tool.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"## {cost.TITLE}\n")
    lines = [line for line in out.splitlines() if line.startswith("| ") and "-base" in line]
    assert len(lines) == 3 and "| elu-base" not in out
    relu, tanh_cpu, tanh_cuda = ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    assert relu == [
        "relu-base",
        "cpu",
        "2",
        "1.50 (1.25–1.75)",
        "2",
        "2, 1/2 seeds reached",
        "2.50, 1/2 seeds reached",
    ]
    assert tanh_cpu == ["tanh-base", "cpu", "1", "2.00", "1", "1", "2.00"]
    assert tanh_cuda == ["tanh-base", "cuda:0", "1", "0.100", "3", "3", "0.300"]


def test_tool_threshold_and_out_file(workspace, capsys):
    assert tool.main(["--threshold", "0.84"]) == 0
    printed = capsys.readouterr().out
    assert "val acc ≥ 84 %" in printed and "seeds reached" not in printed
    assert tool.main(["--threshold", "0.84", "--out", "metrics/cost.md"]) == 0
    table = Path("metrics/cost.md").read_text()  # the table alone, as printed after its text
    assert table.startswith("| configuration") and printed.endswith(table)
    assert not list(Path("metrics").glob(".cost.md.*"))  # no temporary file left


def test_tool_names_the_missing_timing_file(workspace, capsys):
    paths.timing("tanh-base-42").unlink()
    assert tool.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err == (
        "error: metrics/timing/tanh-base-42.json: no timing for model tanh-base-42; "
        "run `dvc repro train`"
    )


def test_tool_errors_are_one_line(workspace, capsys):
    paths.curves("relu-base-43").unlink()
    assert tool.main([]) == 2
    assert "relu-base-43" in capsys.readouterr().err
    paths.timing("relu-base-42").write_text('{"seconds": 1}')
    assert tool.main([]) == 2
    assert "lacks device, seconds_per_epoch" in capsys.readouterr().err
    assert tool.main(["--params", "nowhere.yaml"]) == 2
    assert "nowhere.yaml: not found" in capsys.readouterr().err


def test_tool_rejects_a_threshold_outside_0_1(workspace, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool.main(["--threshold", "85"])
    assert exit_.value.code == 2
    assert "a validation accuracy as a fraction" in capsys.readouterr().err
