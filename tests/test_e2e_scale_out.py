"""End to end, the team set-up of the README's "Scaling out": a PostgreSQL-backed MLflow
server with the artifact proxy on free loopback ports, two experiments run by two parallel
queue workers (``tests/test_e2e.py`` runs two on the SQLite store), and two clones (two
machines) sharing a git remote, a DVC remote and the server. Everything started here is
stopped by pid, also when a test fails."""

import json
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from actlab.tools import server
from tests.helpers.e2e import (
    MODEL,
    assert_experiment_runs,
    dvc,
    free_port,
    make_workspace,
    ran,
    run_queue,
    sh,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def tracking_server():
    # the repository in a private folder, as users have it (`mktemp -d`, root's home): as root,
    # PostgreSQL runs as `postgres`, who cannot enter it, and nothing here opens it
    home = Path(tempfile.mkdtemp(prefix="actlab-server-")).resolve()
    state = home / "repo" / ".actlab" / "server"
    lay = server.layout(state)
    made_base = lay.own_folder and not server.SYSTEM_DIR.parent.exists()
    try:
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        yield SimpleNamespace(uri=server.start(state, free_port(), free_port()), home=home, lay=lay)
        deleted = server.stop(state, purge=True)  # what the README tells users to run
        assert not lay.pgdata.exists() and (lay.cluster in deleted) == lay.own_folder
    finally:
        try:  # again, where the above failed: stops what the record still names, by pid
            server.stop(state)
        finally:
            shutil.rmtree(home, ignore_errors=True)
            if lay.own_folder:
                shutil.rmtree(lay.cluster, ignore_errors=True)
            for folder in (server.SYSTEM_DIR, server.SYSTEM_DIR.parent) if made_base else ():
                try:
                    folder.rmdir()
                except OSError:  # another repository's cluster is in it
                    break


def test_the_server_starts_from_a_private_folder_without_opening_it(tracking_server):
    home, lay = tracking_server.home, tracking_server.lay
    assert stat.S_IMODE(home.stat().st_mode) == 0o700  # not loosened
    record = json.loads((home / "repo/.actlab/server/server.json").read_text())
    assert record["pgdata"] == str(lay.pgdata)  # where `make server-stop` finds it
    if os.geteuid() == 0:  # run as `postgres`, in a folder of its own that it owns, mode 700
        assert lay.own_folder and home not in lay.pgdata.parents
        for folder in (lay.cluster, lay.pgdata):
            info = folder.stat()
            assert pwd.getpwuid(info.st_uid).pw_name == "postgres"
            assert stat.S_IMODE(info.st_mode) == 0o700
        assert server.closed_folder(lay.pgdata, pwd.getpwnam("postgres").pw_uid, set()) is None
    else:  # a normal user's cluster stays in the repository, as before
        assert lay.pgdata == home / "repo/.actlab/server/pgdata"


def mlflow_client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def model_runs(uri) -> dict:
    """Live runs of the models' experiment by name."""
    c = mlflow_client(uri)
    exp = c.get_experiment_by_name("actlab")
    return {r.info.run_name: r for r in c.search_runs([exp.experiment_id])}


def test_server_queue_and_two_clones(tracking_server, tmp_path_factory):
    uri = tracking_server.uri
    on_server = {"MLFLOW_TRACKING_URI": uri}
    root = tmp_path_factory.mktemp("scale-out")

    # machine A: the pipeline logs everything to the server, nothing to a local store
    a = make_workspace(root / "a", env=on_server)
    assert not (a / "mlflow.db").exists() and not (a / "mlruns").exists()
    runs = model_runs(uri)
    run = runs[MODEL]
    assert run.info.status == "FINISHED" and "accuracy/test" in run.data.metrics
    c = mlflow_client(uri)
    assert "checkpoint/best.pt" in {x.path for x in c.list_artifacts(run.info.run_id, "checkpoint")}
    figure = c.download_artifacts(run.info.run_id, "gradient_flow_init.png", str(root))
    assert Path(figure).read_bytes().startswith(b"\x89PNG")  # through the artifact proxy

    # the shared remotes: git (a bare repository) and DVC (a folder; S3, GCS or SSH in real use)
    sh(root, "git", "init", "-q", "--bare", "remote.git")
    sh(a, "git", "remote", "add", "origin", str(root / "remote.git"))
    dvc(a, "remote", "add", "-d", "store", str(root / "dvc-store"))
    sh(a, "git", "commit", "-qam", "DVC remote")
    sh(a, "git", "push", "-q", "origin", "HEAD")

    # two experiments on two parallel workers: both complete, each run named after its experiment
    run_queue(a, on_server, {"lr-a": "train.lr=0.05", "lr-b": "train.lr=0.2"})
    runs = model_runs(uri)
    assert_experiment_runs(runs, {"lr-a": "0.05", "lr-b": "0.2"})

    # A publishes its experiment: git refs to the bare remote, outputs (models) to DVC's
    dvc(a, "exp", "push", "--run-cache", "origin", "lr-a", env=on_server)

    # machine B: pulls the experiment and has its models and metrics without retraining
    sh(root, "git", "clone", "-q", str(root / "remote.git"), "b")
    b = root / "b"
    before = {r.info.run_id for r in model_runs(uri).values()}
    dvc(b, "exp", "pull", "--run-cache", "origin", "lr-a", env=on_server)
    assert "lr-a" in dvc(b, "exp", "show", "--csv", env=on_server).stdout
    dvc(b, "exp", "apply", "lr-a", env=on_server)
    assert ran(dvc(b, "repro", env=on_server)) <= {"check_params"}  # nothing trains
    evaluated = json.loads((b / f"metrics/evaluate/{MODEL}.json").read_text())
    logged = runs[f"{MODEL} @ lr-a"].data.metrics["accuracy/test"]
    assert 100 * evaluated["test_acc"] == pytest.approx(logged)
    assert (b / f"models/{MODEL}/best.pt").exists()
    assert {r.info.run_id for r in model_runs(uri).values()} == before  # the same rows
