"""The page `dvc plots show` writes its charts into, with Vega, Vega-Lite and Vega-Embed inside
it: the interactive charts render offline, with no script fetched from a CDN.

    python -m actlab.tools.vega_page           # writes .dvc/plots.html
    python -m actlab.tools.vega_page --check   # exit 1 when the committed page differs

DVC's own page loads the three libraries from cdn.jsdelivr.net; without a network its five
charts vanish without a message. ``.dvc/config`` names this page as ``plots.html_template``
(DVC fills its ``{plot_divs}`` and ``{refresh_tag}``; the page has no ``{scripts}``, so DVC's CDN
tags go nowhere). The libraries come from a pinned package of the package index,
``vl-convert-python`` (``javascript_bundle``: Vega, Vega-Lite and Vega-Embed with their
dependencies, one script that sets ``window.vegaEmbed``), at Vega-Lite 5, the schema of DVC's
templates. The page is committed, so a fresh clone renders offline with no install step; the
test suite regenerates it from the pinned package and fails when the two differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actlab import files

PACKAGE = "vl-convert-python"
PACKAGE_VERSION = "1.9.0.post1"  # pyproject.toml's dev extra pins the same
VEGA_LITE = "5.21"  # DVC's templates declare the Vega-Lite v5 schema
PAGE = Path(".dvc/plots.html")  # .dvc/config: plots.html_template = plots.html

HEAD = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- Vega {vega}, Vega-Lite {vega_lite}, Vega-Embed {embed} (BSD-3-Clause, University of
         Washington Interactive Data Lab), bundled by {package} {version}; written by
         python -m actlab.tools.vega_page: edit that, never this file -->
    <script>
"""
TAIL = """
    </script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def page(bundle: str, versions: dict[str, str]) -> str:
    """DVC's page layout with ``bundle`` inline in place of its CDN script tags."""
    if "</script" in bundle.lower():  # would end the inline script early
        bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    for placeholder in ("{plot_divs}", "{refresh_tag}", "{scripts}"):
        if placeholder in bundle:  # DVC would fill it inside the script
            raise ValueError(f"the bundle contains DVC's placeholder {placeholder}")
    return HEAD.format(**versions) + bundle + TAIL


def generate() -> str:
    """The page from the pinned package (an ImportError names the install)."""
    from importlib.metadata import version

    try:
        import vl_convert
    except ImportError:
        raise ImportError(
            f"{PACKAGE} is not installed: pip install '{PACKAGE}=={PACKAGE_VERSION}' "
            "(or pip install -e '.[dev]')"
        ) from None
    installed = version(PACKAGE)
    if installed != PACKAGE_VERSION:
        raise ImportError(
            f"{PACKAGE} {installed} is installed, the page is made with {PACKAGE_VERSION}: "
            f"pip install '{PACKAGE}=={PACKAGE_VERSION}'"
        )
    versions = {
        "vega": vl_convert.get_vega_version(),
        "vega_lite": VEGA_LITE,
        "embed": vl_convert.get_vega_embed_version(),
        "package": PACKAGE,
        "version": PACKAGE_VERSION,
    }
    return page(vl_convert.javascript_bundle(vl_version=VEGA_LITE), versions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--out", type=Path, default=PAGE, help=f"default {PAGE}")
    args = parser.parse_args(argv)
    try:
        text = generate()
    except ImportError as err:
        print(err, file=sys.stderr)
        return 2
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        fix = "differs: run python -m actlab.tools.vega_page"
        print(f"{args.out}: {'up to date' if same else fix}")
        return 0 if same else 1
    files.write_text(args.out, text)
    print(f"wrote {args.out} ({len(text) // 1024} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
