"""`dvc exp show` in a terminal's width: the params that differ first, then the mean test
accuracy of each configuration, best first.

    python -m actlab.tools.exp_show [--width 100] [--keep 'relu|tanh'] [-- DVC_ARGS]
    make exp-show [KEEP='relu|tanh'] [WIDTH=160] [ARGS='-A']

``dvc exp show`` lists every param, every metric and the hash of every dependency: far wider
than a terminal, so the columns that matter end in "…". This reads ``dvc exp show --json`` (with
``DVC_ARGS``, e.g. ``-A`` or ``-n 5``) and prints one row per revision and experiment: its name,
the params whose values differ between the rows shown, then ``metrics/aggregates.json``'s mean
test accuracy per configuration, ordered by their mean over the rows (best first), as many as
the width holds; a last line names the configurations left out and how to see them. A
revision DVC has no results for (failed, queued) is named so. When `dvc exp show` fails, its
last line goes to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from actlab import paths
from actlab.config_reader import flatten
from actlab.errors import DataError, exit_code
from actlab.tools.args import at_least

METRICS = str(paths.AGGREGATES)  # dvc exp show names a metrics file by its path
HEADLINE = "test_acc"  # per configuration: the mean test accuracy over its seeds (%)
MAX_CELL = 28  # a longer param value (a list) is cut to this with "…"
GAP = "  "


def _row(name: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    data = entry.get("data") or {}
    params = flatten(((data.get("params") or {}).get("params.yaml") or {}).get("data") or {})
    if not params:  # a failed, queued or broken revision: say so, compare no param with it
        error = entry.get("error") or {}
        why = error.get("msg") if isinstance(error, Mapping) else str(error)
        name = f"{name} (no results{': ' + why if why else ''})"
    metrics = ((data.get("metrics") or {}).get(METRICS) or {}).get("data") or {}
    accuracy = {
        config: values.get(HEADLINE)
        for config, values in metrics.items()
        if isinstance(values, Mapping) and isinstance(values.get(HEADLINE), (int, float))
    }
    return {"name": name, "params": params, "accuracy": accuracy}


def rows(shown: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per revision of ``dvc exp show --json`` and per experiment under it."""
    for commit in shown:
        rev = str(commit.get("rev", ""))
        name = commit.get("name") or (rev if rev == "workspace" else rev[:7])
        yield _row(name, commit)
        for experiment in commit.get("experiments") or []:
            revs = experiment.get("revs") or []
            if revs:
                head = revs[0]
                label = experiment.get("name") or head.get("name") or str(head.get("rev", ""))[:7]
                yield _row(f"  {label}", head)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    text = json.dumps(value, separators=(",", ":")) if isinstance(value, list) else str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def changed_params(table: Sequence[Mapping[str, Any]]) -> list[str]:
    """The params whose full values differ between the rows that have params, in
    params.yaml's order."""
    rows = [r for r in table if r["params"]]
    keys = list(dict.fromkeys(k for r in rows for k in r["params"]))

    def full(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    return [k for k in keys if len({full(r["params"].get(k)) for r in rows}) > 1]


def configurations(table: Sequence[Mapping[str, Any]], keep: str | None) -> list[str]:
    """The configurations with a test accuracy, best mean over the rows first."""
    names = list(dict.fromkeys(c for r in table for c in r["accuracy"]))
    if keep:
        names = [c for c in names if re.search(keep, c)]

    def mean(config: str) -> float:
        values = [r["accuracy"][config] for r in table if config in r["accuracy"]]
        return sum(values) / len(values)

    return sorted(names, key=lambda c: (-mean(c), c))


def render(table: Sequence[Mapping[str, Any]], width: int, keep: str | None = None) -> str:
    """The rows as text no wider than ``width``: name, changed params, then as many
    configurations' test accuracy as fit."""
    params = changed_params(table)
    columns: list[tuple[str, list[str]]] = [("Experiment", [r["name"] for r in table])]
    columns += [(k, [_text(r["params"].get(k)) for r in table]) for k in params]
    wanted = configurations(table, keep)

    def cells(cols: Sequence[tuple[str, list[str]]]) -> int:
        return sum(max(len(h), *map(len, v)) for h, v in cols) + len(GAP) * (len(cols) - 1)

    shown, left_out = [], []
    for config in wanted:
        values = [
            "-" if config not in r["accuracy"] else f"{r['accuracy'][config]:.2f}" for r in table
        ]
        if not left_out and cells([*columns, *shown, (config, values)]) <= width:
            shown.append((config, values))
        else:
            left_out.append(config)
    columns += shown
    widths = [max(len(h), *map(len, v)) for h, v in columns]

    def line(cells_: Sequence[str]) -> str:
        return GAP.join(
            c.ljust(w) if i <= len(params) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells_, widths, strict=True))
        ).rstrip()

    out = [line([h for h, _ in columns]), line(["-" * w for w in widths])]
    out += [line([v[i] for _, v in columns]) for i in range(len(table))]
    notes = [f"test accuracy % per configuration (mean over its seeds, {METRICS}), best first"]
    if not params:
        notes.append("no param differs between the rows shown")
    if left_out:
        notes.append(
            f"{len(left_out)} more: {', '.join(left_out)} "
            "(KEEP='relu|tanh' picks configurations, WIDTH=200 widens)"
        )
    wrapped = [
        textwrap.fill(n, width, subsequent_indent="  ", break_on_hyphens=False) for n in notes
    ]
    return "\n".join([*out, "", *wrapped]) + "\n"


def show(dvc_args: Sequence[str]) -> list[dict[str, Any]]:
    """``dvc exp show --json`` of the repository here, parsed."""
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "show", "--json", *dvc_args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DataError(f"dvc exp show failed: {message}")
    return list(rows(json.loads(done.stdout or "[]")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--width",
        type=at_least(40, "a terminal width in columns"),
        default=None,
        help="columns (default: the terminal's, 100 when it has none)",
    )
    parser.add_argument("--keep", help="only configurations matching this regex, e.g. 'relu|tanh'")
    parser.add_argument("dvc_args", nargs="*", help="after --: passed to dvc exp show")
    args = parser.parse_args(argv)
    if args.keep:
        try:
            re.compile(args.keep)
        except re.error as err:
            parser.error(f"--keep {args.keep!r}: not a regular expression ({err})")
    width = args.width or shutil.get_terminal_size((100, 24)).columns

    def body() -> None:
        table = show(args.dvc_args)
        if not table:
            raise DataError("dvc exp show listed nothing: run `dvc repro` first")
        sys.stdout.write(render(table, width, args.keep))

    return exit_code(body)


if __name__ == "__main__":
    raise SystemExit(main())
