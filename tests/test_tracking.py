from mlflow.entities import ViewType

from stages import tracking


def test_uri_is_absolute_sqlite_in_dvc_root(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.tracking_uri() == "http://127.0.0.1:5000"


def test_uri_falls_back_to_git_top_level(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    sub = tmp_path / "repo" / "sub"
    sub.mkdir(parents=True)
    tracking.subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    monkeypatch.chdir(sub)
    assert tracking.tracking_uri() == f"sqlite:///{(tmp_path / 'repo').resolve()}/mlflow.db"


def model_config(name="relu-base", key="k1"):
    return {"name": name, "run_key": key, "activation": "relu", "architecture": "base",
            "mlflow_params": {"train.lr": 0.01, "model.hidden_sizes": [4, 2]}}


def test_one_live_run_per_key(mlflow_store, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_STAGE", "train@relu-base")
    first = tracking.model_run("exp", model_config(), replace=True)
    again = tracking.model_run("exp", model_config())
    assert again == first  # later stages find the run train created
    second = tracking.model_run("exp", model_config(), replace=True)
    assert second != first
    client = tracking.client()
    exp = client.get_experiment_by_name("exp")
    live = client.search_runs([exp.experiment_id])
    deleted = client.search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in live] == [second]
    assert [r.info.run_id for r in deleted] == [first]  # soft-deleted, restorable
    run = live[0]
    assert run.info.run_name == "relu-base"
    assert run.data.params["train.lr"] == "0.01"
    assert run.data.tags["activation"] == "relu" and run.data.tags[tracking.KEY_TAG] == "k1"
    assert run.data.tags["dvc.stage.train"] == "train@relu-base"
    assert exp.artifact_location == (tmp_path / "mlruns").as_uri()


def test_missing_run_is_created_with_its_params(mlflow_store):
    run_id = tracking.model_run("exp", model_config(key="restored"))
    run = tracking.client().get_run(run_id)
    assert run.data.params["model.hidden_sizes"] == "[4, 2]"


def test_rows_are_logged_with_steps(mlflow_store):
    run_id = tracking.model_run("exp", model_config())
    tracking.log_rows(run_id, [{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.7}])
    history = tracking.client().get_metric_history(run_id, "val_acc")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.7)]
