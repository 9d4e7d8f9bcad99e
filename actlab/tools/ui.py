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
from urllib.parse import urlencode

from actlab import config
from actlab.errors import exit_code

CLASSIC = {"workflowType": "machine_learning"}  # MLflow 3.17 reads it before its stored default


def url(base: str, experiment_id: str | None, view: str | None) -> str:
    """The page to open on the UI at ``base`` (``http://127.0.0.1:5000``): the experiment's
    runs in the classic view, with the saved view when there is one; the experiment list when
    the store has no experiment yet."""
    page = f"{base.rstrip('/')}/#/experiments"
    if experiment_id is None:
        return f"{page}?{urlencode(CLASSIC)}"
    query = CLASSIC | ({"viewStateShareKey": view} if view else {})
    return f"{page}/{experiment_id}/runs?{urlencode(query)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--print-url", action="store_true", help="print the URL, serve nothing")
    args = parser.parse_args(argv)

    def body() -> int:
        from actlab.tracking import runs, store

        cfg = config.load()
        uri = store.tracking_uri()
        experiment_id, view = runs.saved_view(cfg.mlflow.experiment)
        if uri.startswith(("http://", "https://")):  # a tracking server serves its own UI
            print(url(uri, experiment_id, view))
            return 0
        print(url(f"http://{args.host}:{args.port}", experiment_id, view))
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
