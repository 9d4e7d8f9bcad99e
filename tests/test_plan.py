"""Planning a confirmation: seeds for the power asked, fresh seeds, what is confirmatory."""

import math

import pandas as pd
import pytest
from scipy import stats

from actlab import config, records
from actlab.analysis import compare, plan
from actlab.tools import plan as tool
from tests.helpers.params import reference_params


def test_the_sd_bound_is_the_one_sided_chi_square_limit():
    # Browne (1995): the 80 % upper limit of an SD from df 2 is sqrt(2 / chi2_0.2(2)) = 2.12 s
    assert plan.sd_upper(1.0, 2) == pytest.approx(math.sqrt(2 / stats.chi2.ppf(0.2, 2)))
    assert plan.sd_upper(1.0, 2) == pytest.approx(2.117, abs=1e-3)
    assert plan.sd_upper(1.0, 1000) == pytest.approx(1.0, abs=0.05)


def test_seeds_needed_give_the_power_asked_and_no_fewer():
    need = plan.seeds_needed(1.0, 0.0, delta=1.0, margin=0.5, m=6, alpha=0.05, power=0.8)
    n = need.difference
    c = stats.t.ppf(1 - 0.05 / 12, n - 1)
    assert compare._power(1.0, 1 / math.sqrt(n), n - 1, c) >= 0.8
    c = stats.t.ppf(1 - 0.05 / 12, n - 2)
    assert compare._power(1.0, 1 / math.sqrt(n - 1), n - 2, c) < 0.8  # one fewer is short
    assert need.decide == max(need.difference, need.equivalence)
    # the test images' share does not shrink with seeds: past a point none are enough
    floor = plan.seeds_needed(0.1, 0.6, delta=1.0, margin=0.5, m=1, alpha=0.05, power=0.8)
    assert floor.difference is None and floor.decide is None
    # far more than a cap: the number itself, for a plan to say
    many = plan.seeds_needed(1.18, 0.06, delta=1.0, margin=0.5, m=6, alpha=0.05, power=0.8)
    assert many.equivalence > 30 and many.decide == many.equivalence


def test_fresh_seeds_are_none_of_the_pilots():
    assert plan.fresh_seeds([42, 43, 44], 3) == [45, 46, 47]
    assert not set(plan.fresh_seeds([7, 1000], 5)) & {7, 1000}


def current(**edits):
    return records.plan(config.parse(reference_params(**edits)))


def test_confirmatory_only_on_fresh_seeds_under_the_recorded_plan():
    seeds = {"models__seeds": [42, 43, 44, 45], "analysis__confirm_seeds": [45]}
    plan_now = current(**seeds)
    assert plan.label(plan_now, [plan_now, plan_now]) == plan.CONFIRMATORY
    assert plan.label(current(), [current()]) == plan.EXPLORATORY  # no confirmatory seeds
    moved = current(**seeds, analysis__equivalence_margin=1.0)  # the margin changed after
    assert plan.label(moved, [plan_now]) == plan.EXPLORATORY
    assert plan.label(plan_now, [plan_now, None]) == plan.EXPLORATORY  # a record without one


def summary(sd=(0.5, 0.3), image=(0.1, 0.1)):
    return pd.DataFrame(
        {
            "configuration": ["relu-base", "tanh-base", "elu-base"],
            "architecture": ["base"] * 3,
            "diff_mean": [float("nan"), -0.4, 0.1],
            "diff_sd": [float("nan"), *sd],
            "diff_sd_df": [float("nan"), 2.0, 2.0],
            "image_se": [float("nan"), *image],
        }
    )


def test_the_tool_writes_the_plan_and_the_confirmation(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text(
        __import__("yaml").safe_dump(reference_params(models__seeds=[42, 43, 44]))
    )
    summary().to_csv(tmp_path / "summary.csv", index=False)
    pd.DataFrame({"seed": [42, 43, 44]}).to_csv(tmp_path / "models.csv", index=False)
    argv = [
        f"--{k}={tmp_path / f}"
        for k, f in (
            ("summary", "summary.csv"),
            ("models", "models.csv"),
            ("params", "params.yaml"),
        )
    ]
    assert tool.main([*argv, "--cap", "30", "--out", str(tmp_path / "plan.md")]) == 0
    text = (tmp_path / "plan.md").read_text()
    assert "tanh-base" in text and "elu-base" in text and "relu-base" not in text
    command = capsys.readouterr().err.splitlines()[-1]
    assert "analysis.confirm_seeds=[45," in command and "models.seeds=[42,43,44,45," in command
    with pytest.raises(SystemExit):  # argparse: at least 2 seeds
        tool.main([*argv, "--cap", "1"])
    assert tool.main([*argv, "--architectures", "base"]) == 0
    assert capsys.readouterr().err.splitlines()[-1].endswith("-S 'models.architectures=[base]'")
    assert tool.main([*argv, "--architectures", "deep"]) == 2
    assert "--architectures deep: not in" in capsys.readouterr().err
    summary().drop(columns="image_se").to_csv(tmp_path / "summary.csv", index=False)
    assert tool.main(argv) == 2
    assert "no column ['image_se']" in capsys.readouterr().err


def test_a_cap_leaves_comparisons_undecided_and_says_which():
    analysis = config.parse(reference_params()).analysis
    table = tool.needs(summary(sd=(3.0, 0.1), image=(0.1, 0.02)), analysis)
    assert int(table.set_index("configuration").loc["elu-base", "to decide"]) <= 5
    fresh, short = tool.confirmation(table, [42, 43, 44], cap=5)
    assert fresh == [45, 46, 47, 48, 49] and short == ["tanh-base"]


def test_fresh_seeds_can_start_past_an_earlier_confirmations(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text(
        __import__("yaml").safe_dump(reference_params(models__seeds=[42, 43, 44]))
    )
    summary().to_csv(tmp_path / "summary.csv", index=False)
    pd.DataFrame({"seed": [42, 43, 44]}).to_csv(tmp_path / "models.csv", index=False)
    argv = [f"--summary={tmp_path / 'summary.csv'}", f"--models={tmp_path / 'models.csv'}"]
    argv += [f"--params={tmp_path / 'params.yaml'}", "--cap", "3"]
    assert tool.main([*argv, "--first", "51"]) == 0
    out, err = capsys.readouterr()
    command = err.splitlines()[-1]
    assert "analysis.confirm_seeds=[51,52,53]" in command
    assert "models.seeds=[42,43,44,51,52,53]" in command
    assert "3 fresh seeds (51, 52, 53)" in out
    table = tool.needs(summary(), config.parse(reference_params()).analysis)
    assert tool.confirmation(table, [42, 43, 44], 3, first=51)[0] == [51, 52, 53]
    assert tool.confirmation(table, [42, 43, 44], 3)[0] == [45, 46, 47]
    assert tool.main([*argv, "--first", "44"]) == 2
    assert "--first 44: not above the pilot's seeds (42, 43, 44)" in capsys.readouterr().err


def test_with_a_grid_of_rates_the_plan_says_what_each_fresh_seed_trains(tmp_path, capsys):
    params = reference_params(models__seeds=[42, 43, 44], train__lr=[0.01, 0.03, 0.1])
    (tmp_path / "params.yaml").write_text(__import__("yaml").safe_dump(params))
    summary().to_csv(tmp_path / "summary.csv", index=False)
    pd.DataFrame({"seed": [42, 43, 44]}).to_csv(tmp_path / "models.csv", index=False)
    argv = [f"--summary={tmp_path / 'summary.csv'}", f"--models={tmp_path / 'models.csv'}"]
    argv += [f"--params={tmp_path / 'params.yaml'}", "--architectures", "base"]
    assert tool.main(argv) == 0
    out, err = capsys.readouterr()
    # 7 activations on one architecture at 3 rates: 21 models a fresh seed, 7 compared
    fresh = len(err.split("analysis.confirm_seeds=[")[1].split("]")[0].split(","))
    assert (
        f"each fresh seed trains every rate, 21 models ({21 * fresh} for the {fresh} fresh" in out
    )
    assert "the comparison uses the 7 at the rates the pilot's seeds chose" in out
    params["train"]["lr"] = 0.01
    (tmp_path / "params.yaml").write_text(__import__("yaml").safe_dump(params))
    assert tool.main(argv) == 0
    assert "each fresh seed" not in capsys.readouterr().out


def test_a_models_csv_without_models_is_one_line_not_a_traceback(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text(
        __import__("yaml").safe_dump(reference_params(models__seeds=[42, 43, 44]))
    )
    summary().to_csv(tmp_path / "summary.csv", index=False)
    argv = [f"--summary={tmp_path / 'summary.csv'}", f"--models={tmp_path / 'models.csv'}"]
    argv += [f"--params={tmp_path / 'params.yaml'}"]
    pd.DataFrame({"seed": []}).to_csv(tmp_path / "models.csv", index=False)  # a header only
    assert tool.main(argv) == 2
    assert "models.csv: no models; run the pilot with `dvc repro` first" in capsys.readouterr().err
    (tmp_path / "models.csv").write_text("")  # nothing at all
    assert tool.main(argv) == 2
    err = capsys.readouterr().err
    assert "models.csv" in err and "run the pilot first" in err and "Traceback" not in err
