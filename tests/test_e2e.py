"""End to end: the real `dvc` CLI on a temp copy of the repo, with a tiny config and IDX mirror.

One repository is built per module (the first `dvc repro` is the slow part); before each test
the ``repo`` fixture (``conftest``) restores it as it was right after that first `dvc repro`,
so every test starts from the same state and the tests pass alone and in any order. DVC
experiments, presets and divergence are in ``test_e2e_experiments``.
"""

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.helpers.e2e import (
    AFTER_TRAINING,
    MODEL,
    client,
    dvc,
    environment,
    live_runs,
    md5,
    ran,
    sh,
    trained,
    write_params,
)

pytestmark = pytest.mark.slow


def test_outputs_and_metrics(repo):
    m = MODEL
    for path in (
        f"models/{m}/best.pt",
        f"models/{m}/init.pt",
        f"models/{m}/record.json",
        f"metrics/curves/{m}.tsv",
        f"metrics/evaluate/{m}.json",
        f"metrics/dead_neurons/{m}.json",
        f"metrics/dead_dynamics/{m}.tsv",
        f"metrics/distributions/{m}.json",
        f"models/{m}/weight_histograms.pt",
        f"metrics/plots/weights/{m}.png",
    ):
        assert (repo / path).is_file(), path
    shown = json.loads(dvc(repo, "metrics", "show", "--json").stdout)
    data = next(iter(shown.values()))["data"]
    assert set(data) == {"metrics/aggregates.json"}  # per-model detail stays in files, MLflow
    assert 30.0 <= data["metrics/aggregates.json"]["data"]["relu-tiny"]["test_acc"] <= 100.0
    relu = json.loads((repo / f"metrics/evaluate/{m}.json").read_text())
    assert relu["test_acc"] > 0.3  # the toy classes are separable: it learns
    assert sum(map(sum, relu["confusion_matrix"])) == 200
    dead = json.loads((repo / f"metrics/dead_neurons/{m}.json").read_text())
    assert dead["images"] == 500 and len(dead["init"]["dead"]["per_layer"]) == 2
    epochs = json.loads((repo / f"metrics/train/{m}.json").read_text())["epochs_trained"]
    assert (repo / f"metrics/dead_dynamics/{m}.tsv").read_text().count("\n") == 1 + 1 + epochs
    plots = {p.name for p in (repo / "metrics/plots").iterdir()}
    assert {
        "activations.png",
        "samples.png",
        "comparison.png",
        "training_curves.png",
        "test_accuracy.png",
        "dead_saturated_per_layer.png",
        "dead_dynamics.png",
        "confusion_best.png",
        "gradient_flow_tiny.png",
        "activation_distributions_tiny.png",
    } <= plots
    models = list(csv.DictReader((repo / "metrics/models.csv").read_text().splitlines()))
    assert [(r["model"], r["lr"], r["stopped"]) for r in models] == [(MODEL, "0.1", "max_epochs")]
    summary = list(csv.DictReader((repo / "metrics/summary.csv").read_text().splitlines()))
    assert [(r["configuration"], r["seeds"], r["trained"]) for r in summary] == [
        ("relu-tiny", "1", "1")
    ]
    caption, _, headline = (repo / "metrics/results/tiny.md").read_text().partition("\n\n")
    assert caption.startswith("*exploratory; trained with a fixed budget of 4 epochs")
    assert headline.startswith("| activation") and "| relu " in headline  # what the docs copy
    aggregates = json.loads((repo / "metrics/aggregates.json").read_text())
    assert aggregates["relu-tiny"]["ci_low"] is None  # one seed: no interval
    assert "(one seed)" in (repo / "metrics/summary.md").read_text()  # no interval
    rendered = json.loads(dvc(repo, "plots", "show", "--json").stdout)
    assert not rendered.get("errors"), rendered["errors"]
    charts = {"train_loss", "val_loss", "train_acc", "val_acc", "dead_neurons"}
    assert charts | {"metrics/plots/training_curves.png"} <= set(rendered["data"])
    val_acc = rendered["data"]["val_acc"][0]
    assert val_acc["type"] == "vega"
    points = val_acc["content"]["data"]["values"]
    assert {p["model"] for p in points} == {MODEL} and len(points) == epochs
    # the HTML page: every chart inline with its libraries (.dvc/plots.html), no remote script
    dvc(repo, "plots", "show", "-o", "page")
    page = (repo / "page/index.html").read_text()
    assert page.count("vegaEmbed('#") == len(charts) and "window.vegaEmbed=" in page
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)


def test_mlflow_one_run_per_model_with_everything(repo):
    runs = live_runs(repo)
    # the models, their configuration and the comparison's figures and tables, a row beside
    # them; the data facts in an experiment of their own
    assert {MODEL, "relu-tiny", "comparison"} <= set(runs) and "data-mnist" not in runs
    pipeline = live_runs(repo, "actlab-pipeline")
    assert "data-mnist" in pipeline
    c = client(repo)
    exp = c.get_experiment_by_name("actlab")
    key = json.loads((repo / f"models/{MODEL}/record.json").read_text())["run_key"]
    same_key = c.search_runs([exp.experiment_id], f"tags.`actlab.run_key` = '{key}'")
    # one live run per model (retraining soft-deletes: test_training_is_bit_identical_on_rerun)
    assert len(same_key) == 1
    run = runs[MODEL]
    epochs = json.loads((repo / f"metrics/train/{MODEL}.json").read_text())["epochs_trained"]
    assert run.data.params["train.lr"] == "0.1"
    assert run.data.tags["activation"] == "relu"
    assert run.data.tags["dvc.stage.train"] == "train"
    assert run.data.tags["dvc.stage.evaluate"] == "evaluate"
    assert re.fullmatch(r"[0-9a-f]{40}", run.data.tags["git_commit"])
    for key in (
        "accuracy/test",
        "cross_entropy/test",
        "parameters",
        "dead/init/total",
        "saturated/trained/total",
    ):
        assert key in run.data.metrics, key
    history = c.get_metric_history(run.info.run_id, "accuracy/val")
    assert [h.step for h in history] == list(range(1, epochs + 1))
    curve = list(csv.DictReader((repo / f"metrics/curves/{MODEL}.tsv").open(), delimiter="\t"))
    assert [h.value for h in sorted(history, key=lambda h: h.step)] == [
        round(100 * float(r["val_acc"]), 6) for r in curve
    ]  # the file's fraction, in percent: one unit for accuracy in MLflow
    assert len(c.get_metric_history(run.info.run_id, "dynamics/dead_total")) == epochs + 1
    assert len(c.get_metric_history(run.info.run_id, "grads/first/mean_abs")) == epochs
    artifacts = {a.path for a in c.list_artifacts(run.info.run_id, "checkpoint")}
    assert "checkpoint/best.pt" in artifacts
    # named alike in every model's run, at the top (MLflow compares top-level files only)
    top = {a.path for a in c.list_artifacts(run.info.run_id)}
    assert {
        "checkpoint", "curves.tsv", "evaluate.json", "dead_neurons.json", "distributions.json",
        "gradient_flow_init.png", "activation_distributions.png", "dead_dynamics.png",
        "weights.png",
    } == top  # fmt: skip
    assert not [k for k in run.data.metrics if k.startswith("test_acc/")]
    assert "epoch" not in run.data.metrics  # the step of every per-epoch metric, not one
    comparison = runs["comparison"]
    assert comparison.data.tags["actlab.kind"] == "comparison"
    assert comparison.info.end_time == comparison.info.start_time
    assert {a.path for a in c.list_artifacts(comparison.info.run_id, "figures")} >= {
        "figures/comparison.png"
    }
    parent = runs["relu-tiny"]  # the configuration: its figure, its page, no duration
    assert {a.path for a in c.list_artifacts(parent.info.run_id)} == {
        "curves.png", "configuration.md"
    }  # fmt: skip
    assert parent.info.end_time == parent.info.start_time
    exp = c.get_experiment_by_name("actlab")
    assert exp.experiment_id == "1"  # what `make ui` opens
    view = json.loads(json.loads(exp.tags["mlflow.sharedViewState.actlab"])["state"])
    assert view["selectedColumns"][0] == "metrics.`accuracy/test_mean`"
    key = comparison.data.tags["actlab.comparison"]  # the view shows this comparison's runs
    assert view["searchFilter"] == f"tags.`actlab.comparison` = '{key}'"
    assert run.data.tags["actlab.comparison"] == parent.data.tags["actlab.comparison"] == key
    # artifacts live in the repo's mlruns/, next to mlflow.db, outside every DVC output
    assert list((repo / "mlruns").rglob("best.pt"))


def test_second_repro_runs_nothing(repo):
    result = dvc(repo, "repro")
    assert ran(result) == set()
    assert "Data and pipelines are up to date." in result.stdout


def test_training_is_bit_identical_on_rerun(repo):
    from mlflow.entities import ViewType

    files = [
        repo / f"models/{MODEL}/{f}"
        for f in ("best.pt", "init.pt", "neuron_history.pt", "record.json")
    ]
    files += [repo / f"metrics/train/{MODEL}.json", repo / f"metrics/curves/{MODEL}.tsv"]
    before = [md5(f) for f in files]
    forced = dvc(repo, "repro", "-f", "-s", "train")
    assert ran(forced) == {"train"} and trained(forced) == 0  # a finished result: kept
    assert [md5(f) for f in files] == before
    shutil.rmtree(repo / "models" / MODEL)  # its result gone: train trains it again
    again = dvc(repo, "repro", "-s", "train")
    assert trained(again) == 1
    assert [md5(f) for f in files] == before
    assert ran(dvc(repo, "repro")) == set()  # identical bytes: nothing downstream reruns
    # train replaced its run: still one live run for the model, the old one soft-deleted
    assert MODEL in live_runs(repo)
    exp = client(repo).get_experiment_by_name("actlab")
    deleted = client(repo).search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert MODEL in {r.info.run_name for r in deleted}


def test_new_run_key_with_identical_checkpoint_still_gets_test_metrics(repo):
    """Early stopping on (patience 7 from epoch 20) cannot change 4 epochs: same checkpoint
    bytes, but a new run key, so evaluate must rerun to log into the new run (it reads the
    key from record.json)."""
    best = md5(repo / f"models/{MODEL}/best.pt")
    write_params(repo, train__early_stopping=True)
    result = dvc(repo, "repro")
    assert {"train", "evaluate", "dead_neurons"} <= ran(result) and trained(result) == 1
    assert md5(repo / f"models/{MODEL}/best.pt") == best
    run = live_runs(repo)[MODEL]
    assert run.data.params["train.early_stopping"] == "True"
    assert run.data.params["train.patience"] == "7"
    assert "accuracy/test" in run.data.metrics and "dead/trained/total" in run.data.metrics


def test_under_a_fixed_budget_the_stopping_rule_retrains_nothing(repo):
    """patience, min_epochs and patience_on decide nothing without early stopping."""
    write_params(repo, train__patience=3, train__min_epochs=2, train__patience_on="val_acc")
    result = dvc(repo, "repro")
    assert trained(result) == 0 and ran(result) == {"check_params", "train"}


def test_plot_param_reruns_only_plot(repo):
    write_params(repo, plot__dpi=45)
    assert ran(dvc(repo, "repro")) == {"check_params", "plot"}


def test_probe_param_never_retrains(repo):
    write_params(repo, probes__saturation_eps=0.01)
    assert ran(dvc(repo, "repro")) == {"check_params", "dead_neurons", "plot"}
    dead = json.loads((repo / f"metrics/dead_neurons/{MODEL}.json").read_text())
    assert dead["saturation_eps"] == 0.01


def test_train_lr_reruns_train_and_what_reads_the_model_but_not_prepare(repo):
    write_params(repo, train__lr=0.05)
    stages = ran(dvc(repo, "repro"))
    assert "prepare" not in stages
    assert {"train", "evaluate"} <= stages
    assert live_runs(repo)[MODEL].data.params["train.lr"] == "0.05"


def test_adding_and_removing_an_activation(repo):
    relu = {p: md5(p) for p in sorted((repo / "models" / MODEL).iterdir())}
    write_params(repo, models__activations=["relu", "tanh"])
    result = dvc(repo, "repro")
    assert ran(result) == AFTER_TRAINING and trained(result) == 1  # tanh only
    assert {p: md5(p) for p in relu} == relu  # relu's result kept byte for byte
    assert "tanh-tiny-42" in (repo / "metrics/models.csv").read_text()
    assert "tanh-tiny" in (repo / "metrics/summary.csv").read_text()
    assert "tanh-tiny-42" in live_runs(repo)
    assert "tanh-tiny-42" in dvc(repo, "plots", "show", "--json").stdout
    write_params(repo)
    result = dvc(repo, "repro")
    assert ran(result) == AFTER_TRAINING and trained(result) == 0  # the table follows params
    assert (repo / "models/tanh-tiny-42/best.pt").exists()  # kept: adding it back is free
    assert not (repo / "metrics/evaluate/tanh-tiny-42.json").exists()
    # the charts and metrics name current models only, whatever files stay behind
    assert "tanh-tiny" not in dvc(repo, "plots", "show", "--json").stdout
    assert "tanh-tiny" not in dvc(repo, "metrics", "show", "--json").stdout
    assert "tanh-tiny" not in (repo / "metrics/summary.csv").read_text()
    assert "tanh-tiny-42" not in (repo / "metrics/models.csv").read_text()


def test_a_grid_of_rates_compares_each_activation_at_its_chosen_rate(repo):
    write_params(repo, models__activations=["relu", "tanh"], train__lr=[0.05, 0.1])
    assert trained(dvc(repo, "repro")) == 4
    rows = list(csv.DictReader((repo / "metrics/models.csv").read_text().splitlines()))
    assert {(r["model"], r["lr"]) for r in rows} == {
        (f"{a}-tiny-lr{lr}-42", lr) for a in ("relu", "tanh") for lr in ("0.05", "0.1")
    }
    grid = (repo / "metrics/results/learning_rates.md").read_text()
    rows = grid.splitlines()[2:]  # below the header
    assert sum("| relu " in r for r in rows) == 2 and sum("| chosen" in r for r in rows) == 2
    summary = (repo / "metrics/summary.md").read_text()
    assert "## Learning rates" in summary and "## Verdicts per rate" in summary
    configurations = list(csv.DictReader((repo / "metrics/summary.csv").read_text().splitlines()))
    # a configuration is a model without its seed: under a grid, named with its chosen rate
    names = [r["configuration"] for r in configurations]
    assert [n.rsplit("-", 1)[0] for n in names] == ["relu-tiny", "tanh-tiny"]
    assert all(n.rsplit("-", 1)[1] in ("lr0.05", "lr0.1") for n in names)
    runs = live_runs(repo)
    assert runs["relu-tiny-lr0.1-42"].data.params["train.lr"] == "0.1"
    assert all("accuracy/test_mean" in runs[n].data.metrics for n in names)  # on its parent
    write_params(repo, models__activations=["relu", "tanh"], train__lr=[0.05, 0.1, 0.2])
    assert trained(dvc(repo, "repro")) == 2  # the new rate's models only


def test_adding_a_seed_runs_only_its_models(repo):
    before = {p: md5(p) for p in sorted((repo / "models" / MODEL).iterdir())}
    write_params(repo, models__seeds=[42, 7])
    result = dvc(repo, "repro")
    assert ran(result) == AFTER_TRAINING and trained(result) == 1
    assert {p: md5(p) for p in before} == before  # seed 42's result kept byte for byte
    rows = csv.DictReader((repo / "metrics/models.csv").read_text().splitlines())
    assert [(r["model"], r["seed"]) for r in rows] == [
        (MODEL, "42"),
        ("relu-tiny-7", "7"),
    ]
    aggregate = json.loads((repo / "metrics/aggregates.json").read_text())["relu-tiny"]
    assert aggregate["ci_low"] <= aggregate["test_acc"] <= aggregate["ci_high"]
    shown = json.loads(dvc(repo, "metrics", "show", "--json").stdout)
    assert "metrics/aggregates.json" in next(iter(shown.values()))["data"]
    runs = live_runs(repo)
    assert runs["relu-tiny-7"].data.params["model.seed"] == "7"
    # the seeds are children of their configuration's run, which holds the aggregates
    parents = {runs[m].data.tags["mlflow.parentRunId"] for m in (MODEL, "relu-tiny-7")}
    assert len(parents) == 1
    parent = client(repo).get_run(parents.pop())
    assert parent.info.run_name == "relu-tiny"
    assert parent.data.tags["actlab.kind"] == "configuration"
    assert parent.data.metrics["seeds"] == 2
    assert parent.data.metrics["accuracy/test_mean"] == pytest.approx(
        aggregate["test_acc"], abs=0.01
    )
    write_params(repo)
    assert trained(dvc(repo, "repro")) == 0


def test_experiment_name_reruns_nothing_that_trains(repo):
    write_params(repo, mlflow__experiment="renamed")
    stages = ran(dvc(repo, "repro"))
    assert "train" not in stages
    runs = live_runs(repo, "renamed")
    assert {MODEL, "comparison"} <= set(runs)
    assert "data-mnist" in live_runs(repo, "renamed-pipeline")
    assert runs[MODEL].data.params["train.lr"] == "0.1"  # created with its params


def test_bad_params_fail_cleanly_and_touch_nothing(repo):
    before = {p: md5(p) for p in sorted((repo / "models").rglob("*.pt"))}
    db = md5(repo / "mlflow.db")
    write_params(repo, train__lr=-1)
    result = dvc(repo, "repro", check=False)
    assert result.returncode != 0
    assert ran(result) == {"check_params"}
    assert "error: train.lr: -1 must be > 0" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert {p: md5(p) for p in before} == before and md5(repo / "mlflow.db") == db
    assert (repo / "data/params_ok.json").exists()  # git sees no file deleted by the failure
    write_params(repo)
    assert ran(dvc(repo, "repro")) == set()  # the valid params and their stamp, as locked


def test_unknown_section_is_rejected_before_any_stage(repo):
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["trian"] = {"lr": 0.5}
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    result = dvc(repo, "repro", check=False)
    assert result.returncode != 0 and ran(result) == {"check_params"}
    assert "error: trian: unknown key (did you mean 'train'?)" in result.stderr


@pytest.mark.chromium
def test_make_ui_opens_on_the_comparison(repo):
    """The URL `make ui` prints, in headless Chromium against the UI it serves: the classic
    runs table with the configuration's row, its test accuracy and its verdict as columns."""
    from tests.helpers import browser

    with socket.socket() as s:  # a free port on the loopback interface
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui = [sys.executable, "-m", "actlab.tools.ui", "--port", str(port)]
    url = sh(repo, *ui, "--print-url").stdout.strip()
    assert url.endswith(
        "/#/experiments/1/runs?workflowType=machine_learning&viewStateShareKey=actlab"
    )
    server = subprocess.Popen(
        ui,
        cwd=repo,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped whole, also on failure
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "UI did not start"
                time.sleep(1)
        dom = browser.dump_dom(url, budget_ms=30_000)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    accuracy = json.loads((repo / "metrics/aggregates.json").read_text())["relu-tiny"]["test_acc"]
    assert "Model training" in dom and "relu-tiny" in dom, dom[-3000:]
    assert "accuracy/test_mean" in dom and "verdict" in dom  # columns, without a click
    assert f"{accuracy:g}" in dom  # the configuration's mean test accuracy, a cell of its row
