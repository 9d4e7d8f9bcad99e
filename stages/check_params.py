"""Stage ``check_params``: validate all of params.yaml before DVC touches any output.

DVC deletes a stage's outputs before it runs the stage's command, so a stage that validates
its own params would already have lost them. This stage runs first (``prepare`` depends on
its stamp); the stamp's bytes never change, so a valid edit reruns nothing through it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stages import cli, config

STAMP = Path("data/params_ok.json")


def _main() -> None:
    config.load()
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text('{"params.yaml": "valid"}\n')


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    return cli.run_stage(_main)


if __name__ == "__main__":
    raise SystemExit(main())
