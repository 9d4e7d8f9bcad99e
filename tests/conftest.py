"""Fixtures only; the helpers the tests import are in ``tests/helpers/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def _postgres_installed() -> bool:
    return bool(shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")))


# What a marked test needs, and the fix when it is missing: a marker, not a skip hidden in a
# fixture, so `pytest -m fmnist` selects them and the skip reason names the fix.
NEEDS = {
    "fmnist": (
        lambda: DEBIAN_FASHION_MNIST.is_dir(),
        "needs the real FashionMNIST: apt-get install dataset-fashion-mnist (.ci/run does)",
    ),
    "postgres": (
        _postgres_installed,
        "needs PostgreSQL: apt-get install postgresql (.ci/run does)",
    ),
    "cuda": (lambda: __import__("torch").cuda.is_available(), "needs a CUDA GPU"),
    "chromium": (
        lambda: __import__("tests.helpers.browser", fromlist=["binary"]).binary() is not None,
        "needs a headless browser: apt-get install chromium (.ci/run does)",
    ),
}


def pytest_runtest_setup(item):
    for marker, (available, reason) in NEEDS.items():
        if item.get_closest_marker(marker) and not available():
            pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _fresh_sqlite_connections():
    """The tests' own MLflow clients open a new SQLite connection per session: a pooled
    connection would keep serving pages cached from a store file that the ``repo`` fixture has
    replaced. (``tests.helpers.e2e.environment`` drops this for the stages e2e tests run.)"""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _cublas_workspace():
    """cuBLAS reads CUBLAS_WORKSPACE_CONFIG when a process first uses it: set it before any
    test can, as ``actlab.device.make_deterministic`` does for the stages."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    yield
    mp.undo()


@pytest.fixture
def deterministic():
    """Deterministic algorithms on for one test, as the stages run; the setting put back."""
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)


@pytest.fixture(params=[1, 2], ids=lambda n: f"{n}thread{'s' * (n > 1)}")
def threads(request):
    """The test runs under each thread count (``torch.set_num_threads``), the count put back:
    the BLAS and the elementwise kernels split their work by threads, so a bit-identity
    promise must hold under one thread and under several (docs/reproducibility.md).
    Override the counts with ``@pytest.mark.parametrize("threads", [...], indirect=True)``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Point MLflow at a temp SQLite store for the duration of one test."""
    from actlab.tracking import store

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr(store, "repo_root", lambda: tmp_path)
    return uri


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, request):
    """An end-to-end module's repository: a temp copy with the tiny params, reproduced once
    (``tests.helpers.e2e.make_workspace``). One per module: xdist runs modules side by side."""
    from tests.helpers.e2e import make_workspace

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
