"""Does the answer transfer across datasets? Each activation's verdict against the baseline on
each dataset side by side, and the agreement of the datasets' rankings (Kendall's tau with a
bootstrap interval over seeds), from each run's ``metrics/models.csv``.

    python -m actlab.tools.transfer \\
        --run FashionMNIST=docs/runs/fixed-budget/models.csv:base \\
        --run MNIST-1D=docs/runs/mnist1d/models.csv:mnist1d_mlp:45-50 \\
        --out docs/runs/transfer.md --figure docs/runs/transfer.png

Each dataset is its own run of the pipeline (a DVC experiment or preset, e.g. ``make preset
PRESET=mnist1d``): datasets are not a dimension of the matrix, since a dataset changes what
``prepare`` makes and so every model, and each needs its own architectures and training recipe.
The comparisons count the seeds' variance only (on each dataset's own test set); the table
says so. Prints Markdown; ``--out`` writes it, ``--figure`` draws the small multiples.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from actlab import files
from actlab.analysis import compare, stats, tables, transfer
from actlab.config import PlotConfig
from actlab.errors import DataError, exit_code
from actlab.figures import transfer as figures
from actlab.tools.compare_runs import read_models


@dataclass(frozen=True)
class Run:
    label: str
    path: Path
    architecture: str
    seeds: tuple[int, ...] | None = None  # None: every seed of the file


def parse_run(text: str) -> Run:
    """``LABEL=PATH:ARCHITECTURE[:SEEDS]``, SEEDS a range ``45-54`` or a list ``45,46``."""
    label, sep, rest = text.partition("=")
    parts = rest.split(":")
    fix = "expected LABEL=PATH:ARCHITECTURE[:SEEDS], e.g. MNIST-1D=models.csv:mnist1d_mlp:45-50"
    if not sep or not label or len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: {fix}")
    seeds = None
    if len(parts) == 3:
        try:
            if "-" in parts[2]:
                first, last = (int(x) for x in parts[2].split("-"))
                seeds = tuple(range(first, last + 1))
            else:
                seeds = tuple(int(x) for x in parts[2].split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: seeds {parts[2]!r}; {fix}") from None
    return Run(label, Path(parts[0]), parts[1], seeds)


def scores(run: Run) -> transfer.Scores:
    """activation -> seed -> test accuracy (%) of the run's models of its architecture."""
    models = read_models(run.path)
    rows = models[models["architecture"] == run.architecture]
    if run.seeds is not None:
        rows = rows[rows["seed"].isin(run.seeds)]
    if rows.empty:
        found = ", ".join(sorted(models["architecture"].unique()))
        raise DataError(
            f"{run.path}: no models of architecture {run.architecture!r}"
            + (f" and seeds {list(run.seeds)}" if run.seeds else "")
            + f" (it has {found})"
        )
    out: dict[str, dict[int, float]] = {}
    for row in rows.itertuples():
        out.setdefault(row.activation, {})[int(row.seed)] = float(row.test_acc)
    return out


def table(comparisons: dict[str, dict[str, compare.Comparison]], order: list[str]) -> pd.DataFrame:
    rows = []
    for activation in order:
        row = {"activation": activation}
        words = []
        for name, by_activation in comparisons.items():
            c = by_activation.get(activation)
            if c is None:
                row[f"{name}: difference"], row[f"{name}: verdict"] = "", "not run"
                words.append("untested")
                continue
            r = tables.comparison_columns(c)
            row[f"{name}: difference"] = tables.difference_text(r)
            row[f"{name}: verdict"] = c.verdict
            words.append(transfer.direction(c))
        row["across datasets"] = transfer.transfers(words)
        rows.append(row)
    return pd.DataFrame(rows)


def order_of(comparisons: dict[str, dict[str, compare.Comparison]], baseline: str) -> list[str]:
    """The baseline, then the first dataset's activations by their difference, best first
    (the untested last), then those only later datasets ran."""
    first = next(iter(comparisons.values()))

    def key(a: str) -> float:
        d = first[a].mean_difference
        return -d if d is not None else float("inf")

    rows = [baseline, *sorted((a for a in first if a != baseline), key=key)]
    for by_activation in comparisons.values():
        rows += [a for a in by_activation if a not in rows]
    return rows


def agreements(runs: list[Run], data: dict[str, transfer.Scores], seed: int):
    """Kendall's tau of every pair of runs, with the sentence the table prints for each."""
    out = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            g = transfer.agreement(data[a.label], data[b.label], seed=seed)
            text = (
                f"Kendall's tau of the rankings by mean test accuracy, {a.label} vs {b.label} "
                f"({len(g.activations)} activations): {g.tau:+.2f}, 95 % bootstrap interval over "
                f"seeds [{g.low:+.2f}, {g.high:+.2f}] ({g.resamples} resamples)."
            )
            out.append((a.label, b.label, g, text))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run", type=parse_run, action="append", required=True, help="LABEL=PATH:ARCHITECTURE"
    )
    parser.add_argument("--baseline", default="relu")
    parser.add_argument("--margin", type=float, default=0.5, help="equivalence margin (points)")
    parser.add_argument("--alpha", type=float, default=compare.ALPHA)
    parser.add_argument("--classes", type=int, default=10, help="chance is 100 / classes (%%)")
    parser.add_argument("--seed", type=int, default=0, help="the bootstrap's random seed")
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    parser.add_argument("--figure", type=Path, help="draw the small multiples here (.png)")
    args = parser.parse_args(argv)
    if len(args.run) < 2:
        parser.error("name at least two runs (--run twice)")

    def run() -> None:
        data = {r.label: scores(r) for r in args.run}
        chance = {r.label: stats.chance(args.classes) for r in args.run}
        comparisons = transfer.comparisons(
            data, args.baseline, margin=args.margin, chance=chance, alpha=args.alpha
        )
        order = order_of(comparisons, args.baseline)
        text = table(comparisons, order).to_markdown(index=False, disable_numparse=True)
        pairs = agreements(args.run, data, args.seed)
        rule = (
            f"Each activation against {args.baseline}, paired by seed, on each dataset's own "
            "test set (seed variance only), family-adjusted 95 % intervals as in the "
            f"pipeline's tables, equivalence margin ±{args.margin:g} points."
        )
        text = (
            "\n\n".join(
                [
                    rule,
                    table(comparisons, order).to_markdown(index=False, disable_numparse=True),
                    *(p[3] for p in pairs),
                ]
            )
            + "\n"
        )
        if args.out is None:
            print(text, end="")
        else:
            files.write_text(args.out, text)
        if args.figure is not None:
            base = {
                name: sum(d[args.baseline].values()) / len(d[args.baseline])
                for name, d in data.items()
            }
            first, second, g, _ = pairs[0]
            title = (
                f"Each activation against {args.baseline} on each dataset's own test set "
                f"(shaded: equivalence margin ±{args.margin:g} points)\nAgreement of the "
                f"rankings, {first} vs {second}: Kendall's tau {g.tau:+.2f}, 95 % bootstrap "
                f"interval [{g.low:+.2f}, {g.high:+.2f}]"
            )
            pc = PlotConfig(dpi=110, width=12.0, format="png")
            fig = figures.agreement_figure(pc, comparisons, order, base, args.margin, title)
            files.save_figure(args.figure, fig, pc.dpi)

    return exit_code(run, catch=(ValueError, DataError))


if __name__ == "__main__":
    raise SystemExit(main())
