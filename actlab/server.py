"""A shared MLflow tracking server on PostgreSQL: ``make server`` / ``make server-stop``.

The team's tracking server, started from one checkout and used by every
worker through ``MLFLOW_TRACKING_URI``. What it starts:

- a PostgreSQL cluster, created on first use in ``<state>/pgdata`` (``.actlab/server/`` in the
  repository, git-ignored), listening on 127.0.0.1 only, run as the ``postgres`` user when
  started as root (PostgreSQL refuses to run as root);
- ``mlflow server`` on it, with the artifact proxy (``--serve-artifacts``): workers send
  figures and checkpoints through the server, so they need its URL and nothing else.

``stop`` stops what ``start`` started, by the pids in ``<state>/server.json`` and PostgreSQL's
own ``postmaster.pid``, and nothing else. The cluster trusts connections from 127.0.0.1; a server
that other machines reach needs a password (``pg_hba.conf``) and a proxy in front of MLflow.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from actlab.errors import StoreError

DEFAULT_PORT = 5050
DEFAULT_PG_PORT = 54329
HOST = "127.0.0.1"  # loopback only: put a proxy with authentication in front to share it
DATABASE = "mlflow"


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


def _as_db_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses root: as root, run its programs as the ``postgres`` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _owned_by_db_user(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
        path.chmod(0o700)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise StoreError(f"{what} failed: {(result.stderr or result.stdout).strip()}")


def start_postgres(state: Path, pg_port: int) -> str:
    """Create (first time) and start the cluster; returns the SQLAlchemy URI of its database."""
    pgdata = state / "pgdata"
    if not (pgdata / "PG_VERSION").exists():
        _owned_by_db_user(pgdata)
        _run(
            _as_db_user(
                [_pg_bin("initdb"), "-D", str(pgdata), "-U", DATABASE, "--auth=trust", "-E", "UTF8"]
            ),
            "initdb",
        )
    log = state / "postgres.log"
    log.touch()
    if os.geteuid() == 0:
        shutil.chown(log, "postgres", "postgres")
    options = f"-p {pg_port} -c listen_addresses={HOST} -c unix_socket_directories=''"
    _run(
        _as_db_user([_pg_bin("pg_ctl"), "-D", str(pgdata), "-l", str(log), "-o", options, "-w"])
        + ["start"],
        f"starting PostgreSQL on {HOST}:{pg_port} (log: {log})",
    )
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
    state.mkdir(parents=True, exist_ok=True)
    if (state / "server.json").exists():
        raise StoreError(
            f"a server is already recorded in {state / 'server.json'}; fix: make server-stop"
        )
    backend = start_postgres(state, pg_port)
    artifacts = state / "artifacts"
    artifacts.mkdir(exist_ok=True)
    log = state / "mlflow-server.log"
    url = f"http://{HOST}:{port}"
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
    info = {"url": url, "mlflow_pid": process.pid, "pg_port": pg_port, "pgdata": "pgdata"}
    (state / "server.json").write_text(json.dumps(info, indent=2) + "\n")
    try:
        _wait_healthy(url, process, log)
    except BaseException:
        stop(state)
        raise
    return url


def stop(state: Path) -> None:
    """Stop what ``start`` recorded in ``<state>``: the MLflow server's process group, then
    PostgreSQL (``pg_ctl stop``, which reads the cluster's own pid file)."""
    state = state.resolve()
    record = state / "server.json"
    if record.exists():
        pid = json.loads(record.read_text())["mlflow_pid"]
        try:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pgdata = state / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        _run(
            _as_db_user([_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]),
            "stopping PostgreSQL",
        )
    record.unlink(missing_ok=True)


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
    parser.add_argument("--state", type=Path, default=Path(".actlab/server"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--pg-port", type=int, default=DEFAULT_PG_PORT)
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            url = start(args.state, args.port, args.pg_port)
            print(f"MLflow tracking server on PostgreSQL: {url} (stop: make server-stop)")
            print(f"export MLFLOW_TRACKING_URI={url}")
        else:
            stop(args.state)
            print(f"stopped the server recorded in {args.state}")
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
