"""Helpers of the end-to-end tests: a temp copy of the repository with the tiny config, and
the real ``dvc`` / ``git`` CLIs run in it."""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.helpers.idx import write_mirror
from tests.helpers.params import ROOT, tiny_params

MODEL = "relu-tiny-42"
STAGES = {"check_params", "prepare", "train", "evaluate", "dead_neurons", "plot"}
# What a change of the model matrix (or of what the models are) reruns: every stage after
# prepare (train itself trains only the models without a finished result).
AFTER_TRAINING = {"check_params", "train", "evaluate", "dead_neurons", "plot"}


def free_port() -> int:
    """A loopback port nobody listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(extra=None) -> dict[str, str]:
    """The environment of every command the e2e tests run: the local SQLite store (no
    ``MLFLOW_TRACKING_URI`` of the caller), one thread, plus ``extra`` (e.g. a tracking
    server's ``MLFLOW_TRACKING_URI``)."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        # tiny models gain nothing from threads, and parallel test workers share the cores
        "OMP_NUM_THREADS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", None)  # the stages pool as they do for users
    env.pop("DVC_ROOT", None)
    return {**env, **(extra or {})}


def sh(repo, *args, check=True, env=None):
    """Run a command in ``repo`` in ``environment(env)``."""
    result = subprocess.run(args, cwd=repo, env=environment(env), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(repo, *args, check=True, env=None):
    return sh(repo, sys.executable, "-m", "dvc", *args, check=check, env=env)


def ran(result) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", result.stdout + result.stderr))


def write_params(repo, **edits):
    raw = tiny_params(repo.parent / "mirror", **edits)
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def sha256_of_outputs(repo, skip=("metrics/timing/",)) -> dict[str, str]:
    """Every file DVC tracks as an output (from dvc.lock), by its sha256."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    paths = {o["path"] for stage in lock["stages"].values() for o in stage.get("outs", [])}
    files = {}
    for path in sorted(paths):
        target = repo / path
        for f in sorted(target.rglob("*")) if target.is_dir() else [target]:
            name = str(f.relative_to(repo))
            if f.is_file() and not name.startswith(skip):
                files[name] = hashlib.sha256(f.read_bytes()).hexdigest()
    return files


def client(repo):
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")


def live_runs(repo, experiment="actlab"):
    """Live runs by name; for a model, the run of the model currently in models/ (by its key)."""
    c = client(repo)
    exp = c.get_experiment_by_name(experiment)
    runs = {}
    for r in c.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"]):
        record = repo / "models" / r.info.run_name / "record.json"
        if not record.exists() or (
            json.loads(record.read_text())["run_key"] == r.data.tags["actlab.run_key"]
        ):
            runs[r.info.run_name] = r
    return runs


def copy_project(
    dest: Path, skip=("metrics/", "models/"), skip_names=("dvc.lock", "params.yaml")
) -> None:
    """The project's files as git sees them (tracked, and untracked but not ignored) into
    ``dest``, without results (``skip``: path prefixes) and ``skip_names``."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(skip) and name not in skip_names:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


def make_workspace(repo: Path, env=None, **edits) -> Path:
    """A git repo at ``repo`` with the project's tracked files (no results), the tiny params
    (with ``edits``) and an IDX mirror beside it, reproduced once (with ``env`` added, see
    ``sh``)."""
    copy_project(repo)
    write_mirror(repo.parent / "mirror", n_train=700, n_test=200)
    write_params(repo, **edits)
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "tiny")
    first = dvc(repo, "repro", env=env)
    assert ran(first) == STAGES
    return repo


def run_queue(repo, env, experiments: dict[str, str]) -> None:
    """Queue one experiment per name (``-S`` edit), run them with two parallel workers, and
    wait until the queue is done; every experiment must succeed."""
    for name, edit in experiments.items():
        dvc(repo, "exp", "run", "--queue", "-n", name, "-S", edit, env=env)
    dvc(repo, "queue", "start", "-j", "2", env=env)
    deadline = time.monotonic() + 600
    while True:
        status = dvc(repo, "queue", "status", env=env).stdout
        if not any(word in status for word in ("Queued", "Running")):
            break
        assert time.monotonic() < deadline, status
        time.sleep(2)
    for name in experiments:
        line = next(x for x in status.splitlines() if name in x)
        assert "Success" in line, (status, dvc(repo, "queue", "logs", name, check=False).stdout)
    # The workers idle on for a while after the queue is done: stop them before the test (or
    # the next one's workspace restore) goes on.
    dvc(repo, "queue", "stop", env=env)
    while "Worker status: 0 active, 0 idle" not in dvc(repo, "queue", "status", env=env).stdout:
        assert time.monotonic() < deadline, "the queue workers do not stop"
        time.sleep(1)


def assert_experiment_runs(runs, lrs: dict[str, str]) -> None:
    """The model run each experiment (name -> its ``train.lr``) trained: named after the
    experiment, FINISHED, with its lr and the later stages' metrics."""
    for name, lr in lrs.items():
        run = runs[f"{MODEL} @ {name}"]
        assert run.info.status == "FINISHED" and run.data.params["train.lr"] == lr
        assert {"accuracy/test", "dead/trained/total"} <= set(run.data.metrics)


def trained(result) -> int:
    """How many models the train stage of a ``dvc repro`` trained (its log says)."""
    (count,) = re.findall(r"(\d+) to train on", result.stdout + result.stderr)
    return int(count)
