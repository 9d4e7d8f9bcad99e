"""End to end on the datasets that are not images: MNIST-1D generated offline, then the user's
own ``.npz`` in data/own/, through the real `dvc repro` (tiny params)."""

import json
import sys

import numpy as np
import pytest
import torch

from tests.helpers.e2e import dvc, environment, make_workspace, ran, sh, write_params

pytestmark = pytest.mark.slow

MNIST1D = {
    "data__dataset": "mnist1d",
    "data__mnist1d": {"seed": 7, "samples": 1000},  # 800 train (200 validate), 200 test
    "data__normalization": "fixed",
    "data__mean": 0.0,
    "data__std": 1.0,
    "models__activations": ["relu", "tanh"],
    "models__seeds": [42, 43],
    "train__optimizer": "adam",
    "train__lr": 0.01,
    "train__batch_size": 100,
    "train__dynamics_subset": 300,
    "train__max_epochs": 20,
    "train__budgets": [10],
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """This module's workspace (the ``repo`` fixture restores it before each test): MNIST-1D."""
    repo = tmp_path_factory.mktemp("datasets") / "repo"
    repo.mkdir()
    return make_workspace(repo, environment(), **MNIST1D)


def test_mnist1d_trains_on_its_40_features_and_reports_them(repo):
    workspace = repo
    meta = json.loads((workspace / "data/prepared/meta.json").read_text())
    assert meta["dataset"] == "mnist1d" and meta["features"] == 40
    assert meta["sizes"] == {"train": 600, "val": 200, "test": 200}
    assert meta["generator"]["seed"] == 7 and meta["generator"]["num_samples"] == 1000
    record = json.loads((workspace / "models/relu-tiny-42/record.json").read_text())
    assert record["spec"]["inputs"] == 40 and record["spec"]["classes"] == 10
    weights = torch.load(workspace / "models/relu-tiny-42/best.pt", weights_only=False)
    assert weights["state_dict"]["layers.0.weight"].shape == (16, 40)
    acc = json.loads((workspace / "metrics/evaluate/relu-tiny-42.json").read_text())["test_acc"]
    assert acc > 0.2  # above chance (0.1)
    aggregates = json.loads((workspace / "metrics/aggregates.json").read_text())
    assert set(aggregates) == {"relu-tiny", "tanh-tiny"}


def test_user_npz_then_a_bad_one_fails_before_anything_is_deleted(repo):
    workspace = repo
    env = environment()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 6)) * 3
    y = rng.integers(0, 3, 500)
    x = (centres[y] + rng.normal(size=(500, 6))).astype(np.float32)
    own = workspace / "data/own"
    np.savez(own / "blobs.npz", x_train=x[:400], y_train=y[:400], x_test=x[400:], y_test=y[400:])
    write_params(
        workspace,
        **{
            **MNIST1D,
            "data__dataset": "files",
            "data__files": {"path": "data/own/blobs.npz", "label": "label"},
            "data__val_size": 100,
        },
    )
    assert "train" in ran(dvc(workspace, "repro", env=env))
    meta = json.loads((workspace / "data/prepared/meta.json").read_text())
    assert meta["features"] == 6 and meta["classes"] == ["0", "1", "2"]
    record = json.loads((workspace / "models/relu-tiny-42/record.json").read_text())
    assert (record["spec"]["inputs"], record["spec"]["classes"]) == (6, 3)
    acc = json.loads((workspace / "metrics/evaluate/relu-tiny-42.json").read_text())["test_acc"]
    assert acc > 0.6  # three separated blobs

    prepared = (workspace / "data/prepared/splits.pt").read_bytes()
    x_bad = x.copy()
    x_bad[3, 2] = np.nan
    np.savez(
        own / "blobs.npz", x_train=x_bad[:400], y_train=y[:400], x_test=x[400:], y_test=y[400:]
    )
    failed = dvc(workspace, "repro", check=False, env=env)
    assert failed.returncode != 0
    assert "data/own/blobs.npz [x_train]: 1 NaN or inf values (the first in row 3)" in (
        failed.stdout + failed.stderr
    )
    assert (workspace / "data/prepared/splits.pt").read_bytes() == prepared  # nothing deleted


def test_fresh_test_sets_measure_the_image_error(repo):
    """The models evaluated on fresh generated test sets: one row per comparison, the measured
    spread beside the predicted one; with --verdicts, the verdicts on the sets pooled."""
    out = sh(
        repo, sys.executable, "-m", "actlab.tools.fresh_test", "--sets", "3", env=environment()
    )
    assert "| tanh-tiny vs relu" in out.stdout
    assert (
        "measured SD over fresh sets" in out.stdout and "predicted from one test set" in out.stdout
    )
    pooled = sh(
        repo,
        sys.executable,
        *("-m", "actlab.tools.fresh_test", "--sets", "3", "--verdicts"),
        env=environment(),
    )
    head, _, row = pooled.stdout.splitlines()[:3]
    assert "[adj. CI], new images" in head and "verdict" in head
    assert row.startswith("| tanh-tiny vs relu")
