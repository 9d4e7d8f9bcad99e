"""Plan a confirmation from a finished run (the pilot): per comparison, the seeds that decide it,
and the confirmatory matrix on fresh seeds.

    python -m actlab.tools.plan [--cap 10] [--architectures base] [--first 51] [--out FILE]
    make plan CAP=10 [FIRST=51]

Reads the pilot's ``metrics/summary.csv`` (each comparison's paired differences: their seed
standard deviation and its degrees of freedom, the test images' share of the standard error)
and ``metrics/models.csv`` (its seeds), and ``params.yaml``'s ``analysis`` section (delta, the
equivalence margin, alpha, the power). Per comparison: the seeds per configuration that detect a
difference of delta, that show equivalence within the margin when there is no difference, and
that decide it either way (the larger), from the one-sided 80 % upper confidence bound of the
pilot's seed SD (``actlab.analysis.plan``), capped at ``--cap``. Then the fresh seeds, none of
the pilot's, and the edit that runs them as a confirmation: the pilot's seeds stay in the matrix
(reused by their run keys: with a grid of learning rates they choose each activation's rate),
``analysis.confirm_seeds`` names the fresh ones, whose verdicts are the confirmatory ones.
Seeds an earlier confirmation used have been seen: ``--first`` starts the fresh seeds past them.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import pandas as pd

from actlab import config, files, paths
from actlab.analysis import plan
from actlab.errors import DataError, exit_code
from actlab.tools import compare_runs
from actlab.tools.args import at_least

COLUMNS = ("configuration", "architecture", "diff_mean", "diff_sd", "diff_sd_df", "image_se")


def needs(summary: pd.DataFrame, analysis: config.AnalysisConfig) -> pd.DataFrame:
    """One row per tested comparison: its pilot numbers and the seeds it needs."""
    rows = []
    for _, of_arch in summary.groupby("architecture", sort=False):
        m = len(of_arch) - 1  # every activation but the baseline: the confirmation's family
        tested = of_arch[of_arch["diff_sd"].notna() & (of_arch["diff_sd"] > 0)]
        for _, r in tested.iterrows():
            sd = plan.sd_upper(float(r["diff_sd"]), float(r["diff_sd_df"]))
            image = 0.0 if pd.isna(r["image_se"]) else float(r["image_se"])
            need = plan.seeds_needed(
                sd,
                image,
                delta=analysis.delta,
                margin=analysis.equivalence_margin,
                m=m,
                alpha=analysis.alpha,
                power=analysis.power,
            )

            def count(n: int | None) -> str:
                return f"more than {plan.LIMIT}" if n is None else str(n)

            rows.append(
                {
                    "configuration": r["configuration"],
                    "difference (pilot)": f"{r['diff_mean']:+.2f}",
                    "seed SD (80 % upper bound)": f"{sd:.2f}",
                    "test images' SE": f"{image:.2f}",
                    f"seeds to detect {analysis.delta:g}": count(need.difference),
                    f"to show ±{analysis.equivalence_margin:g}": count(need.equivalence),
                    "to decide": count(need.decide),
                    "_decide": need.decide,
                }
            )
    return pd.DataFrame(rows)


def confirmation(
    table: pd.DataFrame, pilot: list[int], cap: int, first: int | None = None
) -> tuple[list[int], list[str]]:
    """The fresh seeds for every configuration (the most any comparison needs, at most
    ``cap``), from ``first`` on when given (else the next above the pilot's), and the
    comparisons the cap leaves undecided."""
    after = pilot if first is None else [*pilot, first - 1]
    if not len(table):
        return plan.fresh_seeds(after, 0), []
    decide = [cap + 1 if n is None or pd.isna(n) else int(n) for n in table["_decide"]]
    short = [c for c, n in zip(table["configuration"], decide, strict=True) if n > cap]
    return plan.fresh_seeds(after, min(cap, max(decide))), short


def _grid_cost(cfg: config.Config, architectures: list[str] | None, fresh: list[int]) -> str:
    """With a grid of learning rates: what the fresh seeds train, and what of it is compared."""
    rates = cfg.train.lr
    if len(rates) < 2 or not fresh:
        return ""
    compared = len(cfg.models.activations) * len(architectures or cfg.models.architectures)
    return (
        f" With the grid of learning rates ({', '.join(f'{r:g}' for r in rates)}) each fresh "
        f"seed trains every rate, {compared * len(rates)} models "
        f"({compared * len(rates) * len(fresh)} for the {len(fresh)} fresh seeds), and the "
        f"comparison uses the {compared} at the rates the pilot's seeds chose (the matrix is "
        "a product: the rates the pilot did not choose train too)."
    )


def _run(args: argparse.Namespace) -> None:
    cfg = config.load(args.params)
    summary = compare_runs.read_table(
        args.summary,
        COLUMNS,
        "a summary with per-image predictions (one from before them lacks their columns)",
        "run the pilot with `dvc repro`",
    )
    if args.architectures:
        unknown = sorted(set(args.architectures) - set(summary["architecture"]))
        if unknown:
            raise DataError(
                f"--architectures {unknown[0]}: not in {args.summary}; there are: "
                f"{', '.join(dict.fromkeys(summary['architecture']))}"
            )
        summary = summary[summary["architecture"].isin(args.architectures)]
    models = compare_runs.read_table(args.models, ("seed",), "a models.csv", "run the pilot first")
    pilot = sorted({int(s) for s in models["seed"]})
    if not pilot:
        raise DataError(f"{args.models}: no models; run the pilot with `dvc repro` first")
    if args.first is not None and args.first <= pilot[-1]:
        raise DataError(
            f"--first {args.first}: not above the pilot's seeds ({', '.join(map(str, pilot))}); "
            f"fresh seeds are new ones, e.g. --first {pilot[-1] + 1}"
        )
    table = needs(summary, cfg.analysis)
    fresh, short = confirmation(table, pilot, args.cap, args.first)
    seeds = [*pilot, *fresh]
    command = [
        "dvc", "exp", "run", "--temp", "-n", "confirm",
        "-S", f"models.seeds=[{','.join(map(str, seeds))}]",
        "-S", f"analysis.confirm_seeds=[{','.join(map(str, fresh))}]",
    ]  # fmt: skip
    if args.architectures:
        command += ["-S", f"models.architectures=[{','.join(args.architectures)}]"]
    a = cfg.analysis
    text = (
        f"Pilot: seeds {', '.join(map(str, pilot))}. Seeds per configuration for "
        f"{a.power:.0%} power at family-wise alpha {a.alpha:g} (Bonferroni over each "
        f"architecture's comparisons), from the one-sided 80 % upper bound of the pilot's "
        f"seed SD; 'more than {plan.LIMIT}': out of reach of seeds (the test images' share of "
        f"the variance alone leaves too little power). Confirmation: {len(fresh)} fresh seeds "
        f"({', '.join(map(str, fresh))})"
        + (f"; the cap of {args.cap} leaves undecided: {', '.join(short)}" if short else "")
        + "."
        + _grid_cost(cfg, args.architectures, fresh)
        + f"\n\n    {shlex.join(command)}"
    )
    shown = table.drop(columns="_decide") if len(table) else table
    section = [("Plan: the seeds a confirmation needs", text, shown)]
    if args.out is None:
        sys.stdout.write(files.markdown_sections(section))
    else:
        files.write_markdown(args.out, section)
        print(f"wrote {args.out}", file=sys.stderr)
    print(shlex.join(command), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cap",
        type=at_least(2, "the most seeds to ask for, an integer"),
        default=10,
        help="the most seeds per configuration",
    )
    parser.add_argument(
        "--first",
        type=at_least(0, "a seed, an integer"),
        help="the first fresh seed (default: the next above the pilot's); past the seeds an "
        "earlier confirmation used, which are not fresh any more",
    )
    parser.add_argument("--summary", type=Path, default=paths.SUMMARY_CSV, help="the pilot's")
    parser.add_argument("--models", type=Path, default=paths.MODELS_CSV, help="the pilot's")
    parser.add_argument("--params", type=Path, default=paths.PARAMS, help="analysis.* from it")
    parser.add_argument(
        "--architectures", nargs="+", help="plan these architectures' comparisons only"
    )
    parser.add_argument("--out", type=Path, help="write the plan here (default: stdout)")
    args = parser.parse_args(argv)
    return exit_code(lambda: _run(args))


if __name__ == "__main__":
    raise SystemExit(main())
