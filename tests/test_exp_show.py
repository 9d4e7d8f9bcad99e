"""`make exp-show` (``actlab.tools.exp_show``): dvc exp show's JSON in a terminal's width."""

from __future__ import annotations

import copy

import pytest

from actlab.tools import exp_show

CONFIGS = {"relu-base": 88.7, "tanh-base": 88.4, "sigmoid-base": 83.1, "elu-base": 88.5}


def entry(rev, name, lr, seeds, accuracy, experiments=None):
    params = {"train": {"lr": lr, "max_epochs": 50}, "models": {"seeds": seeds}}
    metrics = {c: {"test_acc": a, "ci_low": a - 1, "ci_high": a + 1} for c, a in accuracy.items()}
    data = {
        "rev": rev,
        "params": {"params.yaml": {"data": params}},
        "metrics": {exp_show.METRICS: {"data": metrics}},
        "deps": {"stages/train.py": {"hash": "md5"}},
    }
    return {"rev": rev, "name": name, "data": data, "error": None, "experiments": experiments}


def shown():
    """dvc exp show --json's layout: the workspace, a commit, its experiments under it."""
    better = {c: a + 0.3 for c, a in CONFIGS.items()}
    experiments = [
        {"name": "lr-0.03", "revs": [entry("a" * 40, "lr-0.03", 0.03, [42, 43, 44], better)]},
        {"name": None, "revs": [entry("b" * 40, "seeds-5", 0.01, [42, 43, 44, 45, 46], CONFIGS)]},
    ]
    return [
        entry("workspace", None, 0.01, [42, 43, 44], CONFIGS),
        entry("c" * 40, "main", 0.01, [42, 43, 44], CONFIGS, experiments),
    ]


def test_rows_are_the_revisions_then_their_experiments():
    table = list(exp_show.rows(shown()))
    assert [r["name"] for r in table] == ["workspace", "main", "  lr-0.03", "  seeds-5"]
    assert table[2]["params"]["train.lr"] == 0.03 and table[2]["accuracy"]["relu-base"] == 89.0


def test_only_the_params_that_differ_and_the_configurations_best_first():
    table = list(exp_show.rows(shown()))
    assert exp_show.changed_params(table) == ["train.lr", "models.seeds"]
    assert exp_show.configurations(table, None) == [
        "relu-base", "elu-base", "tanh-base", "sigmoid-base"
    ]  # fmt: skip
    assert exp_show.configurations(table, "relu|tanh") == ["relu-base", "tanh-base"]


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_render_fits_the_width_params_first(width):
    text = exp_show.render(list(exp_show.rows(shown())), width)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width
    header = lines[0].split()
    assert header[:3] == ["Experiment", "train.lr", "models.seeds"]
    best_first = exp_show.configurations(list(exp_show.rows(shown())), None)
    assert header[3:] == best_first[: len(header) - 3]
    left = [c for c in CONFIGS if c not in header]
    if left:  # named, so the user can ask for them
        assert all(c in " ".join(lines) for c in left) and "KEEP=" in text
    assert lines[4].startswith("  lr-0.03") and "0.03" in lines[4]
    assert ("89.00" in lines[4]) == ("relu-base" in header)


def test_render_says_when_no_param_differs():
    one = copy.deepcopy(shown()[:1])
    text = exp_show.render(list(exp_show.rows(one)), 100)
    assert text.splitlines()[0].split()[:2] == ["Experiment", "relu-base"]
    assert "no param differs" in text


def test_a_missing_metric_is_a_dash_and_long_values_are_cut():
    rows = list(exp_show.rows(shown()))
    rows[3]["accuracy"].pop("relu-base")
    rows[3]["params"]["models.seeds"] = list(range(40, 80))
    lines = exp_show.render(rows, 200).splitlines()
    assert lines[5].split()[3] == "-"  # relu-base of seeds-5
    assert "…" in lines[5] and max(map(len, lines)) <= 200


def test_outside_a_dvc_repository_the_error_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exp_show.main(["--width", "100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dvc exp show failed:") and err.count("\n") == 1


def test_width_and_keep_are_checked():
    with pytest.raises(SystemExit):
        exp_show.main(["--width", "10"])
    with pytest.raises(SystemExit):
        exp_show.main(["--keep", "("])


def test_a_cut_value_still_counts_as_changed():
    """Two long lists that differ only past the cut are different params."""
    rows = list(exp_show.rows(shown()))
    rows[2]["params"]["models.seeds"] = list(range(40, 80))
    rows[3]["params"]["models.seeds"] = list(range(40, 79))
    assert "models.seeds" in exp_show.changed_params(rows)


def test_a_revision_without_results_is_named_and_changes_nothing():
    broken = shown()
    broken[1]["experiments"].append(
        {"name": "bad", "revs": [{"rev": "d" * 40, "name": "bad", "data": None,
                                  "error": {"type": "ReproductionError", "msg": "stage failed"}}]}
    )  # fmt: skip
    table = list(exp_show.rows(broken))
    assert table[-1]["name"] == "  bad (no results: stage failed)"
    assert exp_show.changed_params(table) == ["train.lr", "models.seeds"]
    assert "bad (no results" in exp_show.render(table, 120)
