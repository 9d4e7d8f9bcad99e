"""End to end, what happens when things go wrong: a killed training resumes bit-identical,
SIGTERM closes the MLflow run, an unreachable tracking server fails fast, and two forced
reruns give identical bytes. Each test builds on the tiny config of ``tests.helpers.e2e``."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.e2e import (
    MODEL,
    client,
    dvc,
    environment,
    free_port,
    ran,
    sha256_of_outputs,
    write_params,
)

pytestmark = pytest.mark.slow
# long enough to be stopped midway, with a resume state after every epoch
LONG = {"train__max_epochs": 40, "train__checkpoint_seconds": 0}


def start_training(repo):
    env = environment()
    return subprocess.Popen(
        [sys.executable, "-m", "stages.train"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_after_first_epoch(repo, process, sig) -> None:
    """Send ``sig`` once the resume state of an epoch is on disk."""
    resume = repo / ".actlab" / "resume"
    deadline = time.monotonic() + 120
    while not (resume.exists() and list(resume.glob("*.pt"))):
        assert process.poll() is None, process.stdout and process.stdout.read()
        assert time.monotonic() < deadline, "no resume state after 120 s"
        time.sleep(0.01)
    process.send_signal(sig)
    process.wait(timeout=300)


def test_killed_training_resumes_bit_identical(repo):
    write_params(repo, **LONG)
    dvc(repo, "repro")
    uninterrupted = sha256_of_outputs(repo)

    shutil.rmtree(repo / "models" / MODEL)  # no finished result: train trains it again
    process = start_training(repo)
    stop_after_first_epoch(repo, process, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    (state,) = (repo / ".actlab" / "resume").glob("*.pt")
    import torch

    saved = torch.load(state, weights_only=True)
    assert 1 <= saved["epoch"] < 40
    killed_run = saved["run_id"]

    result = dvc(repo, "repro", "-f", "-s", "train")
    assert f"resuming after epoch {saved['epoch']}" in result.stdout + result.stderr
    assert not list((repo / ".actlab" / "resume").glob("*.pt"))  # removed on success
    assert ran(dvc(repo, "repro")) == set()  # identical bytes: nothing downstream reruns
    assert sha256_of_outputs(repo) == uninterrupted
    run = client(repo).get_run(killed_run)  # the resumed training went on in the same run
    history = client(repo).get_metric_history(killed_run, "val_acc")
    assert sorted(h.step for h in history) == list(range(1, len(history) + 1))
    # The resumed training made the same checkpoint as the uninterrupted one, whose complete
    # run stays the model's; the resumed run is soft-deleted (runs.settle_training_run).
    assert run.info.status == "FINISHED" and run.info.lifecycle_stage == "deleted"
    key = run.data.tags["actlab.run_key"]
    (live,) = client(repo).search_runs([run.info.experiment_id], f"tags.`actlab.run_key` = '{key}'")
    assert live.info.run_id != killed_run and live.info.status == "FINISHED"


def test_unreachable_tracking_server_fails_fast_before_any_stage_touches_outputs(repo):
    write_params(repo, train__lr=0.05)  # an edit: check_params reruns
    port = free_port()  # nobody listens on it
    before = (repo / f"models/{MODEL}/best.pt").read_bytes()
    env = environment({"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"})
    start = time.monotonic()
    check = subprocess.run(
        [sys.executable, "-m", "stages.check_params"], cwd=repo, env=env, capture_output=True
    )
    assert check.returncode == 2 and time.monotonic() - start < 10  # seconds, not minutes
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        f"error: MLFLOW_TRACKING_URI=http://127.0.0.1:{port}: the tracking server does not answer"
        in output
    )
    assert "Traceback" not in output and ran(result) == {"check_params"}
    assert (repo / f"models/{MODEL}/best.pt").read_bytes() == before


def test_a_forced_rerun_gives_identical_bytes(repo):
    first = sha256_of_outputs(repo)
    dvc(repo, "repro", "-f")  # every stage again
    assert sha256_of_outputs(repo) == first
    assert_one_complete_run_per_model(repo)  # identical results: the complete run stays
    assert "metrics/summary.csv" in first and f"models/{MODEL}/best.pt" in first
    timing = json.loads((repo / f"metrics/timing/{MODEL}.json").read_text())
    assert timing["seconds"] > 0 and timing["threads"] >= 1  # apart, in metrics/timing/


def assert_one_complete_run_per_model(repo) -> None:
    """Each model in dvc.lock has exactly one live MLflow run: FINISHED, with its train,
    evaluate and dead-neuron metrics and its figures."""
    import yaml

    matrix = yaml.safe_load((repo / "params.yaml").read_text())["models"]
    models = [
        f"{a}-{arch}-{seed}"
        for a in matrix["activations"]
        for arch in matrix["architectures"]
        for seed in matrix["seeds"]
    ]
    c = client(repo)
    exp = c.get_experiment_by_name("actlab")
    for model in models:
        key = json.loads((repo / f"models/{model}/record.json").read_text())["run_key"]
        (run,) = c.search_runs([exp.experiment_id], f"tags.`actlab.run_key` = '{key}'")
        assert run.info.status == "FINISHED", (model, run.info.status)
        assert {"accuracy/val", "accuracy/best_val", "accuracy/test", "dead/trained/total"} <= set(
            run.data.metrics
        ), (model, sorted(run.data.metrics))
        top = {a.path for a in c.list_artifacts(run.info.run_id)}
        assert "gradient_flow_init.png" in top, model


def test_one_live_finished_run_per_model_after_a_failed_training_is_fixed(repo):
    assert_one_complete_run_per_model(repo)
    # (a forced rerun: test_a_forced_rerun_gives_identical_bytes checks the same invariant)
    # a training that fails (its store is gone) after DVC removed its outputs, then is fixed
    dead_server = {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}"}
    shutil.rmtree(repo / "models" / MODEL)
    failed = dvc(repo, "repro", "-f", "-s", "train", env=dead_server, check=False)
    assert failed.returncode != 0
    assert "train" in ran(dvc(repo, "repro"))
    assert_one_complete_run_per_model(repo)


def stage_pids(repo, module="stages.train") -> list[int]:
    """Processes running ``python -m <module>`` in ``repo``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if module.encode() in cmd and Path(os.readlink(proc / "cwd")) == repo:
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def test_sigterm_to_dvc_stops_its_training_and_closes_the_run(repo, tmp_path):
    """SIGTERM to ``dvc repro`` (not to the stage): the training stops within seconds, its run
    is closed as KILLED, and its resume state stays for the next ``dvc repro``."""
    write_params(repo, train__max_epochs=400, train__checkpoint_seconds=0)
    env = environment()
    log = tmp_path / "repro.log"
    with log.open("w") as out:
        repro = subprocess.Popen(
            [sys.executable, "-m", "dvc", "repro"], cwd=repo, env=env, stdout=out, stderr=out
        )
    try:
        stop_after_first_epoch(repo, repro, signal.SIGTERM)  # to dvc, not to the stage
        (train,) = stage_pids(repo) or [None]
        assert train is not None, "the training should still be running here"
        deadline = time.monotonic() + 30
        while stage_pids(repo):
            assert time.monotonic() < deadline, "the training runs on without its dvc"
            time.sleep(0.2)
        (state,) = (repo / ".actlab" / "resume").glob("*.pt")
        import torch

        run = client(repo).get_run(torch.load(state, weights_only=True)["run_id"])
        assert run.info.status == "KILLED"
        output = log.read_text()
        assert "the process that started this stage is gone" in output
        assert "stopped by SIGTERM" in output
    finally:
        for pid in stage_pids(repo):
            os.kill(pid, signal.SIGKILL)
    state.unlink()
    write_params(repo)
    dvc(repo, "repro")  # back to the tiny params: their model, kept in place, is reused
    assert_one_complete_run_per_model(repo)
