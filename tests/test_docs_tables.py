"""The result tables in README.md and docs/ are the pipeline's, copied, never typed."""

import subprocess

import pytest

from actlab.tools import docs_tables
from tests.helpers.params import ROOT

DOC = """# Results
<!-- table: metrics/results/base.md -->
| a | b |
|---|---|
| 1 | 2 |
<!-- /table -->
text between
<!-- table: metrics/results/deep.md -->
<!-- /table -->
"""
TABLES = {
    "metrics/results/base.md": "| a | b |\n|---|---|\n| 1 | 3 |\n",
    "metrics/results/deep.md": "x",
}


def test_splice_replaces_each_marked_table_with_its_file_and_nothing_else():
    out = docs_tables.splice(DOC, TABLES.__getitem__)
    assert "| 1 | 3 |" in out and "| 1 | 2 |" not in out
    assert "<!-- table: metrics/results/deep.md -->\nx\n<!-- /table -->" in out
    assert out.replace("| 1 | 3 |", "| 1 | 2 |").replace("\nx\n", "\n") == DOC
    assert docs_tables.stale(DOC, TABLES.__getitem__) == list(TABLES)
    assert docs_tables.stale(out, TABLES.__getitem__) == []
    assert docs_tables.splice(out, TABLES.__getitem__) == out  # idempotent


def test_the_tool_updates_checks_and_names_a_missing_table(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics/results").mkdir(parents=True)
    for source, table in TABLES.items():
        (tmp_path / source).write_text(table)
    (tmp_path / "README.md").write_text(DOC)
    assert docs_tables.main(["--check", "README.md"]) == 1
    assert "the table from metrics/results/base.md is stale" in capsys.readouterr().err
    assert docs_tables.main(["README.md"]) == 0
    assert docs_tables.main(["--check", "README.md"]) == 0
    (tmp_path / "metrics/results/deep.md").unlink()
    assert docs_tables.main(["README.md"]) == 2
    assert "metrics/results/deep.md: no such table; run `dvc repro plot`" in capsys.readouterr().err


def _committed(path: str) -> str:
    return subprocess.run(
        ["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("document", [str(d) for d in docs_tables.DOCUMENTS])
def test_the_committed_documents_show_the_committed_tables(document):
    text = _committed(document)
    assert docs_tables.blocks(text), f"{document} shows no generated table"
    assert docs_tables.stale(text, _committed) == [], "run `make results` and commit"
