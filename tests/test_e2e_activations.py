"""End to end: all fifteen activations through the real pipeline (tiny config, one seed):
every stage handles each, PReLU's learned slopes reach its checkpoint, its curves and MLflow,
and every table and figure has a row or a colour for each."""

import csv
import json

import pytest
import torch

from actlab.model.registry import ACTIVATIONS
from tests.helpers.e2e import client, live_runs, make_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(
        tmp_path_factory.mktemp("activations") / "repo",
        models__activations=list(ACTIVATIONS),
        models__seeds=[42],
        activation_options__prelu={"init": 0.25, "per": "neuron"},
        train__max_epochs=2,
        train__budgets=[1],
    )


def test_every_activation_is_trained_evaluated_probed_and_tabled(workspace):
    models = list(csv.DictReader((workspace / "metrics/models.csv").read_text().splitlines()))
    assert sorted(r["model"] for r in models) == sorted(f"{a}-tiny-42" for a in ACTIVATIONS)
    summary = list(csv.DictReader((workspace / "metrics/summary.csv").read_text().splitlines()))
    assert {r["configuration"] for r in summary} == {f"{a}-tiny" for a in ACTIVATIONS}
    table = (workspace / "metrics/results/tiny.md").read_text()
    assert all(f"| {a} " in table for a in ACTIVATIONS)
    for a in ACTIVATIONS:
        dead = json.loads((workspace / f"metrics/dead_neurons/{a}-tiny-42.json").read_text())
        assert {"init", "trained"} <= dead.keys()


def test_prelu_slopes_are_learned_saved_and_logged(workspace):
    best = torch.load(workspace / "models/prelu-tiny-42/best.pt", weights_only=True)
    slopes = best["state_dict"]["layers.1.weight"]
    assert slopes.shape == (16,) and not torch.all(slopes == 0.25)  # per neuron, trained
    header = (workspace / "metrics/curves/prelu-tiny-42.tsv").read_text().splitlines()[0]
    assert "prelu/layer1/slope" in header and "prelu/layer2/slope_std" in header
    run = live_runs(workspace)["prelu-tiny-42"]
    history = client(workspace).get_metric_history(run.info.run_id, "prelu/layer1/slope")
    epochs = json.loads((workspace / "metrics/train/prelu-tiny-42.json").read_text())
    assert [m.step for m in history] == list(range(1, epochs["epochs_trained"] + 1))
    assert run.data.params["activation.per"] == "neuron"
