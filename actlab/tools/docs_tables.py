"""Result tables in docs/ are generated, never typed: ``make results`` copies
each table the pipeline wrote (``metrics/results/*.md``, or a saved copy of an experiment's)
into the documents, between markers that name it::

    <!-- table: metrics/results/base.md -->
    | activation | ... |
    <!-- /table -->

``python -m actlab.tools.docs_tables --check`` only says which tables differ from their files (a
test runs the same check on the committed documents).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from actlab import files
from actlab.errors import exit_code

DOCUMENTS = (Path("docs/results.md"),)
BLOCK = re.compile(r"(<!-- table: (?P<source>\S+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


def blocks(text: str) -> list[tuple[str, str]]:
    """Each marked table of ``text``: (the file it comes from, the table as it stands)."""
    return [(m["source"], m["body"]) for m in BLOCK.finditer(text)]


def splice(text: str, read: Callable[[str], str]) -> str:
    """``text`` with every marked table replaced by ``read(its file)``."""

    return BLOCK.sub(lambda m: m.group(1) + _body(read(m["source"])) + m.group(4), text)


def stale(text: str, read: Callable[[str], str]) -> list[str]:
    """The files whose marked table in ``text`` differs from them."""
    return [source for source, body in blocks(text) if _body(read(source)) != body]


def _body(table: str) -> str:
    return table if table.endswith("\n") else table + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("documents", nargs="*", type=Path, default=list(DOCUMENTS))
    parser.add_argument("--check", action="store_true", help="only list the stale tables")
    args = parser.parse_args(argv)

    def read(source: str) -> str:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"{source}: no such table; run `dvc repro plot` (or restore the file)"
            )
        return path.read_text()

    def run() -> int:
        status = 0
        for doc in args.documents:
            text = doc.read_text()
            if args.check:
                for source in stale(text, read):
                    print(f"{doc}: the table from {source} is stale", file=sys.stderr)
                    status = 1
            else:
                new = splice(text, read)
                if new != text:
                    files.write_text(doc, new)
                    print(f"{doc}: tables updated", file=sys.stderr)
        return status

    return exit_code(run, catch=(FileNotFoundError,))


if __name__ == "__main__":
    raise SystemExit(main())
