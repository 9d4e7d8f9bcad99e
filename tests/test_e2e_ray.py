"""End to end, the train stage on a Ray cluster (``RAY_ADDRESS``): a head this module starts on
127.0.0.1 with two one-CPU workers, the real ``dvc`` CLI, the tiny config. The same bits as a
training here, only new models trained, a worker killed mid-training, Ctrl-C, and an address
nobody answers. The head is stopped by its process group, also when a test fails."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers.e2e import (
    MODEL,
    client,
    dvc,
    environment,
    free_port,
    live_runs,
    ran,
    sha256_of_outputs,
    trained,
    write_params,
)
from tests.helpers.ray_head import LOOPBACK, ray_head

pytestmark = pytest.mark.slow

MATRIX = {"models__activations": ["relu", "tanh"], "models__seeds": [42]}
# long enough to be stopped midway on a worker (about ten seconds), with resume states every
# 0.2 s: few enough that the driver keeps up with the worker (checkpoint_seconds is not part of
# a model's run key: trained without them, it is the same model)
LONG = {**MATRIX, "train__max_epochs": 300, "train__checkpoint_seconds": 0.2}
QUICK_LONG = {**LONG, "train__checkpoint_seconds": 30}


@pytest.fixture(scope="module")
def head():
    with ray_head(cpus=2) as h:
        yield h


def on(head) -> dict[str, str]:
    return {"RAY_ADDRESS": head.address, **LOOPBACK}


def statuses(repo) -> dict[str, str]:
    """Every run of the experiment: its status, by run id."""
    c = client(repo)
    exp = c.get_experiment_by_name("actlab")
    return {r.info.run_id: r.info.status for r in c.search_runs([exp.experiment_id])}


def assert_every_model_finished_and_nested(repo, models) -> None:
    live = live_runs(repo)  # the run of the model now in models/ (by its run key)
    for name in models:
        run = live[name]
        assert run.info.status == "FINISHED"
        parent = client(repo).get_run(run.data.tags["mlflow.parentRunId"])
        assert parent.info.run_name == name.rsplit("-", 1)[0]  # its configuration
        assert {"accuracy/val", "accuracy/test"} <= set(run.data.metrics)
    assert "RUNNING" not in statuses(repo).values()


def reproduce_in_background(repo, env):
    return subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=repo,
        env=environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: Ctrl-C goes to dvc and its stage, as a TTY's
    )


def wait_for_resume_states(repo, process, count: int) -> None:
    resume = repo / ".actlab" / "resume"
    deadline = time.monotonic() + 120
    while not (resume.exists() and len(list(resume.glob("*.pt"))) >= count):
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "no resume state after 120 s"
        time.sleep(0.01)


def test_through_ray_the_same_bytes_and_only_new_models(repo, head):
    write_params(repo, **MATRIX)
    dvc(repo, "repro")  # here, one thread (the tests' environment): the reference
    here = sha256_of_outputs(repo)

    for model in ("relu-tiny-42", "tanh-tiny-42"):  # no finished result: trained again
        for path in (repo / "models" / model).iterdir():
            path.unlink()
    result = dvc(repo, "repro", env=on(head))
    assert trained(result) == 2 and ran(result) == {"train"}  # same bytes: nothing after it
    assert sha256_of_outputs(repo) == here
    timing = json.loads((repo / "metrics/timing/tanh-tiny-42.json").read_text())
    assert timing["threads"] == 1  # the worker's count, which the bits depend on
    assert timing["worker"].startswith(f"{socket.gethostname()}:")  # host:pid of its worker
    assert_every_model_finished_and_nested(repo, ["relu-tiny-42", "tanh-tiny-42"])

    write_params(repo, **{**MATRIX, "models__seeds": [42, 43]})
    result = dvc(repo, "repro", env=on(head))
    assert trained(result) == 2  # the new seed's two models, on the cluster
    assert_every_model_finished_and_nested(repo, ["relu-tiny-43", "tanh-tiny-43"])


def test_a_worker_killed_mid_training_is_sent_again_from_its_resume_state(repo, head):
    write_params(repo, **QUICK_LONG)
    dvc(repo, "repro")
    uninterrupted = sha256_of_outputs(repo)
    write_params(repo, **LONG)

    for model in ("relu-tiny-42", "tanh-tiny-42"):
        for path in (repo / "models" / model).iterdir():
            path.unlink()
    process = reproduce_in_background(repo, on(head))
    try:
        wait_for_resume_states(repo, process, 1)
        workers = head.workers()
        assert workers, "no worker trains"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, output
    assert "the Ray worker was lost" in output and "sent again from epoch" in output
    assert not list((repo / ".actlab" / "resume").glob("*.pt"))
    assert sha256_of_outputs(repo) == uninterrupted  # resumed, bit-identical
    assert_every_model_finished_and_nested(repo, ["relu-tiny-42", "tanh-tiny-42"])
    c = client(repo)
    for run_id, status in statuses(repo).items():
        if c.get_run(run_id).info.run_name == MODEL and status == "FINISHED":
            steps = sorted(m.step for m in c.get_metric_history(run_id, "val_acc"))
            assert steps == list(range(1, len(steps) + 1))  # no epoch twice, none missing


def test_ctrl_c_cancels_the_tasks_closes_the_runs_and_the_next_repro_resumes(repo, head):
    # longer still: under load the driver can lag the workers by seconds, and a model whose
    # result is already back when Ctrl-C comes is written, not killed
    long = {**LONG, "train__max_epochs": 1000}
    write_params(repo, **long)
    process = reproduce_in_background(repo, on(head))
    try:
        wait_for_resume_states(repo, process, 2)
        deadline = time.monotonic() + 60
        while not head.workers():  # Ctrl-C while a worker trains
            assert process.poll() is None and time.monotonic() < deadline, "no worker trains"
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode != 0 and "stopped by Ctrl-C" in output, output
    assert "RUNNING" not in statuses(repo).values()
    assert "KILLED" in statuses(repo).values()
    deadline = time.monotonic() + 30
    while head.workers():  # the cancelled tasks' workers are killed
        assert time.monotonic() < deadline, "the tasks go on after Ctrl-C"
        time.sleep(0.2)

    # the same models (checkpoint_seconds is no part of the run key), written out less often
    write_params(repo, **{**long, "train__checkpoint_seconds": 30})
    result = dvc(repo, "repro", env=on(head))
    assert "resuming after epoch" in result.stdout + result.stderr
    assert_every_model_finished_and_nested(repo, ["relu-tiny-42", "tanh-tiny-42"])


def test_an_address_nobody_answers_fails_fast_with_its_fix(repo):
    write_params(repo, **MATRIX)
    addr = f"127.0.0.1:{free_port()}"
    result = dvc(repo, "repro", env={"RAY_ADDRESS": addr}, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"error: RAY_ADDRESS={addr}: no Ray cluster answers there" in output
    assert "Traceback" not in output and "train" in ran(result)
    start = time.monotonic()
    direct = subprocess.run(
        [sys.executable, "-m", "stages.train"],
        cwd=repo,
        env=environment({"RAY_ADDRESS": addr}),
        capture_output=True,
        text=True,
    )
    assert time.monotonic() - start < 10  # seconds, not Ray's minutes of retries
    assert direct.returncode == 2 and direct.stderr.strip().startswith("error: RAY_ADDRESS=")


def test_without_an_address_the_stage_loads_nothing_of_ray(repo):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stages.train"],
        cwd=repo,
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "actlab.training.cluster" in imported
    assert not [m for m in imported if m == "ray" or m.startswith("ray.")]
