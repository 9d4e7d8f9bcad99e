"""Print what training cost per configuration: seconds per epoch and time to a validation
accuracy, from metrics/timing/ and metrics/curves/ (docs/results.md, "Training cost").

    python -m actlab.tools.cost [--threshold 0.85] [--params params.yaml] [--out metrics/cost.md]

The models are those params.yaml's matrix names, never whatever lies in metrics/. Without
``--out`` the table goes to stdout; with it, to that file (atomically). ``make cost`` writes
``metrics/cost.md``, which no DVC stage declares or reads, on purpose: wall times differ between
identical reruns, and a DVC-tracked table holding them would make every rerun look changed.

Run from the repository root. Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actlab import config, files, paths
from actlab.analysis import cost
from actlab.errors import DataError, exit_code

TIMING_KEYS = ("device", "seconds_per_epoch")
CURVE_COLUMNS = ("epoch", "val_acc")


def _timing(name: str) -> dict:
    path = paths.timing(name)
    if not path.exists():
        raise DataError(f"{path}: no timing for model {name}; run `dvc repro train`")
    try:
        timing = files.read_json(path)
    except ValueError as err:  # json.JSONDecodeError
        raise DataError(f"{path}: not valid JSON ({err}); run `dvc repro train`") from None
    missing = [key for key in TIMING_KEYS if not isinstance(timing, dict) or key not in timing]
    if missing:
        raise DataError(f"{path}: lacks {', '.join(missing)}; run `dvc repro train`")
    return timing


def _curves(name: str):
    path = paths.curves(name)
    if not path.exists():
        raise DataError(f"{path}: no curves for model {name}; run `dvc repro train`")
    history = files.read_tsv(path)
    missing = [column for column in CURVE_COLUMNS if column not in history.columns]
    if missing:
        raise DataError(f"{path}: lacks the column(s) {', '.join(missing)}; run `dvc repro train`")
    return history


def table(params: Path, threshold: float):  # -> pandas.DataFrame
    """The readable cost table of every model of ``params``' matrix."""
    cfg = config.load(params)
    costs = [
        cost.model_cost(cfg.model_spec(name), _timing(name), _curves(name), threshold)
        for name in cfg.model_names()
    ]
    return cost.readable(cost.configuration_costs(costs), threshold)


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a validation accuracy as a fraction, in (0, 1], e.g. 0.85"
        )
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--threshold",
        type=_threshold,
        default=cost.DEFAULT_THRESHOLD,
        help=f"validation accuracy, a fraction (default {cost.DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--params", type=Path, default=paths.PARAMS, help="whose matrix (default params.yaml)"
    )
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)
    return exit_code(lambda: _run(args))


def _run(args: argparse.Namespace) -> None:
    readable = table(args.params, args.threshold)
    if args.out is None:
        section = (cost.TITLE, cost.explanation(args.threshold), readable)
        sys.stdout.write(files.markdown_sections([section]))
    else:
        files.write_table(args.out, readable)  # the table alone: docs/results.md shows it
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
