"""Paired comparisons between configurations of one run that differ in their architecture: each
activation with another init against the default init, a deep network against a shallow one,
or any configuration against another, from the run's ``metrics/models.csv``.

    python -m actlab.tools.compare_configs metrics/models.csv --across deep
    python -m actlab.tools.compare_configs metrics/models.csv \\
        --family tanh-shallow_64x4 relu-deep_48x9 leakyrelu-deep_48x9

The plot stage compares the activations of one architecture with a baseline activation; this
compares configurations across architectures with the same statistics
(``compare.compare_to_baseline``): paired by seed (the seed sets the batch order, the same in
every configuration), a t-test only where every seed of both configurations trained, Dunnett
or Bonferroni within a family, equivalence within ±``--margin`` points, the range of
detectable differences where the verdict is inconclusive. A models.csv holds no per-image
predictions: every verdict is on the test set the models were evaluated on. A family is a
baseline configuration and its candidates (``--family BASELINE CANDIDATE...``, repeatable);
``--across ARCH`` makes one family per activation: its configuration on ARCH against each other
architecture's. Prints a Markdown table; ``--out`` writes it (docs/results.md shows them,
copied by ``make results``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from actlab.analysis import stats, tables
from actlab.analysis.compare import compare_to_baseline
from actlab.errors import DataError, exit_code
from actlab.identity import configuration_of
from actlab.tools import compare_runs

Family = tuple[str, list[str]]  # (baseline configuration, its candidates)


def _configurations(models: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each configuration's models, sorted by seed, in the order of the file."""
    if "lr" in models and models["lr"].nunique() > 1:
        raise ValueError(
            "the models have several learning rates "
            f"({', '.join(str(v) for v in models['lr'].unique())}); "
            "compare the models of one rate (filter models.csv first)"
        )
    return {
        configuration_of(group["model"].iloc[0]): group.sort_values("seed")
        for _, group in models.groupby(["activation", "architecture"], sort=False)
    }


def families_across(models: pd.DataFrame, architecture: str) -> list[Family]:
    """One family per activation that has ``architecture``: that configuration against the
    activation's configurations on every other architecture, in the file's order."""
    architectures = list(dict.fromkeys(models["architecture"]))
    if architecture not in architectures:
        raise ValueError(
            f"no models of architecture {architecture!r}; there are: {', '.join(architectures)}"
        )
    families = []
    for _, of_activation in models.groupby("activation", sort=False):
        names = {  # architecture -> its configuration's name, in the file's order
            arch: configuration_of(group["model"].iloc[0])
            for arch, group in of_activation.groupby("architecture", sort=False)
        }
        if architecture in names and len(names) > 1:
            others = [name for arch, name in names.items() if arch != architecture]
            families.append((names[architecture], others))
    return families


def _epochs(s: dict) -> str:
    """Mean epochs, and how many seeds ran to max_epochs where the models say why they
    stopped."""
    at_max = tables.at_max_epochs(s)
    return f"{s['epochs_mean']:.1f}" + (f" ({at_max})" if at_max else "")


def compare(
    models: pd.DataFrame, families: Sequence[Family], *, margin: float, chance: float
) -> pd.DataFrame:
    """One row per candidate of every family: how many seeds of it and of its baseline
    trained, both accuracies, the paired difference with its interval adjusted within the
    family, the adjusted p and how it was adjusted, the verdict and the mean epochs."""
    configurations = _configurations(models)
    rows = []
    for baseline, candidates in families:
        unknown = [c for c in (baseline, *candidates) if c not in configurations]
        if unknown:
            raise ValueError(
                f"no models of configuration {', '.join(map(repr, unknown))}; there are: "
                f"{', '.join(configurations)}"
            )
        if baseline in candidates:
            raise ValueError(f"{baseline!r} is the baseline of its family and a candidate")
        by_seed = {
            c: dict(zip(configurations[c]["seed"], configurations[c]["test_acc"], strict=True))
            for c in (baseline, *candidates)
        }
        comparisons = compare_to_baseline(by_seed, baseline, margin=margin, chance=chance)
        summaries = {
            c: tables.seed_summary(configurations[c], chance, ["epochs"])
            for c in (baseline, *candidates)
        }
        base = summaries[baseline]
        for candidate in candidates:
            own = summaries[candidate]
            row = {**own, **tables.comparison_columns(comparisons[candidate])}
            rows.append(
                {
                    "candidate": candidate,
                    "baseline": baseline,
                    "trained": f"{own['trained']}/{own['seeds']} vs "
                    f"{base['trained']}/{base['seeds']}",
                    "test acc %": tables.accuracy_text(own),
                    "baseline test acc %": tables.accuracy_text(base),
                    "difference [adj. CI]": tables.difference_text(row),
                    "p (adj.)": tables.p_text(row["p_adjusted"]),
                    "adjusted by": row["adjustment"],
                    "verdict": tables.verdict_text(row),
                    "epochs (vs baseline)": f"{_epochs(own)} vs {_epochs(base)}",
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, help="a run's metrics/models.csv")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--across", metavar="ARCH", help="every activation: each architecture against ARCH"
    )
    how.add_argument(
        "--family",
        nargs="+",
        action="append",
        metavar="CONFIG",
        help="a baseline configuration, then its candidates (<activation>-<architecture>)",
    )
    parser.add_argument("--margin", type=float, default=0.5, help="equivalence margin, points")
    parser.add_argument("--classes", type=int, default=10, help="chance is 100 / classes (%%)")
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)
    return exit_code(lambda: _run(args), catch=(ValueError, DataError))


def _run(args: argparse.Namespace) -> None:
    models = compare_runs.read_models(args.models)
    if args.across is not None:
        families = families_across(models, args.across)
    else:
        short = [f[0] for f in args.family if len(f) < 2]
        if short:
            raise ValueError(f"--family {short[0]}: name a baseline and at least one candidate")
        families = [(f[0], f[1:]) for f in args.family]
    if args.margin <= 0:
        raise ValueError(f"--margin must be positive, got {args.margin:g}")
    table = compare(models, families, margin=args.margin, chance=stats.chance(args.classes))
    compare_runs.emit(table, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
