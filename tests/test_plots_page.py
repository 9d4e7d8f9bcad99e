"""The page `dvc plots show` renders into: Vega, Vega-Lite and Vega-Embed inline, no CDN."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from dvc_render.html import render_html
from dvc_render.vega import VegaRenderer

from actlab.tools import vega_page

ROOT = Path(__file__).resolve().parents[1]
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=", re.IGNORECASE)


def rendered(tmp_path: Path) -> str:
    """DVC's renderer, as `dvc plots show` calls it, on one small line chart."""
    points = [{"epoch": e, "val_acc": 0.5 + e / 10, "model": "relu-tiny-42"} for e in range(4)]
    chart = VegaRenderer(points, "val_acc", x="epoch", y="val_acc", template="linear")
    out = tmp_path / "index.html"
    render_html([chart], out, html_template=str(ROOT / vega_page.PAGE))
    return out.read_text(encoding="utf-8")


def test_dvc_config_names_the_page():
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc/config")
    assert (ROOT / ".dvc" / config["plots"]["html_template"]) == ROOT / vega_page.PAGE


def test_the_committed_page_is_the_pinned_packages():
    """The page regenerated from the pinned package is byte for byte the committed one."""
    committed = (ROOT / vega_page.PAGE).read_text(encoding="utf-8")
    assert vega_page.generate() == committed, "run python -m actlab.tools.vega_page"


def test_the_pin_is_pyprojects():
    pin = f'"{vega_page.PACKAGE}=={vega_page.PACKAGE_VERSION}"'
    assert pin in (ROOT / "pyproject.toml").read_text()


def test_the_rendered_page_loads_no_script_and_embeds_the_chart(tmp_path):
    html = rendered(tmp_path)
    assert not REMOTE_SCRIPT.search(html)
    assert "cdn.jsdelivr.net" not in html  # DVC's own script tags went nowhere
    assert "window.vegaEmbed=" in html and "vegaEmbed('#" in html


def test_dvc_default_page_would_load_the_cdn(tmp_path):
    """What the page replaces: without it, DVC's page loads all three libraries remotely (if
    DVC stops doing so, the page may no longer be needed)."""
    points = [{"epoch": 0, "val_acc": 0.5}]
    out = tmp_path / "default.html"
    render_html([VegaRenderer(points, "v", x="epoch", y="val_acc")], out)
    assert len(REMOTE_SCRIPT.findall(out.read_text())) == 3


def test_page_escapes_a_closing_script_tag_and_refuses_a_placeholder():
    versions = dict.fromkeys(("vega", "vega_lite", "embed", "package", "version"), "x")
    text = vega_page.page('var s = "</script>";', versions)
    assert '"<\\/script>"' in text and text.count("</script>") == 1
    with pytest.raises(ValueError, match="plot_divs"):
        vega_page.page("var s = '{plot_divs}';", versions)


@pytest.mark.chromium
def test_the_chart_renders_offline_in_a_browser(tmp_path):
    """Headless Chromium (no network needed: nothing is fetched) draws the chart's SVG."""
    from tests.helpers import browser

    rendered(tmp_path)
    dom = browser.dump_dom((tmp_path / "index.html").as_uri())
    assert dom.count('role="graphics-document"') == 1, dom[-2000:]
