"""Does a learning rate chosen on a pilot hold on fresh seeds? The winner's curse, estimated.

    python -m actlab.tools.rate_check metrics/models.csv [--fresh 45 46] [--out FILE]

A grid run (``train.lr`` a list) with pilot and fresh seeds chooses each activation's rate on
the pilot seeds (``actlab.analysis.learning_rates``, the rule the comparison uses) and tests it
on the fresh ones. Per activation x architecture this tool sets side by side: the rate the
pilot chose, its mean test accuracy (and the seeds' SD) on the pilot seeds (the seeds that
chose it: flattered, since the best of several rates was picked on validation numbers that
correlate with the test's) and on the fresh seeds (not flattered), the change, the seeds that
diverged at that rate, and the rate the fresh seeds' own validation accuracy would choose.
The change is a difference of means over different seeds, not paired: with few seeds it is
mostly the seeds' spread, and the SDs say how much. The fresh seeds default to
``analysis.confirm_seeds`` of ``params.yaml``; every other seed of the table is the pilot.
Prints a Markdown table; ``--out`` writes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from actlab import config, paths
from actlab.analysis import learning_rates, stats
from actlab.errors import DataError, exit_code
from actlab.tools import compare_runs

COLUMNS = ("activation", "architecture", "lr", "seed", "best_val_acc", "test_acc")


def _complete(models: pd.DataFrame, seeds: list[int]) -> None:
    """Every activation x architecture x rate has a test accuracy for every seed, or
    DataError naming the first gap (a mean over the seeds that are there would flatter)."""
    for (activation, arch, lr), rows in models.groupby(
        ["activation", "architecture", "lr"], sort=False
    ):
        have = set(rows.loc[rows["test_acc"].notna(), "seed"])
        for seed in seeds:
            if seed not in have:
                raise DataError(
                    f"{activation}-{arch} at lr {lr:g}: no test accuracy for seed {seed}; "
                    "evaluate every model of the grid (dvc repro) before the check"
                )


def _cell(values: pd.Series) -> str:
    """A mean with the seeds' SD: ``89.20 (0.28)``; one seed has no SD."""
    mean = f"{values.mean():.2f}"
    return f"{mean} ({values.std(ddof=1):.2f})" if len(values) > 1 else mean


def _seeds(n: int) -> str:
    return f"{n} seed" + ("s" if n != 1 else "")


def against_fresh(
    models: pd.DataFrame, fresh: list[int], chance: float, source: str = "--fresh"
) -> pd.DataFrame:
    """One row per activation x architecture (in the table's order): the rate chosen on the
    pilot (every seed not in ``fresh``), the mean test accuracy (SD) at that rate on the pilot
    and on the fresh seeds, the change, the seeds that diverged there, and the rate the fresh
    seeds would choose. ``source`` names where ``fresh`` came from, for the errors."""
    if models.empty:
        raise DataError("the table has no models; run the grid first (dvc repro)")
    rates = sorted(models["lr"].unique())
    if len(rates) < 2:
        raise DataError(
            f"one learning rate ({rates[0]:g}) in the table: the check needs a grid run "
            "(train.lr a list, e.g. make preset PRESET=learning-rates)"
        )
    fresh = sorted(set(fresh))
    seeds = sorted(set(models["seed"]))
    missing = [s for s in fresh if s not in seeds]
    if missing:
        raise DataError(
            f"fresh seed {missing[0]} (from {source}) is not in the table, whose seeds are "
            f"{seeds}; run the confirmation that trains it (make plan prints it) and dvc exp "
            "apply it, or name the fresh seeds with --fresh"
        )
    pilot = [s for s in seeds if s not in fresh]
    if not pilot:
        raise DataError(
            f"every seed of the table is fresh (from {source}): no pilot seed to choose the "
            "rates on; name fewer fresh seeds"
        )
    _complete(models, seeds)
    on_pilot = learning_rates.chosen_rates(models, chance, on=pilot)
    on_fresh = learning_rates.chosen_rates(models, chance, on=fresh)
    diverged = learning_rates.diverged(models)
    rows = []
    for (activation, arch), lr in on_pilot.items():
        at = (
            (models["activation"] == activation)
            & (models["architecture"] == arch)
            & (models["lr"] == lr)
        )
        before, after = at & models["seed"].isin(pilot), at & models["seed"].isin(fresh)
        change = models.loc[after, "test_acc"].mean() - models.loc[before, "test_acc"].mean()
        rows.append(
            {
                "activation": activation,
                "architecture": arch,
                "chosen lr (pilot)": f"{lr:g}",
                f"test acc % (SD), pilot {_seeds(len(pilot))}": _cell(
                    models.loc[before, "test_acc"]
                ),
                f"fresh {_seeds(len(fresh))}": _cell(models.loc[after, "test_acc"]),
                "fresh - pilot": f"{change:+.2f}",
                "diverged (pilot, fresh)": (
                    f"{int(diverged[before].sum())}, {int(diverged[after].sum())}"
                ),
                "fresh seeds would choose": f"{on_fresh[(activation, arch)]:g}",
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "models", type=Path, nargs="?", default=paths.MODELS_CSV, help="the grid run's models.csv"
    )
    parser.add_argument(
        "--fresh", type=int, nargs="+", help="the fresh seeds (default: analysis.confirm_seeds)"
    )
    parser.add_argument("--params", type=Path, default=paths.PARAMS, help="for the default")
    parser.add_argument("--classes", type=int, default=10, help="chance is 100 / classes (%%)")
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)

    def run() -> None:
        source = "--fresh" if args.fresh else f"analysis.confirm_seeds in {args.params}"
        fresh = args.fresh or list(config.load(args.params).analysis.confirm_seeds)
        if not fresh:
            raise DataError(
                f"no fresh seeds: name them with --fresh, or set analysis.confirm_seeds in "
                f"{args.params}"
            )
        models = compare_runs.read_table(args.models, COLUMNS, "a models.csv", "run the grid first")
        table = against_fresh(models, fresh, stats.chance(args.classes), source)
        compare_runs.emit(table, args.out)

    return exit_code(run, catch=(ValueError, DataError))


if __name__ == "__main__":
    raise SystemExit(main())
