"""The result tables in docs/ are the pipeline's, copied, never typed; the docs' links resolve."""

import subprocess
from pathlib import Path

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


def test_the_readme_stays_short():
    """What it does, the two commands, the headline, links: the rest lives in docs/."""
    assert (ROOT / "README.md").stat().st_size <= 15 * 1024


DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_of_the_docs_resolves(document):
    """A link into the repository names a file that exists, and a #fragment one of its
    headings (GitHub's anchors: lower case, spaces to '-', punctuation dropped)."""
    import re

    def anchors(path: Path) -> set[str]:
        headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)
        return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}

    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, fragment = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        if not path.exists() or (
            fragment and path.suffix == ".md" and fragment not in anchors(path)
        ):
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)}: broken links {broken}"
