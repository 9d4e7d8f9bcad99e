"""`make ui`: the MLflow UI on the pipeline's store, and the URL that opens on the comparison.

    python -m actlab.tools.ui [--port 5000] [--print-url]

Prints the URL of the models' experiment (``mlflow.experiment`` in params.yaml) in MLflow's
classic view (``workflowType=machine_learning``: MLflow 3 otherwise opens its GenAI pages) with
the saved view ``plot`` writes (``viewStateShareKey=actlab``, ``actlab.tracking.runs``):
configuration rows with their models nested under them, test accuracy, its interval, the
difference from the baseline and the verdict as columns. Then serves the UI on 127.0.0.1
(``mlflow ui``, replacing this process). ``--print-url`` prints the URL only. With
``MLFLOW_TRACKING_URI`` a tracking server (``make server``), it prints that server's URL: the
server serves the UI itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlencode, urlsplit

from actlab import config
from actlab.errors import exit_code

CLASSIC = {"workflowType": "machine_learning"}  # MLflow 3.17 reads it before its stored default


def url(host: str, port: int, experiment_id: str | None, view: str | None) -> str:
    """The page to open: the experiment's runs in the classic view, with the saved view when
    there is one; the experiment list when the store has no experiment yet."""
    base = f"http://{host}:{port}/#/experiments"
    if experiment_id is None:
        return f"{base}?{urlencode(CLASSIC)}"
    query = CLASSIC | ({"viewStateShareKey": view} if view else {})
    return f"{base}/{experiment_id}/runs?{urlencode(query)}"


def find(experiment: str) -> tuple[str | None, str | None]:
    """The experiment's id in the store and its saved view's key (None when plot has not
    written it yet)."""
    from actlab.tracking import runs, store

    found = store.client().get_experiment_by_name(experiment)
    if found is None:
        return None, None
    return found.experiment_id, (runs.VIEW_KEY if runs.VIEW_TAG in found.tags else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--print-url", action="store_true", help="print the URL, serve nothing")
    args = parser.parse_args(argv)

    def body() -> int:
        from actlab.tracking import store

        cfg = config.load()
        uri = store.tracking_uri()
        experiment_id, view = find(cfg.mlflow.experiment)
        if uri.startswith(("http://", "https://")):  # a tracking server serves its own UI
            served = urlsplit(uri)
            host, port = served.hostname, served.port or (443 if uri[4] == "s" else 80)
            print(url(host, port, experiment_id, view).replace("http://", f"{served.scheme}://"))
            return 0
        print(url(args.host, args.port, experiment_id, view))
        if args.print_url:
            return 0
        if experiment_id is None:
            print(f"no experiment {cfg.mlflow.experiment!r} yet: run `dvc repro`", file=sys.stderr)
        elif view is None:
            print("no saved comparison view yet: `dvc repro plot` writes it", file=sys.stderr)
        sys.stdout.flush()
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
        command += ["--host", args.host, "--port", str(args.port)]
        os.execve(sys.executable, command, env)
        return 0  # not reached

    return exit_code(body)


if __name__ == "__main__":
    raise SystemExit(main())
