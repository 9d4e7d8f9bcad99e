"""The one place that writes and reads the pipeline's files: JSON, TSV, tensors, figures, tables.

Every write goes to a temporary file beside its target and is renamed into place, so a crash
never leaves a half-written output for DVC or a later stage to pick up. Parent directories are
created on the way. Formats only: what a file means is its owner's (``actlab.records`` reads a
model's files, ``actlab.paths`` says where each is).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from actlab.errors import DataError


@contextmanager
def _atomic(path: Path, mode: str = "w") -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)  # mkstemp's 0600 would stick to the output
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Any, *, indent: int | None = 2) -> None:
    with _atomic(path) as f:
        f.write(json.dumps(payload, indent=indent, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `dvc repro` to make it") from None


def write_tsv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """One header line and one line per row; floats with 6 significant digits."""
    with _atomic(path) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows
        )


def read_tsv(path: Path):  # -> pandas.DataFrame; pandas is imported only by who reads tables
    import pandas as pd

    try:
        return pd.read_csv(path, sep="\t")
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `dvc repro` to make it") from None


def save_torch(path: Path, obj: Any) -> None:
    import torch

    with _atomic(path, "wb") as f:
        torch.save(obj, f)


def load_torch(path: Path) -> Any:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `dvc repro` to make it") from None


def save_figure(path: Path, figure, dpi: int) -> None:
    """A matplotlib figure in the format its file name ends with."""
    with _atomic(path, "wb") as f:
        figure.savefig(f, format=Path(path).suffix.lstrip("."), dpi=dpi)


def write_csv(path: Path, table) -> None:
    """A pandas DataFrame as CSV."""
    with _atomic(path) as f:
        table.to_csv(f, index=False)


def markdown_sections(sections: Sequence[tuple[str, str, Any]]) -> str:
    """Markdown sections ``(title, text, table)``: a heading, a paragraph and a pandas
    DataFrame as a table (missing values left blank)."""
    return "\n".join(
        f"## {title}\n\n{text}\n\n{markdown_table(table)}\n" for title, text, table in sections
    )


def write_markdown(path: Path, sections: Sequence[tuple[str, str, Any]]) -> None:
    write_text(path, markdown_sections(sections))


def markdown_table(table) -> str:
    """A pandas DataFrame as a Markdown table, missing values left blank."""
    return table.astype(object).where(table.notna(), "").to_markdown(index=False)


def write_text(path: Path, text: str) -> None:
    with _atomic(path) as f:
        f.write(text)


def write_table(path: Path, table, caption: str | None = None) -> None:
    """One Markdown table alone in a file (below its ``caption`` line, if any): a fragment
    ``actlab.tools.docs_tables`` copies into docs/."""
    write_text(path, ("" if caption is None else caption + "\n\n") + markdown_table(table) + "\n")
