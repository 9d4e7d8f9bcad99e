"""End to end, the verdict machinery: a fixed budget, per-image predictions, a recorded plan, a
confirmation on fresh seeds planned from a pilot, and a diverged seed as a failed rate. One
workspace (``tests.helpers.e2e``), restored before each test by the ``repo`` fixture."""

import csv
import json
import re
import sys

import pytest
import torch

from tests.helpers.e2e import dvc, live_runs, make_workspace, sh, trained, write_params

pytestmark = pytest.mark.slow

PILOT = {  # two epochs at a low rate: relu barely trains, the models disagree on images
    "models__activations": ["relu", "tanh"],
    "models__seeds": [42, 43, 44],
    "train__max_epochs": 2,
    "train__budgets": [1],
    "train__lr": 0.02,
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("verdicts") / "repo", **PILOT)


def rows(repo, table):
    return list(csv.DictReader((repo / f"metrics/{table}.csv").read_text().splitlines()))


def test_every_model_trains_its_budget_and_saves_its_predictions(repo):
    models = rows(repo, "models")
    assert {(r["epochs"], r["stopped"]) for r in models} == {("2", "max_epochs")}
    for r in models:
        predictions = torch.load(repo / f"metrics/predictions/{r['model']}.pt", weights_only=True)
        assert set(predictions) == {"best", "1"}  # best.pt and the best within 1 epoch
        assert all(p.dtype == torch.uint8 and p.shape == (200,) for p in predictions.values())
        evaluated = json.loads((repo / f"metrics/evaluate/{r['model']}.json").read_text())
        assert evaluated["budgets"]["1"]["epoch"] == 1
        assert float(r["test_acc_e1"]) == round(100 * evaluated["budgets"]["1"]["test_acc"], 2)
        record = json.loads((repo / f"models/{r['model']}/record.json").read_text())
        assert record["plan"]["stopping"] == "fixed budget" and record["plan"]["budgets"] == [1, 2]
    summary = (repo / "metrics/summary.md").read_text()
    assert "Exploratory: trained with a fixed budget of 2 epochs" in summary
    assert "## Verdicts per budget" in summary
    budgets = (repo / "metrics/results/budgets.md").read_text()
    assert "best within 1 epochs" in budgets and "holds at every budget" in budgets
    (configuration,) = [r for r in rows(repo, "summary") if r["activation"] == "tanh"]
    assert configuration["analysis"] == "exploratory"
    assert configuration["diff_ci_low_new"] and float(configuration["image_se"]) > 0
    tag = live_runs(repo)["tanh-tiny"].data.tags["analysis.plan"]
    assert json.loads(tag)["baseline"] == "relu"


def test_a_plan_confirms_on_fresh_seeds_and_a_later_margin_is_exploratory(repo):
    result = sh(repo, sys.executable, "-m", "actlab.tools.plan", "--cap", "3", check=True)
    command = result.stderr.strip().splitlines()[-1]
    fresh = json.loads(re.search(r"analysis\.confirm_seeds=(\[[\d,]*\])", command).group(1))
    assert fresh and not set(fresh) & {42, 43, 44}  # none of the pilot's
    seeds = [42, 43, 44, *fresh]
    assert f"models.seeds=[{','.join(map(str, seeds))}]" in command
    write_params(repo, **PILOT | {"models__seeds": seeds}, analysis__confirm_seeds=fresh)
    assert trained(dvc(repo, "repro")) == 2 * len(fresh)  # the pilot's models are reused
    (tanh,) = [r for r in rows(repo, "summary") if r["activation"] == "tanh"]
    assert tanh["analysis"] == "confirmatory" and tanh["seeds"] == str(len(fresh))
    caption = (repo / "metrics/results/tiny.md").read_text().splitlines()[0]
    assert caption.startswith("*confirmatory; trained with a fixed budget")
    # the margin changed after the models trained: the plan they recorded is not this one
    write_params(
        repo,
        **PILOT | {"models__seeds": seeds},
        analysis__confirm_seeds=fresh,
        analysis__equivalence_margin=1.0,
    )
    assert trained(dvc(repo, "repro")) == 0
    (tanh,) = [r for r in rows(repo, "summary") if r["activation"] == "tanh"]
    assert tanh["analysis"] == "exploratory"


def test_a_diverged_seed_is_a_failure_of_its_rate(repo):
    """At lr 50 the tiny networks' loss overflows: that rate is never chosen, whatever the
    accuracy of the checkpoint a diverged seed kept from before."""
    write_params(repo, **PILOT | {"train__lr": [0.1, 50.0]})
    assert trained(dvc(repo, "repro")) == 12
    grid = (repo / "metrics/results/learning_rates.md").read_text()
    fast = [line for line in grid.splitlines() if "| 50 " in line]
    assert fast and all("chosen" not in line for line in fast)
    names = [r["configuration"] for r in rows(repo, "summary")]
    assert names == ["relu-tiny-lr0.1", "tanh-tiny-lr0.1"]
