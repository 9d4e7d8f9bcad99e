import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)  # tests read the repository's params.yaml


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Point MLflow at a temp SQLite store for the duration of one test."""
    from stages import tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr(tracking, "repo_root", lambda: tmp_path)
    return uri
