"""End to end, DVC experiments: ``dvc exp run --temp``, two queued experiments on parallel
workers sharing the SQLite store, the tutorial presets, and a diverging model. Same tiny
config and fixtures as ``test_e2e`` (``workspace`` and ``repo`` in ``conftest``), in a module of
its own so that pytest-xdist runs it beside the other end-to-end modules."""

import json
import sys

import pytest

from tests.helpers.e2e import (
    MODEL,
    assert_experiment_runs,
    dvc,
    live_runs,
    ran,
    run_queue,
    sh,
    trained,
    write_params,
)

pytestmark = pytest.mark.slow


def test_dvc_exp_run_temp_logs_to_the_same_store(repo):
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "state", "--allow-empty")
    result = dvc(repo, "exp", "run", "--temp", "-n", "eps-exp", "-S", "probes.saturation_eps=0.05")
    assert "dead_neurons" in ran(result) and "train" not in ran(result)
    runs = live_runs(repo)
    assert runs[MODEL].data.tags.get("dvc.exp_name") == "eps-exp"
    # two experiments that train, on two parallel queue workers sharing the SQLite store: each
    # run is complete and named after its experiment (lrs no other test trains: a model trained
    # before would keep its earlier run)
    run_queue(repo, None, {"lr-a": "train.lr=0.03", "lr-b": "train.lr=0.07"})
    assert_experiment_runs(live_runs(repo), {"lr-a": "0.03", "lr-b": "0.07"})
    # make exp-show: the experiments in 100 columns, the changed params before the accuracy
    shown = sh(repo, sys.executable, "-m", "actlab.tools.exp_show", "--width", "100").stdout
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 100 and lines[0].split()[:2] == ["Experiment", "train.lr"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.strip()}
    assert rows["lr-a"][1] == "0.03" and rows["lr-b"][1] == "0.07"
    assert "relu-tiny" in lines[0] and float(rows["lr-a"][-1]) > 0
    temp_dbs = (
        list((repo / ".dvc" / "tmp" / "exps").rglob("mlflow.db"))
        if (repo / ".dvc" / "tmp" / "exps").exists()
        else []
    )
    assert temp_dbs == []


def test_a_diverging_model_is_a_result_the_whole_pipeline_reports(repo):
    write_params(repo, train__lr=1e30)  # valid, and the loss overflows within 4 epochs
    result = dvc(repo, "repro")
    assert {"dead_neurons", "plot"} <= ran(result)
    assert "Traceback" not in result.stdout + result.stderr
    train = json.loads((repo / f"metrics/train/{MODEL}.json").read_text())
    diverged = train["diverged_at_epoch"]
    assert diverged is not None and train["best_epoch"] < diverged  # the last finite best kept
    dead = json.loads((repo / f"metrics/dead_neurons/{MODEL}.json").read_text())
    assert len(dead["trained"]["dead"]["per_layer"]) == 2
    import csv

    (row,) = csv.DictReader((repo / "metrics/models.csv").open())
    assert row["diverged_at_epoch"] == str(diverged)
    run = live_runs(repo)[MODEL]
    assert run.info.status == "FINISHED" and run.data.tags["diverged"] == f"epoch {diverged}"
    assert "accuracy/test" in run.data.metrics


def test_the_tutorial_presets_run_end_to_end_on_tiny_data(repo):
    """Each preset through its command (``make preset`` runs the same), as a DVC experiment
    on the tiny mirror, kept small with extra edits: one seed, one epoch, one activation (the
    presets' full matrices are checked by ``test_presets``). uva-tutorial3 has no edits: it is
    the pipeline every other test runs."""
    import sys

    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "state", "--allow-empty")
    small = (
        "--set",
        "models.seeds=[42]",
        "--set",
        "train.max_epochs=1",
        "--set",
        "train.budgets=[]",
    )
    cases = {  # leaky relu: its alpha comes from the preset too
        "mnist-custom-autograd": (
            ("--set", "models.activations=[leakyrelu]", "--set", "analysis.baseline=leakyrelu"),
            ["leakyrelu"],
            ["mlp_128_64"],
        ),
        "mnist-shallow-deep": (
            ("--set", "models.activations=[leakyrelu]", "--set", "analysis.baseline=leakyrelu"),
            ["leakyrelu"],
            ["shallow_64x4", "deep_48x9"],
        ),
    }
    for preset, (extra, activations, architectures) in cases.items():
        sh(repo, sys.executable, "-m", "actlab.tools.presets", preset, *small, *extra)
        runs = live_runs(repo)
        for activation in activations:
            for arch in architectures:
                run = runs[f"{activation}-{arch}-42 @ {preset}"]
                assert run.info.status == "FINISHED" and "accuracy/test" in run.data.metrics
                assert run.data.params["data.dataset"] == "mnist"
                assert run.data.params["data.mean"] == "0.1307"
                if activation == "leakyrelu":
                    assert run.data.params["activation.alpha"] == "0.01"
        impl = "manual" if preset == "mnist-custom-autograd" else "fused"
        assert run.data.params["train.activation_impl"] == impl
    assert {"mnist-custom-autograd", "mnist-shallow-deep"} <= set(
        dvc(repo, "exp", "ls", "--name-only").stdout.split()
    )


def test_persisted_models_are_reused_by_experiments_and_by_a_clone_with_a_remote(repo, tmp_path):
    """train's outputs persist (DVC keeps them in place): an experiment in a temp workspace, a
    queued one, and a clone that pulled the models from a DVC remote all train only the
    models without a finished result of their run key."""
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "state", "--allow-empty")
    temp = dvc(repo, "exp", "run", "--temp", "-n", "seed-7", "-S", "models.seeds=[42,7]")
    assert trained(temp) == 1  # relu-tiny-7; relu-tiny-42 came from the cache, kept
    run_queue(repo, None, {"seed-8": "models.seeds=[42,8]"})
    assert trained(dvc(repo, "queue", "logs", "seed-8")) == 1
    assert "relu-tiny-8 @ seed-8" in live_runs(repo)
    dvc(repo, "exp", "apply", "seed-7")
    assert (repo / "models/relu-tiny-7/best.pt").exists()
    assert ran(dvc(repo, "repro")) == set()  # the applied experiment is up to date
    # a clone with the models from a DVC remote: nothing to train, even when forced
    remote = tmp_path / "remote"
    dvc(repo, "remote", "add", "-d", "local", str(remote))
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "seed 7 and a remote")
    dvc(repo, "push")
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    dvc(clone, "pull")
    assert ran(dvc(clone, "status")) == set() and "up to date" in dvc(clone, "status").stdout
    forced = dvc(clone, "repro", "-f", "-s", "train")
    assert trained(forced) == 0
