"""The one place that writes and reads the pipeline's files: JSON, TSV, tensors, figures, tables.

Every write goes to a temporary file beside its target and is renamed into place, so a crash
never leaves a half-written output for DVC or a later stage to pick up. Parent directories are
created on the way.
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

from actlab import paths
from actlab.errors import DataError
from actlab.records import ModelMetrics, ModelRecord


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


def write_record(path: Path, record: ModelRecord) -> None:
    write_json(path, record.to_dict())


def read_record(path: Path) -> ModelRecord:
    return ModelRecord.from_dict(read_json(path))


def save_figure(path: Path, figure, dpi: int) -> None:
    """A matplotlib figure in the format its file name ends with."""
    with _atomic(path, "wb") as f:
        figure.savefig(f, format=Path(path).suffix.lstrip("."), dpi=dpi)


def write_csv(path: Path, table) -> None:
    """A pandas DataFrame as CSV."""
    with _atomic(path) as f:
        table.to_csv(f, index=False)


def write_markdown(path: Path, sections: Sequence[tuple[str, str, Any]]) -> None:
    """Markdown sections ``(title, text, table)``: a heading, a paragraph and a pandas
    DataFrame as a table (missing values left blank)."""
    parts = []
    for title, text, table in sections:
        parts.append(f"## {title}\n\n{text}\n\n{markdown_table(table)}\n")
    with _atomic(path) as f:
        f.write("\n".join(parts))


def markdown_table(table) -> str:
    """A pandas DataFrame as a Markdown table, missing values left blank."""
    return table.astype(object).where(table.notna(), "").to_markdown(index=False)


def write_text(path: Path, text: str) -> None:
    with _atomic(path) as f:
        f.write(text)


def write_table(path: Path, table) -> None:
    """One Markdown table alone in a file: a fragment ``actlab.docs_tables`` copies into
    the README and docs/."""
    write_text(path, markdown_table(table) + "\n")


def read_model_metrics(name: str) -> ModelMetrics:
    """Everything the earlier stages wrote about model ``name``."""
    return ModelMetrics(
        record=read_record(paths.model_record(name)),
        train=read_json(paths.train(name)),
        history=read_tsv(paths.curves(name)),
        evaluate=read_json(paths.evaluate(name)),
        dead=read_json(paths.dead_neurons(name)),
        dynamics=read_tsv(paths.dead_dynamics(name)),
        distributions=read_json(paths.distributions(name)),
        weights=load_torch(paths.weight_histograms(name)),
    )


def is_trained(name: str, run_key: str) -> bool:
    """Model ``name`` has a finished result of exactly this run key: its record holds the key
    and every file train writes for it is there. Only the key is read: a record written by
    other code (another layout of the spec) is simply not this result."""
    record = paths.model_record(name)
    if not record.exists() or read_json(record).get("run_key") != run_key:
        return False
    return all(path.exists() for path in paths.trained_outputs(name))
