"""Stage ``check_params``: validate all of params.yaml before DVC touches any output.

DVC deletes a stage's outputs before it runs the stage's command, so a stage that validates
its own params would already have lost them. This stage runs first (``prepare`` depends on
its stamp) on any edit of params.yaml; the stamp's bytes never change, so a valid edit reruns
nothing through it. It imports neither torch nor mlflow: it answers in well under a second. It
also checks that a tracking server named by MLFLOW_TRACKING_URI answers.
"""

from __future__ import annotations

from actlab import config, files, paths, stage_runner
from actlab.analysis import plan
from actlab.data import user
from actlab.model import registry
from actlab.tracking import store


def _main() -> None:
    cfg = registry.check(config.load(paths.PARAMS))  # the activations: the registry's to say
    plan.check(cfg)  # what the analysis plan needs across keys
    user.check_config(cfg)  # the user's own files, read and checked whole
    store.check_store()  # an unreachable tracking server stops the run here, in seconds
    files.write_json(paths.PARAMS_OK, {"params.yaml": "valid"})


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
