"""The preview (and the Quarto HTML when it exists) opened in headless Chromium.

Checks what a reader would hit: console or page errors, images that do not decode
(``naturalWidth == 0``), in-page links whose target id does not exist, and markup from
the data being executed. A screenshot of each page is saved next to it under the build
folder. Skips without Chromium, fails under ``CI=true`` (see ``require_chromium``)."""

from __future__ import annotations

import pytest

from casereport.report import preview
from tests.test_report_support import (
    SCRIPT_LOCATION,
    demo_article,
    demo_build,
    inspect_page,
    require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _assert_clean(info: dict) -> None:
    assert info["errors"] == []
    assert info["broken_images"] == []
    assert info["missing_targets"] == []
    assert info["pwned"] is None


def test_demo_preview_in_browser(tmp_path_factory):
    """The demo preview: 1 image (the demo's figure; the case appendix is a table)
    all decode; every #link resolves; no errors; screenshot under the build folder."""
    require_chromium()
    build, _ = demo_build(tmp_path_factory.getbasetemp())
    art = demo_article(tmp_path_factory.mktemp("browser"))
    out = preview.render_preview(
        build, build / "report-preview.html", article=art, variables={"demo": {"engaged_mean": "4"}}
    )
    shot = build / "report-preview.png"
    info = inspect_page(out, shot)
    _assert_clean(info)
    assert info["n_images"] == 1
    assert preview.BANNER in info["text"]
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_script_in_location_shows_as_text(tmp_path_factory):
    """A site whose location is <script>window.__pwned=1</script> (the brief's example):
    the text is visible on the page and the script never runs (window.__pwned undefined)."""
    require_chromium()
    sites = [
        {"site": "1", "location": SCRIPT_LOCATION, "engaged": 61, "fidelity": 10.4},
        {"site": "2", "location": "Urban", "engaged": 39, "fidelity": 11.0},
    ]
    build, _ = demo_build(tmp_path_factory.getbasetemp(), sites)
    art = demo_article(tmp_path_factory.mktemp("browser-xss"))
    out = preview.render_preview(build, build / "report-preview.html", article=art, variables={})
    info = inspect_page(out, build / "report-preview-xss.png")
    _assert_clean(info)
    assert SCRIPT_LOCATION in info["text"]


def test_real_preview_in_browser(built_project):
    """The real report: build/report-preview.html of a full `casereport build` of this
    project (a private copy, built once per test session)."""
    build = built_project / "build"
    page = build / "report-preview.html"
    require_chromium()
    info = inspect_page(page, build / "report-preview.png")
    _assert_clean(info)
    assert info["n_images"] > 0
    assert "?var:" not in info["text"] and "Missing embed" not in info["text"]
