"""A shared MLflow tracking server on PostgreSQL: ``make server`` / ``make server-stop``.

The team's tracking server, started from one checkout and used by every
worker through ``MLFLOW_TRACKING_URI``. What it starts:

- a PostgreSQL cluster, created on first use, listening on 127.0.0.1 only. As a normal user it
  lives in ``<state>/pgdata`` (``.actlab/server/`` in the repository, git-ignored). As root it
  runs as the ``postgres`` user (PostgreSQL refuses root), who cannot enter a private folder
  such as ``/root`` or a ``mktemp -d`` folder: the cluster gets a folder of its own,
  ``/var/lib/actlab/server/<key>/`` (``<key>``: a hash of the state folder's absolute path;
  ``$ACTLAB_SERVER_DATA`` replaces ``/var/lib/actlab/server``), owned by ``postgres``, mode 700,
  and nothing of the repository is opened to anyone. A cluster found in ``<state>/pgdata``
  (made there as root) is used where it is;
- ``mlflow server`` on it (as the caller), with the artifact proxy (``--serve-artifacts``,
  artifacts in ``<state>/artifacts``): workers send figures and checkpoints through the server,
  so they need its URL and nothing else.

``stop`` stops what ``start`` started, by the pids in ``<state>/server.json`` (which also records
where the cluster is) and PostgreSQL's own ``postmaster.pid``, and nothing else; ``stop --purge``
then deletes the cluster and ``<state>``. The cluster trusts connections from 127.0.0.1; a server
that other machines reach needs a password (``pg_hba.conf``) and a proxy in front of MLflow.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from actlab.errors import StoreError, exit_code

DEFAULT_PORT = 5050
DEFAULT_PG_PORT = 54329
HOST = "127.0.0.1"  # loopback only: put a proxy with authentication in front to share it
DATABASE = "mlflow"
DB_USER = "postgres"  # who runs PostgreSQL when started as root
SYSTEM_DIR = Path("/var/lib/actlab/server")  # as root: the clusters' folders, one per repository
DATA_ENV = "ACTLAB_SERVER_DATA"  # replaces SYSTEM_DIR (and, for a normal user, <state>)
MARKER = "repository"  # in a cluster folder of its own: the state folder it belongs to
# what `start` makes in <state>, and `stop --purge` deletes (pgdata: where the cluster lives)
STATE_FILES = ("server.json", "artifacts", "mlflow-server.log", "pgdata", "postgres.log")


@dataclass(frozen=True)
class Layout:
    """Where a state folder's PostgreSQL cluster lives and who runs it."""

    cluster: Path  # holds pgdata/ and postgres.log
    db_user: str | None  # the user PostgreSQL runs as; None: the caller
    own_folder: bool  # ``cluster`` is made for the cluster alone (``stop --purge`` deletes it)

    @property
    def pgdata(self) -> Path:
        return self.cluster / "pgdata"

    @property
    def log(self) -> Path:
        return self.cluster / "postgres.log"


def cluster_key(state: Path) -> str:
    """The name of a state folder's cluster folder: a hash of its absolute path."""
    return hashlib.sha256(str(Path(os.path.abspath(state))).encode()).hexdigest()[:16]


def layout(
    state: Path, euid: int | None = None, environ: Mapping[str, str] | None = None
) -> Layout:
    """Where ``start`` puts the cluster of ``state`` (an absolute path): in ``state`` for a
    normal user; as root, where the ``postgres`` user can reach it whatever the repository's
    permissions, ``<SYSTEM_DIR>/<key>`` (or ``$ACTLAB_SERVER_DATA/<key>``), unless a cluster is
    in ``state/pgdata`` already."""
    euid = os.geteuid() if euid is None else euid
    environ = os.environ if environ is None else environ
    db_user = DB_USER if euid == 0 else None
    base = environ.get(DATA_ENV)
    if not base:
        if euid != 0 or (state / "pgdata" / "PG_VERSION").exists():
            return Layout(state, db_user, own_folder=False)
        base = str(SYSTEM_DIR)
    return Layout(Path(os.path.abspath(base)) / cluster_key(state), db_user, own_folder=True)


def closed_folder(
    path: Path, uid: int, gids: set[int], stat_: Callable[[Path], os.stat_result] = os.stat
) -> Path | None:
    """The first folder on the way to ``path`` (``path`` included) that the user ``uid`` (in the
    groups ``gids``) may not enter, going by the mode bits (the owner's bits for the owner, the
    group's for the group, the others' for the rest); None if every one lets it through."""
    for folder in [*reversed(path.parents), path]:
        info = stat_(folder)
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return folder
    return None


def _pg_bin(tool: str) -> str:
    """A PostgreSQL server program: on PATH, or in Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which(tool) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), reverse=True)), None
    )
    if found is None:
        raise StoreError(
            f"PostgreSQL's {tool} was not found; fix: apt-get install postgresql (Debian/Ubuntu)"
        )
    return found


def _as_db_user(command: list[str], db_user: str | None) -> list[str]:
    """PostgreSQL refuses root: as root, run its programs as ``db_user``."""
    return command if db_user is None else ["runuser", "-u", db_user, "--", *command]


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _run(command: list[str], what: str) -> None:
    # cwd "/": PostgreSQL's programs, as `postgres`, cannot go back to a private folder
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if result.returncode != 0:
        raise StoreError(f"{what} failed: {_one_line(result.stderr or result.stdout)}")


def _mkdir(path: Path, mode: int | None, fix: str) -> bool:
    """Make ``path`` and its missing parents, each with ``mode`` whatever the umask (root's umask
    077 would close them to `postgres`; None: as the umask says); True if ``path`` was made."""
    missing = [p for p in [*reversed(path.parents), path] if not p.exists()]
    try:
        for folder in missing:
            folder.mkdir()
            if mode is not None:
                folder.chmod(mode)
    except OSError as err:
        why = f"cannot create {err.filename or path}: {err.strerror}"
        raise StoreError(f"{why}; fix: {fix.replace('{blocker}', _blocker(path))}") from None
    return bool(missing) and missing[-1] == path


def _blocker(path: Path) -> str:
    """The deepest existing folder on the way to ``path``, with its owner: the one that a
    folder could not be made in."""
    folder = next(p for p in [path, *path.parents] if p.exists())
    try:
        owner = pwd.getpwuid(folder.stat().st_uid).pw_name
    except (KeyError, OSError):
        return str(folder)
    return f"{folder} (owner: {owner})"


def _db_user_ids(db_user: str) -> tuple[int, set[int]]:
    try:
        entry = pwd.getpwnam(db_user)
    except KeyError:
        raise StoreError(
            f"PostgreSQL refuses to run as root and there is no {db_user!r} user to run it as; "
            "fix: apt-get install postgresql (which creates it), or run make server as a "
            "normal user"
        ) from None
    return entry.pw_uid, {entry.pw_gid, *os.getgrouplist(db_user, entry.pw_gid)}


def prepare_cluster(
    state: Path, lay: Layout, chown: Callable[[Path, str, str], None] = shutil.chown
) -> None:
    """Make the cluster's folders. A folder of its own is mode 700, in parents made 0755 (they
    hold nothing but cluster folders); as root, it and ``pgdata`` belong to ``lay.db_user``,
    who is then checked to reach ``pgdata``."""
    if lay.own_folder:
        fix = (
            f"choose a folder for it: {DATA_ENV}=<a folder "
            f"{'the ' + lay.db_user + ' user can reach' if lay.db_user else 'you can write'}> "
            "make server; {blocker} is where it could not be made"
        )
        _mkdir(lay.cluster.parent, 0o755, fix)
        if _mkdir(lay.cluster, 0o700, fix):
            (lay.cluster / MARKER).write_text(f"{state}\n")
    if lay.db_user is None:
        return
    uid, gids = _db_user_ids(lay.db_user)
    for folder in (lay.cluster, lay.pgdata) if lay.own_folder else (lay.pgdata,):
        folder.mkdir(exist_ok=True)
        chown(folder, lay.db_user, lay.db_user)
        folder.chmod(0o700)
    reach = subprocess.run(
        _as_db_user(["test", "-w", str(lay.pgdata), "-a", "-x", str(lay.pgdata)], lay.db_user),
        capture_output=True,
        cwd="/",
    )
    if reach.returncode != 0:
        raise StoreError(unreachable(lay, closed_folder(lay.pgdata, uid, gids)))


def unreachable(lay: Layout, closed: Path | None) -> str:
    """The one line that says that ``lay.db_user`` cannot reach the cluster, why and the fix."""
    if closed is None:
        why = "permission denied"
    else:
        mode = stat.S_IMODE(closed.stat().st_mode)
        why = f"{closed} is closed to it (mode {mode:o})"
    fix = f"{DATA_ENV}=<a folder it can reach> make server (the default is {SYSTEM_DIR})"
    if lay.own_folder and closed in {lay.cluster.parent, SYSTEM_DIR, SYSTEM_DIR.parent}:
        fix = f"chmod 755 {closed} (it holds only clusters' folders, each mode 700)"
    elif not lay.own_folder:  # a cluster in the repository's state folder
        fix = (
            f"{DATA_ENV}={SYSTEM_DIR} make server (a new cluster where it can reach it; "
            f"the old one stays in {lay.pgdata})"
        )
    return f"the {lay.db_user} user cannot reach {lay.pgdata}: {why}; fix: {fix}"


def start_postgres(state: Path, lay: Layout, pg_port: int) -> None:
    """Create (first time) and start the cluster of ``state``."""
    prepare_cluster(state, lay)
    if not (lay.pgdata / "PG_VERSION").exists():
        _run(
            _as_db_user(
                [_pg_bin("initdb"), "-D", str(lay.pgdata), "-U", DATABASE, "--auth=trust"]
                + ["-E", "UTF8"],
                lay.db_user,
            ),
            "initdb",
        )
    if lay.db_user is not None and not lay.log.exists():  # pg_ctl writes it as db_user
        lay.log.touch()
        shutil.chown(lay.log, lay.db_user, lay.db_user)
    options = f"-p {pg_port} -c listen_addresses={HOST} -c unix_socket_directories=''"
    _run(
        _as_db_user(
            [_pg_bin("pg_ctl"), "-D", str(lay.pgdata), "-l", str(lay.log), "-o", options, "-w"]
            + ["start"],
            lay.db_user,
        ),
        f"starting PostgreSQL on {HOST}:{pg_port} (log: {lay.log})",
    )


def create_database(pg_port: int) -> str:
    """The MLflow database, made on first use; returns its SQLAlchemy URI."""
    exists = subprocess.run(
        [_pg_bin("psql"), "-h", HOST, "-p", str(pg_port), "-U", DATABASE, "-d", "postgres"]
        + ["-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if exists != "1":
        _run(
            [_pg_bin("createdb"), "-h", HOST, "-p", str(pg_port), "-U", DATABASE, DATABASE],
            "createdb",
        )
    return f"postgresql+psycopg2://{DATABASE}@{HOST}:{pg_port}/{DATABASE}"


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StoreError(f"mlflow server exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise StoreError(f"mlflow server did not answer {url}/health in {timeout:.0f} s; see {log}")


def start(state: Path, port: int = DEFAULT_PORT, pg_port: int = DEFAULT_PG_PORT) -> str:
    """Start PostgreSQL and the MLflow server; returns the tracking URI for the workers."""
    state = state.resolve()
    record = state / "server.json"
    if record.exists():
        raise StoreError(f"a server is already recorded in {record}; fix: make server-stop")
    _mkdir(
        state,
        None,
        "run it as the owner of {blocker}, or keep its state in a folder you can write: "
        "python -m actlab.tools.server start --state <folder>",
    )
    lay = layout(state)
    start_postgres(state, lay, pg_port)
    url = f"http://{HOST}:{port}"
    info = {
        "url": url,
        "mlflow_pid": None,
        "pg_port": pg_port,
        "pgdata": str(lay.pgdata),  # where `stop` finds the cluster
        "db_user": lay.db_user,
        "cluster": str(lay.cluster) if lay.own_folder else None,  # what `stop --purge` deletes
    }
    record.write_text(json.dumps(info, indent=2) + "\n")
    try:
        backend = create_database(pg_port)
        artifacts = state / "artifacts"
        artifacts.mkdir(exist_ok=True)
        log = state / "mlflow-server.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend]
            + ["--serve-artifacts", "--artifacts-destination", str(artifacts)]
            + ["--host", HOST, "--port", str(port), "--workers", "1"],
            # its background job runner serves GenAI features only: five fewer processes
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `make server`; stop() ends its whole group
        )
        info["mlflow_pid"] = process.pid
        record.write_text(json.dumps(info, indent=2) + "\n")
        _wait_healthy(url, process, log)
    except BaseException:
        stop(state)
        raise
    return url


def stop(state: Path, purge: bool = False) -> list[Path]:
    """Stop what ``start`` recorded in ``<state>``: the MLflow server's process group, then
    PostgreSQL (``pg_ctl stop``, which reads the cluster's own pid file). With no record, the
    cluster is looked for where ``start`` would put it. ``purge``: then delete the cluster and
    ``<state>`` (runs, artifacts, logs); returns the folders deleted."""
    state = state.resolve()
    record = state / "server.json"
    info = json.loads(record.read_text()) if record.exists() else {}
    pid = info.get("mlflow_pid")
    if pid:
        try:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    lay = layout(state)
    if "pgdata" in info:  # the record says where ("pgdata": a folder in <state>)
        db_user = info.get("db_user", DB_USER if os.geteuid() == 0 else None)
        cluster = info.get("cluster")
        lay = Layout(Path(cluster) if cluster else state, db_user, own_folder=bool(cluster))
        pgdata = state / info["pgdata"]
    else:
        pgdata = lay.pgdata
    if (pgdata / "postmaster.pid").exists():
        _run(
            _as_db_user(
                [_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"], lay.db_user
            ),
            "stopping PostgreSQL",
        )
    record.unlink(missing_ok=True)
    if not purge:
        return []
    deleted = []
    # a cluster folder is deleted only if it is one (its marker or pgdata is in it)
    if lay.own_folder and ((lay.cluster / MARKER).exists() or lay.pgdata.exists()):
        shutil.rmtree(lay.cluster)
        deleted.append(lay.cluster)
    # in <state>, only what `start` makes there: --state may name a folder that holds more
    for name in STATE_FILES:
        path = state / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        deleted.append(path)
    try:
        state.rmdir()
    except OSError:  # missing, or it holds something else
        pass
    return deleted


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # our own child that exited but was not reaped yet
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument(
        "--purge",
        action="store_true",
        help="stop: then delete the cluster and the state folder (every run and artifact)",
    )
    parser.add_argument("--state", type=Path, default=Path(".actlab/server"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--pg-port", type=int, default=DEFAULT_PG_PORT)
    args = parser.parse_args(argv)
    return exit_code(lambda: _act(args))


def _act(args: argparse.Namespace) -> None:
    if args.action == "start":
        url = start(args.state, args.port, args.pg_port)
        print(f"MLflow tracking server on PostgreSQL: {url} (stop: make server-stop)")
        pgdata = json.loads((args.state / "server.json").read_text())["pgdata"]
        print(
            f"runs in {pgdata}, artifacts in {args.state / 'artifacts'} "
            "(to stop and delete them: python -m actlab.tools.server stop --purge)"
        )
        print(f"export MLFLOW_TRACKING_URI={url}")
    else:
        deleted = stop(args.state, purge=args.purge)
        print(f"stopped the server recorded in {args.state}")
        for folder in deleted:
            print(f"deleted {folder}")


if __name__ == "__main__":
    raise SystemExit(main())
