import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from mlflow.entities import ViewType

from actlab.identity import ModelSpec
from actlab.records import ModelRecord
from actlab.tracking import names, runs, store
from tests.helpers.params import ROOT, tiny_params


def test_uri_is_absolute_sqlite_in_dvc_root(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    uri = store.tracking_uri()
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert store.sqlite_path(uri) == tmp_path.resolve() / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert store.tracking_uri() == "http://127.0.0.1:5000"


def test_uri_falls_back_to_git_top_level(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    sub = tmp_path / "repo" / "sub"
    sub.mkdir(parents=True)
    store.subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    monkeypatch.chdir(sub)
    db = store.sqlite_path(store.tracking_uri())
    assert db == (tmp_path / "repo").resolve() / "mlflow.db"


def test_sqlite_store_waits_for_a_busy_writer_instead_of_failing(monkeypatch, tmp_path):
    import sqlite3
    import threading

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    store._client.cache_clear()
    store.client().search_experiments()  # creates the store
    blocker = sqlite3.connect(tmp_path / "mlflow.db", check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")  # another worker holds the write lock for 6 s ...
    threading.Timer(6.0, blocker.rollback).start()
    # ... longer than sqlite's default 5 s: MLflow's busy timeout (20 s) makes the write wait
    assert store.client().create_experiment("e")
    blocker.close()
    store._client.cache_clear()


def test_run_names_carry_the_dvc_experiment(monkeypatch):
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    assert runs.run_name("relu-base-42") == "relu-base-42"
    monkeypatch.setenv("DVC_EXP_NAME", "lr-sweep")
    assert runs.run_name("relu-base-42") == "relu-base-42 @ lr-sweep"


def model_config(name="relu-base", key="k1"):
    spec = ModelSpec(name, "relu", (), "base", (4, 2), 42, lr=0.01)
    return ModelRecord(spec, key, {"train.lr": 0.01, "model.hidden_sizes": [4, 2]}, 3000)


def train_once(record, checkpoint_sha):
    run_id = runs.start_training_run("exp", record)
    store.finish(run_id)
    return run_id, runs.settle_training_run("exp", run_id, record, checkpoint_sha)


def live_and_deleted():
    """Model runs (not their configuration's parent run), live and soft-deleted."""
    client = store.client()
    exp = client.get_experiment_by_name("exp")
    models = f"tags.`{runs.KIND_TAG}` = 'model'"
    live = client.search_runs([exp.experiment_id], models)
    deleted = client.search_runs([exp.experiment_id], models, run_view_type=ViewType.DELETED_ONLY)
    return [r.info.run_id for r in live], [r.info.run_id for r in deleted], exp


def test_seeds_of_a_configuration_are_children_of_one_parent_run(mlflow_store):
    def record(seed, lr=0.01):
        spec = ModelSpec(f"relu-base-{seed}", "relu", (), "base", (4, 2), seed, lr=lr)
        params = {"train.lr": lr, "model.name": spec.name, "model.seed": seed}
        return ModelRecord(spec, f"key{seed}{lr}", params, 3000)

    children = [runs.start_training_run("exp", record(s)) for s in (42, 43)]
    parents = {store.client().get_run(c).data.tags[runs.PARENT_TAG] for c in children}
    assert len(parents) == 1
    parent = store.client().get_run(parents.pop())
    assert parent.info.run_name == "relu-base"
    assert parent.data.tags[runs.KIND_TAG] == "configuration"
    assert parent.data.params == {"train.lr": "0.01"}  # no seed: it is the configuration's
    assert parent.info.status == "FINISHED"  # never left RUNNING, even if plot never runs
    other = runs.start_training_run("exp", record(42, lr=0.1))
    assert store.client().get_run(other).data.tags[runs.PARENT_TAG] != parent.info.run_id


def test_one_live_run_per_key(mlflow_store, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_STAGE", "train@relu-base")
    first, kept = train_once(model_config(), "sha-a")
    assert kept == first
    assert runs.model_run("exp", model_config()) == first  # later stages find it
    second, kept = train_once(model_config(), "sha-b")  # a retraining that changed the model
    assert kept == second != first
    live, deleted, exp = live_and_deleted()
    assert live == [second]
    assert deleted == [first]  # soft-deleted, restorable
    run = store.client().get_run(second)
    assert run.info.run_name == "relu-base"
    assert run.data.params["train.lr"] == "0.01"
    assert run.data.tags["activation"] == "relu" and run.data.tags[runs.KEY_TAG] == "k1"
    assert run.data.tags["dvc.stage.train"] == "train@relu-base"
    assert exp.artifact_location == (tmp_path / "mlruns").as_uri()
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"  # UI opens on runs


def test_identical_retraining_keeps_the_complete_run(mlflow_store):
    """DVC skips evaluate after a bit-identical retraining, so the run that has the test
    metrics must stay the live one."""
    first, _ = train_once(model_config(), "sha-a")
    store.log_metrics(runs.model_run("exp", model_config()), {"test_acc": 0.9})  # 90 %
    second, kept = train_once(model_config(), "sha-a")
    assert kept == first
    live, deleted, _ = live_and_deleted()
    assert live == [first] and deleted == [second]
    assert store.client().get_run(first).data.metrics["accuracy/test"] == 90.0


def test_a_failed_training_keeps_the_earlier_run(mlflow_store):
    first, _ = train_once(model_config(), "sha-a")
    failed = runs.start_training_run("exp", model_config())
    store.finish(failed, "FAILED")
    live, _, _ = live_and_deleted()
    assert set(live) == {first, failed}
    assert store.client().get_run(failed).info.status == "FAILED"


def test_missing_run_is_created_with_its_params(mlflow_store):
    run_id = runs.model_run("exp", model_config(key="restored"))
    run = store.client().get_run(run_id)
    assert run.data.params["model.hidden_sizes"] == "[4, 2]"


def test_rows_are_logged_with_steps(mlflow_store):
    run_id = runs.model_run("exp", model_config())
    store.log_rows(run_id, [{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.7397}])
    history = store.client().get_metric_history(run_id, "accuracy/val")  # in percent
    assert [(m.step, m.value) for m in history] == [(1, 50.0), (2, 73.97)]


def test_rows_logged_again_only_where_they_changed(mlflow_store):
    run_id = runs.model_run("exp", model_config())
    rows = [
        {"epoch": 0, "dead": 3, "sat": 1, "val_acc": 0.7397},
        {"epoch": 1, "dead": 2, "sat": 1, "val_acc": 0.8101},
    ]
    store.log_rows(run_id, rows, only_changed=True)
    store.log_rows(run_id, rows, only_changed=True)  # a rerun with the same numbers
    rows[1]["sat"] = 5
    store.log_rows(run_id, rows, only_changed=True)
    client = store.client()
    assert len(client.get_metric_history(run_id, "dead")) == 2
    assert len(client.get_metric_history(run_id, "accuracy/val")) == 2  # compared as logged
    sat = sorted(client.get_metric_history(run_id, "sat"), key=lambda m: m.timestamp)
    assert [(m.step, m.value) for m in sat][-2:] == [(0, 1.0), (1, 5.0)] and len(sat) == 4


def test_guard_closes_the_run_on_a_stop_request_and_on_errors(mlflow_store):
    import signal

    from actlab import interrupt
    from actlab.errors import Terminated

    killed = runs.start_training_run("exp", model_config(key="sig"))
    with pytest.raises(Terminated), interrupt.handling(), store.guard(killed):
        os.kill(os.getpid(), signal.SIGTERM)  # only asks: the block goes on to a safe point
        interrupt.check()
        pytest.fail("the stop request must raise at the safe point")
    failed = runs.start_training_run("exp", model_config(key="err"))
    with pytest.raises(PermissionError), store.guard(failed):
        raise PermissionError("metrics/ is read-only")
    status = {r: store.client().get_run(r).info.status for r in (killed, failed)}
    assert status == {killed: "KILLED", failed: "FAILED"}


def test_a_run_left_running_by_a_killed_process_is_closed_by_the_next_training(mlflow_store):
    orphan = runs.start_training_run("exp", model_config(key="k9"))  # then kill -9
    runs.start_training_run("exp", model_config(key="k9"))
    assert store.client().get_run(orphan).info.status == "KILLED"


def as_unprivileged(*command, env):
    """Run a command as a user who may not write where the permission bits say so (root may
    write anywhere, so as root the command runs as nobody)."""
    if os.geteuid() == 0:
        command = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command)
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("read_only", ["mlflow.db", "mlruns"])
def test_a_read_only_store_stops_check_params_with_one_line(read_only):
    import sqlite3

    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("as root, setpriv is needed to run as a user without write access")
    store = Path(tempfile.mkdtemp(prefix="actlab-ro-"))
    try:
        params = yaml.safe_dump(tiny_params(store / "mirror"), sort_keys=False)
        (store / "params.yaml").write_text(params)
        (store / "data").mkdir()
        (store / "mirror").mkdir()
        sqlite3.connect(store / "mlflow.db").execute("CREATE TABLE t (x)").connection.close()
        (store / "mlruns").mkdir()
        writable = {"mlflow.db", "mlruns", ".", "data"} - {read_only}
        for name in writable:
            (store / name).chmod(0o777 if (store / name).is_dir() else 0o666)
        (store / read_only).chmod(0o555 if (store / read_only).is_dir() else 0o444)
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        env["DVC_ROOT"] = str(store)
        check = [
            sys.executable,
            "-c",
            "import os, sys; os.chdir(sys.argv[1]); "
            "from stages import check_params; sys.exit(check_params.main([]))",
            str(store),
        ]
        env["PYTHONPATH"] = str(ROOT)
        result = as_unprivileged(*check, env=env)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: MLflow ") and str(store / read_only) in line
        assert "cannot be written" in line and "fix:" in line
        assert not (store / "data" / "params_ok.json").exists()
        (store / read_only).chmod(0o777 if (store / read_only).is_dir() else 0o666)
        assert as_unprivileged(*check, env=env).returncode == 0  # and it passes once writable
    finally:
        shutil.rmtree(store)


def _signal_and_exception(name: str):
    import signal

    from actlab.errors import Terminated

    return getattr(signal, name), {"SIGTERM": Terminated, "SIGINT": KeyboardInterrupt}[name]


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_during_a_store_write_stops_the_block_once_the_write_is_done(
    mlflow_store, monkeypatch, name
):
    """Raised mid-write, SIGTERM or Ctrl-C would leave SQLite's write lock held by the broken
    session, and closing the run as KILLED would then fail with "database is locked"."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    from actlab import interrupt

    signum, raised = _signal_and_exception(name)
    c = store.client()
    run_id = c.create_run(store.experiment_id("exp")).info.run_id
    write = SqlAlchemyStore.log_batch

    def signalled_mid_write(self, *args, **kwargs):
        os.kill(os.getpid(), signum)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(SqlAlchemyStore, "log_batch", signalled_mid_write)
    with pytest.raises(raised), interrupt.handling(), store.guard(run_id):
        store.log_rows(run_id, [{"epoch": 1, "val_acc": 0.5}])
        pytest.fail("the signal must stop the block after the write")
    assert [m.value for m in c.get_metric_history(run_id, "accuracy/val")] == [50.0]
    assert c.get_run(run_id).info.status == "KILLED"


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_during_a_file_write_never_cuts_it(mlflow_store, tmp_path, monkeypatch, name):
    """Cut mid-way, torch.save's zip writer raises a RuntimeError that would hide the signal
    and close the run FAILED instead of KILLED: the signal only asks, the write completes, and
    the next safe point stops the block."""
    import torch

    from actlab import files, interrupt

    signum, raised = _signal_and_exception(name)
    c = store.client()
    run_id = c.create_run(store.experiment_id("exp")).info.run_id
    state = tmp_path / "state.pt"
    save = torch.save

    def signalled_mid_save(obj, f, *args, **kwargs):
        f.write(b"")  # the file is open: the write has begun
        os.kill(os.getpid(), signum)
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", signalled_mid_save)
    with pytest.raises(raised), interrupt.handling(), store.guard(run_id):
        files.save_torch(state, {"w": torch.ones(3)})
        assert interrupt.requested()  # not raised inside the write
        interrupt.check()
        pytest.fail("the signal must stop the block at the safe point")
    assert torch.equal(files.load_torch(state)["w"], torch.ones(3))
    assert c.get_run(run_id).info.status == "KILLED"


def test_mlflow_names_and_units_of_the_files_metrics():
    """Accuracy in percent under accuracy/, losses under cross_entropy/ (the run page's first
    chart groups), everything else as the files name it."""
    assert names.metric("val_acc", 0.7397) == ("accuracy/val", 73.97)
    assert names.metric("test_acc_within_12", 0.5) == ("accuracy/test_within_12", 50.0)
    assert names.metric("test_acc_mean", 88.7) == ("accuracy/test_mean", 88.7)  # already %
    assert names.metric("train_loss", 0.25) == ("cross_entropy/train", 0.25)
    assert names.metric("dead/init/total", 3) == ("dead/init/total", 3.0)
    assert names.metric("best_val_acc_mean", 89.1) == ("accuracy/best_val_mean", 89.1)
    assert names.rounded("diff_mean", -8.476666666666674) == -8.48  # as the tables show it
    assert names.rounded("p_adjusted", 0.0499961) == 0.0499961  # never 0.05 beside "worse"
    keys = ["cross_entropy/train", "accuracy/train", "cross_entropy/val", "accuracy/val", "x"]
    assert names.first_accuracy(keys) == [
        "accuracy/val", "accuracy/train", "cross_entropy/train", "cross_entropy/val", "x"
    ]  # fmt: skip


def test_every_models_artifacts_are_named_alike(mlflow_store, tmp_path):
    """MLflow's compare view shows the top-level files the runs have in common."""
    tree = {}
    for seed in (42, 43):
        spec = ModelSpec(f"relu-base-{seed}", "relu", (), "base", (4, 2), seed, lr=0.01)
        run_id = runs.model_run("exp", ModelRecord(spec, f"k{seed}", {}, 3000))
        own = tmp_path / f"relu-base-{seed}.json"
        own.write_text("{}")
        store.log_text(run_id, own.read_text(), "evaluate.json")
        store.log_artifact(run_id, own, "checkpoint")
        tree[seed] = sorted(a.path for a in store.client().list_artifacts(run_id))
    assert tree[42] == tree[43] == ["checkpoint", "evaluate.json"]


def test_a_configuration_run_takes_no_time(mlflow_store):
    spec = ModelSpec("relu-base-42", "relu", (), "base", (4, 2), 42, lr=0.01)
    parent = runs.configuration_run("exp", ModelRecord(spec, "k", {}, 3000))
    store.log_metrics(parent, {"test_acc_mean": 88.0})
    store.finish(parent, instant=True)  # as plot closes it, after its metrics
    info = store.client().get_run(parent).info
    assert info.status == "FINISHED" and info.end_time == info.start_time


def test_the_comparison_view_is_mlflows_saved_view_envelope():
    envelope = json.loads(runs.comparison_view("0123456789ab"))
    assert isinstance(envelope["name"], str) and isinstance(envelope["createdAt"], int)
    state = json.loads(envelope["state"])
    assert state["orderByKey"] == "attributes.start_time"  # keeps the nesting (mlflow#15802)
    assert state["selectedColumns"][0] == "metrics.`accuracy/test_mean`"
    assert "tags.`verdict`" in state["selectedColumns"]
    assert runs.VIEW_TAG == "mlflow.sharedViewState.actlab"
    assert state["searchFilter"] == "tags.`actlab.comparison` = '0123456789ab'"  # its runs only


def test_ui_url_opens_the_classic_view_on_the_saved_view():
    from actlab.tools import ui

    local = "http://127.0.0.1:5000"
    assert ui.url(local, "3", "actlab") == (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning"
        "&viewStateShareKey=actlab"
    )
    assert ui.url(local, "3", None).endswith("/3/runs?workflowType=machine_learning")
    assert ui.url(local, None, None).endswith("/#/experiments?workflowType=machine_learning")
    # a tracking server behind a path keeps it
    assert ui.url("https://mlflow.example.org/team/", "3", None).startswith(
        "https://mlflow.example.org/team/#/experiments/3/runs?"
    )


def test_saved_view_is_found_once_plot_wrote_it(mlflow_store):
    assert runs.saved_view("exp") == (None, None)
    exp_id = store.experiment_id("exp")
    assert runs.saved_view("exp") == (exp_id, None)
    store.set_experiment_tag("exp", runs.VIEW_TAG, runs.comparison_view("0123456789ab"))
    assert runs.saved_view("exp") == (exp_id, runs.VIEW_KEY)
