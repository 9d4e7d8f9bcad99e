"""End to end: the real `dvc` CLI on a temp copy of the repo, with a tiny config and IDX mirror.

The tests in this module run in order on one repository, each editing params.yaml the way a
user would and checking which stages DVC reruns, the outputs, and the MLflow store.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT
from tests.idx import write_mirror

MODELS = ["relu-tiny"]  # one model keeps the suite fast; a second is added where it matters


def sh(repo, *args, check=True):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DVC_ROOT", None)
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(repo, *args, check=True):
    return sh(repo, sys.executable, "-m", "dvc", *args, check=check)


def ran(result) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", result.stdout + result.stderr))


def edit(repo, **dotted):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for key, value in dotted.items():
        *parents, last = key.split("__")
        node = params
        for p in parents:
            node = node[p]
        node[last] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def client(repo) -> MlflowClient:
    return MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")


def live_runs(repo, experiment="actlab"):
    """Live runs by name; for a model, the run of the model currently in models/ (by its key)."""
    c = client(repo)
    exp = c.get_experiment_by_name(experiment)
    runs = {}
    for r in c.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"]):
        config = repo / "models" / r.info.run_name / "config.json"
        if not config.exists() or json.loads(config.read_text())["run_key"] == r.data.tags["actlab.run_key"]:
            runs[r.info.run_name] = r
    return runs


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("actlab")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(("metrics/", "models/")) and name != "dvc.lock":
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    write_mirror(repo.parent / "mirror", n_train=700, n_test=200)
    edit(repo, data__dataset="mnist", data__mirror=str(repo.parent / "mirror"),
         data__val_size=200, models__activations=["relu"],
         models__architectures=["tiny"], architectures__tiny=[16, 8],
         train__max_epochs=4, train__lr=0.1, train__batch_size=64, train__dynamics_subset=300,
         probes__batch_size=128, probes__grad_batch_size=64,
         probes__activation_batch_size=128, plot__dpi=40, plot__width=8.0)
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "tiny")
    first = dvc(repo, "repro")
    assert ran(first) == {"check_params", "prepare", "plot"} | {f"{s}@{m}" for s in
                                                ("train", "evaluate", "dead_neurons") for m in MODELS}
    return repo


def test_outputs_and_metrics(repo):
    for m in MODELS:
        for path in (f"models/{m}/best.pt", f"models/{m}/init.pt", f"models/{m}/config.json",
                     f"metrics/curves/{m}.tsv", f"metrics/evaluate/{m}.json",
                     f"metrics/dead_neurons/{m}.json", f"metrics/dead_dynamics/{m}.tsv",
                     f"metrics/probes/{m}.json"):
            assert (repo / path).is_file(), path
    shown = json.loads(dvc(repo, "metrics", "show", "--json").stdout)
    data = next(iter(shown.values()))["data"]
    for m in MODELS:
        metrics = data[f"metrics/evaluate/{m}.json"]["data"]
        assert 0.0 <= metrics["test_acc"] <= 1.0 and metrics["test_loss"] > 0
    relu = json.loads((repo / "metrics/evaluate/relu-tiny.json").read_text())
    assert relu["test_acc"] > 0.3  # the toy classes are separable: it learns
    assert sum(map(sum, relu["confusion_matrix"])) == 200
    dead = json.loads((repo / "metrics/dead_neurons/relu-tiny.json").read_text())
    assert dead["images"] == 500 and len(dead["init"]["dead"]["per_layer"]) == 2
    assert (repo / "metrics/dead_dynamics/relu-tiny.tsv").read_text().count("\n") == 1 + 1 + json.loads(
        (repo / "metrics/train/relu-tiny.json").read_text())["epochs_trained"]
    plots = {p.name for p in (repo / "metrics/plots").iterdir()}
    assert {"activations.png", "samples.png", "training_curves.png", "test_accuracy.png",
            "dead_saturated_per_layer.png", "dead_dynamics.png", "confusion_best.png",
            "gradient_flow_tiny.png", "activation_distributions_tiny.png"} <= plots
    summary = (repo / "metrics/summary.csv").read_text().splitlines()
    assert summary[0].startswith("model,activation,architecture,seed,parameters")
    assert [line.split(",")[0] for line in summary[1:]] == MODELS
    rendered = json.loads(dvc(repo, "plots", "show", "--json").stdout)
    assert not rendered.get("errors"), rendered["errors"]
    assert {"metrics/curves/relu-tiny.tsv", "metrics/dead_dynamics/relu-tiny.tsv",
            "metrics/plots/training_curves.png"} <= set(rendered["data"])
    assert rendered["data"]["metrics/curves/relu-tiny.tsv"][0]["type"] == "vega"


def test_mlflow_one_run_per_model_with_everything(repo):
    runs = live_runs(repo)
    assert set(runs) == set(MODELS) | {"comparison", "data-mnist"}
    c = client(repo)
    for m in MODELS:
        run = runs[m]
        epochs = json.loads((repo / f"metrics/train/{m}.json").read_text())["epochs_trained"]
        assert run.data.params["train.lr"] == "0.1"
        assert run.data.tags["activation"] == m.split("-")[0]
        assert run.data.tags["dvc.stage.train"] == f"train@{m}"
        assert run.data.tags["dvc.stage.evaluate"] == f"evaluate@{m}"
        assert re.fullmatch(r"[0-9a-f]{40}", run.data.tags["git_commit"])
        for key in ("test_acc", "test_loss", "parameters", "dead/init/total", "saturated/trained/total"):
            assert key in run.data.metrics, key
        assert [h.step for h in c.get_metric_history(run.info.run_id, "val_acc")] == list(range(1, epochs + 1))
        assert len(c.get_metric_history(run.info.run_id, "dynamics/dead_total")) == epochs + 1
        assert len(c.get_metric_history(run.info.run_id, "grads/first/mean_abs")) == epochs
        artifacts = {a.path for a in c.list_artifacts(run.info.run_id, "checkpoint")}
        assert "checkpoint/best.pt" in artifacts
        figures = {a.path for a in c.list_artifacts(run.info.run_id, "figures")}
        assert "figures/gradient_flow_init.png" in figures
    assert runs["comparison"].data.tags["actlab.kind"] == "comparison"
    assert not list(repo.glob("**/mlruns/**/*.pt")) or (repo / "mlruns").is_dir()


def test_second_repro_runs_nothing(repo):
    result = dvc(repo, "repro")
    assert ran(result) == set()
    assert "Data and pipelines are up to date." in result.stdout


def test_training_is_bit_identical_on_rerun(repo):
    files = [repo / "models/relu-tiny/best.pt", repo / "models/relu-tiny/init.pt",
             repo / "models/relu-tiny/neuron_history.pt", repo / "models/relu-tiny/config.json",
             repo / "metrics/train/relu-tiny.json", repo / "metrics/curves/relu-tiny.tsv"]
    before = [md5(f) for f in files]
    assert ran(dvc(repo, "repro", "-f", "-s", "train@relu-tiny")) == {"train@relu-tiny"}
    assert [md5(f) for f in files] == before
    assert ran(dvc(repo, "repro")) == set()  # identical bytes: nothing downstream reruns
    # train replaced its run: still one live run for the model, the old one soft-deleted
    assert "relu-tiny" in live_runs(repo)
    exp = client(repo).get_experiment_by_name("actlab")
    deleted = client(repo).search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert "relu-tiny" in {r.info.run_name for r in deleted}


def test_new_run_key_with_identical_checkpoint_still_gets_test_metrics(repo):
    """patience 7 -> 8 cannot change 4 epochs: same checkpoint bytes, but a new run key, so
    evaluate must rerun to log into the new run (it reads the key from config.json)."""
    best = md5(repo / "models/relu-tiny/best.pt")
    edit(repo, train__patience=8)
    stages = ran(dvc(repo, "repro"))
    assert {"train@relu-tiny", "evaluate@relu-tiny", "dead_neurons@relu-tiny"} <= stages
    assert md5(repo / "models/relu-tiny/best.pt") == best
    run = live_runs(repo)["relu-tiny"]
    assert run.data.params["train.patience"] == "8"
    assert "test_acc" in run.data.metrics and "dead/trained/total" in run.data.metrics


def test_plot_param_reruns_only_plot(repo):
    edit(repo, plot__dpi=45)
    assert ran(dvc(repo, "repro")) == {"check_params", "plot"}


def test_probe_param_never_retrains(repo):
    edit(repo, probes__saturation_eps=0.01)
    assert ran(dvc(repo, "repro")) == {"check_params", "plot"} | {f"dead_neurons@{m}" for m in MODELS}
    assert json.loads((repo / "metrics/dead_neurons/relu-tiny.json").read_text())["saturation_eps"] == 0.01


def test_train_lr_reruns_train_and_what_reads_the_model_but_not_prepare(repo):
    edit(repo, train__lr=0.05)
    stages = ran(dvc(repo, "repro"))
    assert "prepare" not in stages
    assert {f"train@{m}" for m in MODELS} | {f"evaluate@{m}" for m in MODELS} <= stages
    assert live_runs(repo)["relu-tiny"].data.params["train.lr"] == "0.05"


def test_adding_and_removing_an_activation(repo):
    edit(repo, models__activations=["relu", "tanh"])
    assert ran(dvc(repo, "repro")) == {"check_params", "train@tanh-tiny", "evaluate@tanh-tiny",
                                       "dead_neurons@tanh-tiny", "plot"}
    assert "tanh-tiny" in (repo / "metrics/summary.csv").read_text()
    assert "tanh-tiny" in live_runs(repo)
    edit(repo, models__activations=["relu"])
    assert ran(dvc(repo, "repro")) == {"check_params", "plot"}  # table follows params, not stale files
    assert (repo / "metrics/evaluate/tanh-tiny.json").exists()
    assert "tanh-tiny" not in (repo / "metrics/summary.csv").read_text()


def test_extra_seeds_fan_out_and_feed_the_error_bars(repo):
    edit(repo, models__extra_seeds=[7])
    assert ran(dvc(repo, "repro")) == {"check_params", "train_seed@relu-tiny-7",
                                       "evaluate_seed@relu-tiny-7",
                                       "dead_neurons_seed@relu-tiny-7", "plot"}
    rows = (repo / "metrics/summary.csv").read_text().splitlines()[1:]
    assert [(r.split(",")[0], r.split(",")[3]) for r in rows] == [("relu-tiny", "42"), ("relu-tiny-7", "7")]
    run = live_runs(repo)["relu-tiny-7"]
    assert run.data.params["model.seed"] == "7"
    edit(repo, models__extra_seeds=[])
    assert ran(dvc(repo, "repro")) == {"check_params", "plot"}


def test_experiment_name_reruns_nothing_that_trains(repo):
    edit(repo, mlflow__experiment="renamed")
    stages = ran(dvc(repo, "repro"))
    assert not any(s.startswith(("train@", "prepare")) for s in stages)
    runs = live_runs(repo, "renamed")
    assert {"relu-tiny", "comparison"} <= set(runs)
    assert runs["relu-tiny"].data.params["train.lr"] == "0.05"  # created with its params


def test_bad_params_fail_cleanly_and_touch_nothing(repo):
    before = {p: md5(p) for p in sorted((repo / "models").rglob("*.pt"))}
    db = md5(repo / "mlflow.db")
    edit(repo, train__lr=-1)
    result = dvc(repo, "repro", check=False)
    assert result.returncode != 0
    assert ran(result) == {"check_params"}
    assert "error: train.lr: -1 must be > 0" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert {p: md5(p) for p in before} == before and md5(repo / "mlflow.db") == db
    edit(repo, train__lr=0.05)
    assert ran(dvc(repo, "repro")) == {"check_params"}  # the valid stamp: nothing else reruns


def test_dvc_exp_run_temp_logs_to_the_same_store(repo):
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "state")
    result = dvc(repo, "exp", "run", "--temp", "-n", "eps-exp", "-S", "probes.saturation_eps=0.05")
    assert "dead_neurons@relu-tiny" in ran(result)
    runs = live_runs(repo, "renamed")  # the experiment name params.yaml holds now
    assert runs["relu-tiny"].data.tags.get("dvc.exp_name") == "eps-exp"
    assert not (repo / ".dvc" / "tmp" / "exps").exists() or not list(
        (repo / ".dvc" / "tmp" / "exps").rglob("mlflow.db"))
