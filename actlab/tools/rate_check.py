"""Does a learning rate chosen on a pilot hold on fresh seeds? The winner's curse, measured.

    python -m actlab.tools.rate_check metrics/models.csv [--fresh 45 46] [--out FILE]

A grid run (``train.lr`` a list) with pilot and fresh seeds chooses each activation's rate on
the pilot seeds (``actlab.analysis.learning_rates``, the rule the comparison uses) and tests it
on the fresh ones. Per activation x architecture this tool sets side by side: the rate the
pilot chose, its mean test accuracy on the pilot seeds (the seeds that chose it: flattered,
since the best of several rates was picked on correlated validation numbers) and on the fresh
seeds (not flattered), the change, and the rate the fresh seeds' own validation accuracy would
choose. The fresh seeds default to ``analysis.confirm_seeds`` of ``params.yaml``; every other
seed of the table is the pilot. Prints a Markdown table; ``--out`` writes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from actlab import config, paths
from actlab.analysis import learning_rates, stats
from actlab.errors import DataError, exit_code
from actlab.tools.compare_runs import emit, read_table

COLUMNS = ("activation", "architecture", "lr", "seed", "best_val_acc", "test_acc")


def check(models: pd.DataFrame, fresh: list[int], chance: float) -> pd.DataFrame:
    """One row per activation x architecture (in the table's order): the rate chosen on the
    pilot (every seed not in ``fresh``), the mean test accuracy at that rate on the pilot and
    on the fresh seeds, the change, and the rate the fresh seeds would choose."""
    rates = sorted(models["lr"].unique())
    if len(rates) < 2:
        raise DataError(
            f"one learning rate ({rates[0]:g}) in the table: the check needs a grid run "
            "(train.lr a list, e.g. make preset PRESET=learning-rates)"
        )
    seeds = set(models["seed"])
    missing = sorted(set(fresh) - seeds)
    if missing:
        raise DataError(f"fresh seed {missing[0]} is not in the table; its seeds: {sorted(seeds)}")
    pilot = sorted(seeds - set(fresh))
    if not pilot:
        raise DataError("every seed of the table is fresh: no pilot seed to choose the rates on")
    on_pilot = learning_rates.chosen_rates(models, chance, on=pilot)
    on_fresh = learning_rates.chosen_rates(models, chance, on=fresh)
    rows = []
    for (activation, arch), lr in on_pilot.items():
        at = models[
            (models["activation"] == activation)
            & (models["architecture"] == arch)
            & (models["lr"] == lr)
        ]
        before = at[at["seed"].isin(pilot)]["test_acc"].mean()
        after = at[at["seed"].isin(fresh)]["test_acc"].mean()
        rows.append(
            {
                "activation": activation,
                "architecture": arch,
                "chosen lr (pilot)": f"{lr:g}",
                f"test acc %, pilot ({len(pilot)} seeds)": f"{before:.2f}",
                f"test acc %, fresh ({len(fresh)} seeds)": f"{after:.2f}",
                "fresh - pilot": f"{after - before:+.2f}",
                "fresh seeds would choose": f"{on_fresh[(activation, arch)]:g}",
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="?", default=paths.MODELS_CSV)
    parser.add_argument(
        "--fresh", type=int, nargs="+", help="the fresh seeds (default: analysis.confirm_seeds)"
    )
    parser.add_argument("--params", type=Path, default=paths.PARAMS, help="for the default")
    parser.add_argument("--classes", type=int, default=10, help="chance is 100 / classes (%%)")
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)

    def run() -> None:
        fresh = args.fresh or list(config.load(args.params).analysis.confirm_seeds)
        if not fresh:
            raise DataError(
                f"no fresh seeds: name them with --fresh, or set analysis.confirm_seeds in "
                f"{args.params}"
            )
        models = read_table(args.models, COLUMNS, "a models.csv", "run the grid first")
        emit(check(models, fresh, stats.chance(args.classes)), args.out)

    return exit_code(run, catch=(ValueError, DataError))


if __name__ == "__main__":
    raise SystemExit(main())
