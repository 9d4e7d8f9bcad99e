"""Two runs of the same matrix side by side: per configuration, how many seeds trained, the
mean test accuracy and the mean epochs in each, from their ``metrics/models.csv``.

    python -m actlab.tools.compare_runs A/models.csv B/models.csv --names "patience 7" "min 20"

For what a setting changes (early stopping, a learning rate, an init): run the matrix twice
(e.g. as two DVC experiments, ``dvc exp apply`` each and keep its models.csv), then compare.
Prints a Markdown table; ``--out`` writes it (docs/results.md shows one, copied by
``make results``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from actlab import files
from actlab.analysis import stats
from actlab.errors import DataError, exit_code
from actlab.identity import configuration_of

KEYS = ["activation", "architecture"]


def summarise(models: pd.DataFrame, chance: float) -> pd.DataFrame:
    """Per configuration: its name, seeds trained (of all), mean test accuracy (%), mean
    epochs."""
    return models.groupby(KEYS, sort=False).agg(
        configuration=("model", lambda names: configuration_of(names.iloc[0])),
        seeds=("seed", "size"),
        trained=("test_acc", lambda v: stats.count_trained(v, chance)),
        test_acc=("test_acc", "mean"),
        epochs=("epochs", "mean"),
    )


def side_by_side(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str], chance: float):
    """The configurations of ``a`` (in its order) with both runs' numbers and the change."""
    sa, sb = summarise(a, chance), summarise(b, chance)
    rows = []
    for key in sa.index:
        ra, rb = sa.loc[key], sb.loc[key] if key in sb.index else None
        row = {"configuration": ra["configuration"]}
        for name, r in ((names[0], ra), (names[1], rb)):
            row[f"{name}: trained"] = "" if r is None else f"{r['trained']:.0f}/{r['seeds']:.0f}"
            row[f"{name}: test acc %"] = "" if r is None else f"{r['test_acc']:.2f}"
            row[f"{name}: epochs"] = "" if r is None else f"{r['epochs']:.1f}"
        row["change (points)"] = "" if rb is None else f"{rb['test_acc'] - ra['test_acc']:+.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


COLUMNS = {"model", "activation", "architecture", "seed", "test_acc", "epochs"}


def read_table(path: Path, columns, what: str, fix: str = "") -> pd.DataFrame:
    """A CSV a tool reads (``what`` it should be, e.g. "a models.csv"); DataError naming the
    file when it is missing, not a table or lacks one of ``columns``, with ``fix`` after it."""
    hint = f"; {fix}" if fix else ""
    try:
        table = pd.read_csv(path)
    except (FileNotFoundError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: {err}{hint}") from None
    missing = sorted(set(columns) - set(table))
    if missing:
        raise DataError(f"{path}: not {what}: no column {missing}{hint}")
    return table


def read_models(path: Path) -> pd.DataFrame:
    """A run's ``models.csv``."""
    return read_table(path, COLUMNS, "a models.csv")


def emit(table: pd.DataFrame, out: Path | None) -> None:
    """A table of text cells as Markdown, to ``out`` or to stdout."""
    text = table.to_markdown(index=False, disable_numparse=True) + "\n"  # keep "+0.30"
    if out is None:
        sys.stdout.write(text)
    else:
        files.write_text(out, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="the first run's models.csv")
    parser.add_argument("b", type=Path, help="the second run's models.csv")
    parser.add_argument("--names", nargs=2, default=("A", "B"), help="a label for each run")
    parser.add_argument("--classes", type=int, default=10, help="chance is 100 / classes (%%)")
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)

    def run() -> None:
        a, b = read_models(args.a), read_models(args.b)
        emit(side_by_side(a, b, tuple(args.names), stats.chance(args.classes)), args.out)

    return exit_code(run, catch=(ValueError, DataError))


if __name__ == "__main__":
    raise SystemExit(main())
