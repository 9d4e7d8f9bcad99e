"""Shared fixtures and test data. Tests never read the workspace's params.yaml: a user may
have edited it. They build the params they need from ``reference_params()``."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The tests' own MLflow clients open a new SQLite connection per session: a pooled connection
# would keep serving pages cached from a store file that the ``repo`` fixture has replaced.
# (``tests.e2e.environment`` drops this for the stages the e2e tests run.)
os.environ["MLFLOW_SQLALCHEMYSTORE_POOLCLASS"] = "NullPool"

# The reference configuration of UvA DL tutorial 3 (docs/reference.md), as params.yaml holds it.
_REFERENCE: dict[str, Any] = {
    "data": {
        "dataset": "fashion_mnist",
        "mirror": "auto",
        "val_size": 10000,
        "split_seed": 42,
        "normalization": "fixed",
        "mean": 0.5,
        "std": 0.5,
    },
    "models": {
        "activations": ["sigmoid", "tanh", "relu", "leakyrelu", "elu", "swish", "identity"],
        "architectures": ["base", "deep"],
        "seeds": [42, 43, 44],
    },
    "architectures": {
        "base": {"hidden": [512, 256, 256, 128], "init": "default"},
        "deep": {"hidden": [256] * 5 + [128] * 5, "init": "default"},
        "deep_kaiming": {"hidden": [256] * 5 + [128] * 5, "init": "kaiming"},
        "deep_xavier": {"hidden": [256] * 5 + [128] * 5, "init": "xavier"},
        "mlp_128_64": {"hidden": [128, 64], "init": "default"},
        "shallow_64x4": {"hidden": [64] * 4, "init": "default"},
        "deep_48x9": {"hidden": [48] * 9, "init": "default"},
    },
    "activation_options": {
        "sigmoid": {},
        "tanh": {},
        "relu": {},
        "leakyrelu": {"alpha": 0.1},
        "elu": {"alpha": 1.0},
        "swish": {},
        "identity": {},
        "relu_custom": {},
    },
    "train": {
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "batch_size": 256,
        "max_epochs": 50,
        "patience": 7,
        "device": "auto",
        "activation_impl": "fused",
        "dynamics_subset": 10000,
        "probe_every": 1,
    },
    "probes": {
        "saturation_eps": 1e-3,
        "saturated_fraction": 0.99,
        "batch_size": 1024,
        "grad_batch_size": 256,
        "activation_batch_size": 1024,
        "hist_bins": 60,
    },
    "plot": {"dpi": 110, "width": 12.0, "format": "png"},
    "mlflow": {"experiment": "actlab"},
}


def reference_params(**edits: Any) -> dict[str, Any]:
    """A fresh copy of the reference params with ``section__key=value`` edits; ``...`` deletes."""
    raw = copy.deepcopy(_REFERENCE)
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        node = raw
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return raw


def tiny_params(mirror: Path, **edits: Any) -> dict[str, Any]:
    """A config that runs the whole pipeline in seconds on ``tests.idx.write_mirror`` data."""
    tiny = {
        "data__dataset": "mnist",
        "data__mirror": str(mirror),
        "data__val_size": 200,
        "models__activations": ["relu"],
        "models__architectures": ["tiny"],
        "models__seeds": [42],
        "architectures__tiny": {"hidden": [16, 8], "init": "default"},
        "train__max_epochs": 4,
        "train__lr": 0.1,
        "train__batch_size": 64,
        "train__dynamics_subset": 300,
        "probes__batch_size": 128,
        "probes__grad_batch_size": 64,
        "probes__activation_batch_size": 128,
        "plot__dpi": 40,
        "plot__width": 8.0,
    }
    return reference_params(**{**tiny, **edits})


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Point MLflow at a temp SQLite store for the duration of one test."""
    from stages import tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr(tracking, "repo_root", lambda: tmp_path)
    return uri


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, request):
    """An end-to-end module's repository: a temp copy with the tiny params, reproduced once
    (``tests.e2e.make_workspace``). One per module, so xdist can run modules side by side."""
    from tests.e2e import make_workspace

    return make_workspace(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))


@pytest.fixture(scope="module")
def _reproduced(workspace):
    """A copy of the freshly reproduced workspace (git, DVC cache, MLflow store and all)."""
    snapshot = workspace.with_name(f"{workspace.name}-reproduced")
    shutil.copytree(workspace, snapshot, symlinks=True)
    return snapshot


@pytest.fixture
def repo(workspace, _reproduced):
    """The workspace as it was right after its tiny params were reproduced: every test starts
    from the same files, commits, DVC state and MLflow runs, so the tests pass alone and in any
    order, and none pays for reproducing what the one before it changed."""
    shutil.rmtree(workspace)
    shutil.copytree(_reproduced, workspace, symlinks=True)
    # DVC keys its site cache (/var/tmp/dvc/repo/...) by this file: a new one per test, so no
    # inode, mtime or size that DVC cached for an earlier test's files can match a restored one
    (workspace / ".dvc" / "tmp" / "btime").unlink(missing_ok=True)
    return workspace
