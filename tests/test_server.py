"""``actlab.tools.server`` without PostgreSQL: where the cluster goes, who owns it, which folder is
closed to whom, what ``stop`` finds and ``stop --purge`` deletes, and the one-line errors.
``tests/test_e2e_scale_out.py`` starts the real server."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from actlab.errors import StoreError
from actlab.tools import server
from actlab.tools.server import SYSTEM_DIR, Layout, closed_folder, cluster_key, layout


def test_a_normal_user_keeps_the_cluster_in_the_state_folder(tmp_path):
    lay = layout(tmp_path / "server", euid=1000, environ={})
    assert lay == Layout(tmp_path / "server", None, own_folder=False)
    assert lay.pgdata == tmp_path / "server" / "pgdata"  # as before: .actlab/server/pgdata
    assert lay.log == tmp_path / "server" / "postgres.log"


def test_root_gives_the_cluster_a_folder_of_its_own_keyed_by_the_repository(tmp_path):
    lay = layout(tmp_path / "a" / ".actlab" / "server", euid=0, environ={})
    assert lay.own_folder and lay.db_user == "postgres"
    assert lay.cluster.parent == SYSTEM_DIR  # /var/lib/actlab/server/<key>: outside the repo
    assert lay.pgdata == lay.cluster / "pgdata" and lay.log == lay.cluster / "postgres.log"
    # one folder per repository, the same on every start
    other = layout(tmp_path / "b" / ".actlab" / "server", euid=0, environ={})
    assert other.cluster != lay.cluster
    assert layout(tmp_path / "a" / ".actlab" / "server", euid=0, environ={}) == lay
    assert lay.cluster.name == cluster_key(tmp_path / "a" / ".actlab" / "server")
    assert len(lay.cluster.name) == 16 and str(tmp_path) not in str(lay.cluster)


def test_the_environment_variable_chooses_where_the_clusters_go(tmp_path):
    env = {server.DATA_ENV: str(tmp_path / "clusters")}
    state = tmp_path / "repo" / ".actlab" / "server"
    for euid, user in ((0, "postgres"), (1000, None)):
        lay = layout(state, euid=euid, environ=env)
        assert lay == Layout(tmp_path / "clusters" / cluster_key(state), user, own_folder=True)


def test_root_keeps_a_cluster_that_an_earlier_version_made_in_the_repository(tmp_path):
    state = tmp_path / "server"
    (state / "pgdata").mkdir(parents=True)
    # a folder that initdb failed in is not a cluster: it does not pin the layout
    assert layout(state, euid=0, environ={}).own_folder
    (state / "pgdata" / "PG_VERSION").write_text("15\n")
    assert layout(state, euid=0, environ={}) == Layout(state, "postgres", own_folder=False)


def fake_stat(modes: dict[str, tuple[int, int, int]]):
    """os.stat for the folders named: (mode, uid, gid)."""

    def stat_(path):
        mode, uid, gid = modes[str(path)]
        return SimpleNamespace(st_mode=stat.S_IFDIR | mode, st_uid=uid, st_gid=gid)

    return stat_


@pytest.mark.parametrize(
    ("modes", "closed"),
    [
        # a home of root's (700): the case users meet first
        ({"/": (0o755, 0, 0), "/root": (0o700, 0, 0), "/root/r": (0o755, 0, 0)}, "/root"),
        # mktemp -d: 700 in a world-writable /tmp
        ({"/": (0o755, 0, 0), "/tmp": (0o1777, 0, 0), "/tmp/r": (0o700, 0, 0)}, "/tmp/r"),
        # the postgres user's own folder (101), and one its group (104) may enter
        ({"/": (0o755, 0, 0), "/var": (0o700, 101, 0), "/var/r": (0o750, 0, 104)}, None),
        # the owner's bits count for the owner, even where the others' would let it through
        ({"/": (0o755, 0, 0), "/var": (0o075, 101, 0), "/var/r": (0o755, 0, 0)}, "/var"),
        # the group's bits for the group
        ({"/": (0o755, 0, 0), "/var": (0o705, 0, 104), "/var/r": (0o755, 0, 0)}, "/var"),
        ({"/": (0o755, 0, 0), "/var": (0o755, 0, 0), "/var/r": (0o755, 0, 0)}, None),
    ],
)
def test_the_first_folder_closed_to_the_postgres_user(modes, closed):
    folder = closed_folder(Path(sorted(modes)[-1]), 101, {104}, fake_stat(modes))
    assert folder == (Path(closed) if closed else None)


def test_closed_folder_on_real_folders(tmp_path):
    (tmp_path / "r").mkdir()
    assert closed_folder(tmp_path / "r", os.geteuid(), set()) is None  # its owner
    # pytest's temporary folders are private (700), as a `mktemp -d` folder or /root is
    closed = closed_folder(tmp_path / "r", os.geteuid() + 1, set())
    assert closed is not None and closed in {tmp_path, *tmp_path.parents}
    assert not stat.S_IMODE(closed.stat().st_mode) & stat.S_IXOTH


def chowns(monkeypatch):
    """prepare_cluster as root, with chown recorded instead of done and the postgres user
    looked up as uid 101 who reaches everything."""
    done = []
    monkeypatch.setattr(server, "_db_user_ids", lambda user: (101, {104}))
    monkeypatch.setattr(
        server.subprocess, "run", lambda *a, **k: SimpleNamespace(returncode=0, stdout="")
    )
    return done, lambda path, user, group: done.append((Path(path), user, group))


def test_as_root_the_cluster_belongs_to_postgres_in_parents_anyone_may_traverse(
    tmp_path, monkeypatch
):
    done, chown = chowns(monkeypatch)
    state = tmp_path / "repo" / ".actlab" / "server"
    lay = Layout(tmp_path / "var" / "lib" / "actlab" / "server" / "k", "postgres", True)
    old = os.umask(0o077)  # root's umask in many containers: it must not close the parents
    try:
        server.prepare_cluster(state, lay, chown=chown)
    finally:
        os.umask(old)
    assert done == [(lay.cluster, "postgres", "postgres"), (lay.pgdata, "postgres", "postgres")]
    for folder in (lay.cluster, lay.pgdata):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for folder in (tmp_path / "var", lay.cluster.parent.parent, lay.cluster.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert (lay.cluster / server.MARKER).read_text() == f"{state}\n"  # whose cluster this is
    assert not state.exists()  # nothing of the repository is touched, let alone opened


def test_a_normal_users_cluster_folder_is_private_and_not_chowned(tmp_path, monkeypatch):
    done, chown = chowns(monkeypatch)
    lay = Layout(tmp_path / "clusters" / "k", None, True)
    server.prepare_cluster(tmp_path / "state", lay, chown=chown)
    assert done == [] and stat.S_IMODE(lay.cluster.stat().st_mode) == 0o700
    assert not lay.pgdata.exists()  # initdb makes it


def test_a_cluster_folder_that_cannot_be_made_is_one_line_with_the_folder_and_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where a folder should be: fails for root too
    lay = Layout(blocker / "clusters" / "k", None, True)
    with pytest.raises(StoreError) as err:
        server.prepare_cluster(tmp_path / "state", lay, chown=None)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"cannot create {blocker / 'clusters'}: Not a directory; fix: ")
    assert f"{server.DATA_ENV}=" in message and "make server" in message


def test_a_state_folder_that_cannot_be_made_names_its_owner_and_the_fix(tmp_path, monkeypatch):
    (tmp_path / "repo").write_text("")
    monkeypatch.chdir(tmp_path)
    assert server.main(["start", "--state", "repo/.actlab/server"]) == 2
    with pytest.raises(StoreError) as err:
        server.start(tmp_path / "repo" / ".actlab" / "server")
    message = str(err.value)
    assert "\n" not in message and f"cannot create {tmp_path / 'repo' / '.actlab'}" in message
    assert "--state" in message and "owner of" in message


def test_root_without_a_postgres_user_is_told_how_to_get_one(tmp_path, monkeypatch):
    def getpwnam(name):
        raise KeyError(name)

    monkeypatch.setattr(server.pwd, "getpwnam", getpwnam)
    lay = Layout(tmp_path / "k", "postgres", True)
    with pytest.raises(StoreError, match=r"no 'postgres' user.*fix: apt-get install postgresql"):
        server.prepare_cluster(tmp_path / "state", lay, chown=None)


def test_a_cluster_postgres_cannot_reach_is_one_line_that_names_the_folder_and_fix(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    closed.chmod(0o700)
    # a cluster in a private repository's state folder
    message = server.unreachable(Layout(closed / "repo", "postgres", False), closed)
    assert "\n" not in message
    assert message.startswith(f"the postgres user cannot reach {closed / 'repo' / 'pgdata'}: ")
    assert f"{closed} is closed to it (mode 700)" in message
    assert f"fix: {server.DATA_ENV}={SYSTEM_DIR} make server" in message
    # a folder of ours (the clusters' parent): opening it opens nothing private
    message = server.unreachable(Layout(closed / "k", "postgres", True), closed)
    assert message.endswith(
        f"fix: chmod 755 {closed} (it holds only clusters' folders, each mode 700)"
    )
    # someone else's folder: choose another
    message = server.unreachable(Layout(closed / "base" / "k", "postgres", True), closed)
    assert f"fix: {server.DATA_ENV}=<a folder it can reach> make server" in message


def test_postgres_programs_run_as_postgres_from_the_root_folder(monkeypatch):
    assert server._as_db_user(["initdb"], None) == ["initdb"]
    assert server._as_db_user(["initdb"], "postgres") == [
        "runuser",
        "-u",
        "postgres",
        "--",
        "initdb",
    ]
    seen = {}

    def run(command, **kwargs):
        seen.update(kwargs)
        return SimpleNamespace(returncode=1, stderr="initdb: error: one\n\nhint: two\n", stdout="")

    monkeypatch.setattr(server.subprocess, "run", run)
    with pytest.raises(StoreError) as err:
        server._run(["initdb"], "initdb")
    assert seen["cwd"] == "/"  # not the repository, which may be private
    assert str(err.value) == "initdb failed: initdb: error: one; hint: two"


def test_stop_finds_the_recorded_cluster_and_purge_deletes_it(tmp_path, monkeypatch):
    state = tmp_path / "repo" / ".actlab" / "server"
    cluster = tmp_path / "clusters" / "k"
    (cluster / "pgdata").mkdir(parents=True)
    (cluster / "pgdata" / "postmaster.pid").write_text("1\n")
    (cluster / server.MARKER).write_text(f"{state}\n")
    (state / "artifacts" / "0").mkdir(parents=True)
    (state / "mlflow-server.log").write_text("")
    (state / "keep.txt").write_text("not ours")  # --state may name a folder that holds more
    record = {"mlflow_pid": None, "pgdata": str(cluster / "pgdata"), "db_user": "postgres"}
    (state / "server.json").write_text(json.dumps({**record, "cluster": str(cluster)}))
    ran = []
    monkeypatch.setattr(server, "_run", lambda command, what: ran.append(command))
    monkeypatch.setattr(server, "_pg_bin", lambda tool: tool)

    deleted = server.stop(state, purge=True)
    assert ran == [
        ["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(cluster / "pgdata")]
        + ["-m", "fast", "-w", "stop"]
    ]
    assert not cluster.exists() and cluster.parent.exists()
    assert set(deleted) == {cluster, state / "artifacts", state / "mlflow-server.log"}
    assert not (state / "server.json").exists()
    assert sorted(p.name for p in state.iterdir()) == ["keep.txt"]


def test_stop_without_purge_keeps_the_data_and_reads_an_earlier_versions_record(
    tmp_path, monkeypatch
):
    state = tmp_path / "server"
    (state / "pgdata").mkdir(parents=True)
    (state / "pgdata" / "postmaster.pid").write_text("1\n")
    (state / "server.json").write_text(json.dumps({"mlflow_pid": None, "pgdata": "pgdata"}))
    ran = []
    monkeypatch.setattr(server, "_run", lambda command, what: ran.append(command))
    monkeypatch.setattr(server, "_pg_bin", lambda tool: tool)
    monkeypatch.setattr(server.os, "geteuid", lambda: 1000)
    assert server.stop(state) == []
    assert ran == [["pg_ctl", "-D", str(state / "pgdata"), "-m", "fast", "-w", "stop"]]
    assert (state / "pgdata").exists() and not (state / "server.json").exists()


def test_purge_without_a_record_deletes_the_cluster_where_start_would_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv(server.DATA_ENV, str(tmp_path / "clusters"))
    state = tmp_path / "server"
    lay = layout(state)
    lay.pgdata.mkdir(parents=True)
    unrelated = tmp_path / "clusters" / "other"  # another repository's
    unrelated.mkdir()
    monkeypatch.chdir(tmp_path)
    assert server.main(["stop", "--state", "server", "--purge"]) == 0
    assert not lay.cluster.exists() and unrelated.exists()
