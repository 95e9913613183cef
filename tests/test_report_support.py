"""Shared helpers for the report and browser tests (this module holds no tests).

- :func:`demo_build`: the small real build of :mod:`tests.demo` (notebooks
  executed by papermill), made once per test session and per site table.
- :func:`chromium_path` / :func:`inspect_page`: headless Chromium through Playwright, using
  Debian's ``chromium`` (``scripts/ensure-chromium.sh``); never ``playwright install``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from casereport.primitives import paths
from casereport.report import fragments
from tests import demo

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPT_LOCATION = "<script>window.__pwned=1</script>"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def demo_build(base: Path, sites: list[dict] | None = None) -> tuple[Path, dict]:
    """Execute the demo notebooks once into ``base/<hash of sites>/build``; reuse after."""
    tag = hashlib.sha256(json.dumps(sites, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(base) / f"demo-{tag}"
    build = root / "build"
    manifest_file = root / "manifest.json"
    if not manifest_file.is_file():
        shutil.rmtree(root, ignore_errors=True)
        manifest = demo.make_demo_build(build, sites)
        fragments.write_fragments(build, None, None, manifest)
        manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    return build, json.loads(manifest_file.read_text(encoding="utf-8"))


def demo_article(root: Path, text: str = demo.DEMO_ARTICLE) -> Path:
    """The demo article (and the project's references.bib) in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    art = root / "index.qmd"
    art.write_text(text, encoding="utf-8")
    shutil.copyfile(paths.ROOT / "references.bib", root / "references.bib")
    return art


def chromium_path() -> str | None:
    for cand in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(cand)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Chromium's path; skip if absent, but fail under CI=true (CI must run these)."""
    exe = chromium_path()
    if exe is None:
        msg = (
            "headless Chromium not found (install Debian's chromium: "
            "`make browser` or `sudo apt-get install chromium`)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + "; CI=true requires the browser tests to run")
        pytest.skip(msg)
    return exe


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over http on 127.0.0.1 (a free port) for the block; yields the
    base URL. Quarto's HTML loads ES modules, which browsers refuse from file://, and
    GitHub Pages serves it over http(s) too."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest's output readable
        pass


def inspect_page(page_or_url: Path | str, screenshot: Path) -> dict:
    """Open a page (an HTML file, or an http URL) in headless Chromium and report what a
    reader would hit.

    Returns ``errors`` (console errors and uncaught page errors), ``broken_images``
    (``<img>`` that did not decode: ``naturalWidth == 0``), ``n_images``, ``missing_targets``
    (``href="#id"`` with no element of that id), ``pwned`` (``window.__pwned``), ``text``
    (the page's visible text) and ``outside_requests`` (URLs of requests to any host but
    127.0.0.1/localhost, such as a CDN); saves a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    exe = require_chromium()
    errors: list[str] = []
    outside: list[str] = []
    url = page_or_url if isinstance(page_or_url, str) else Path(page_or_url).resolve().as_uri()

    def on_request(req) -> None:
        u = urlparse(req.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname not in LOCAL_HOSTS:
            outside.append(req.url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("request", on_request)
            page.goto(url, wait_until="load")
            # Quarto may mark images loading="lazy": load them all before judging them.
            page.evaluate(
                "document.querySelectorAll('img[loading=\"lazy\"]')"
                ".forEach(i => { i.loading = 'eager'; })"
            )
            page.wait_for_function(
                "Array.from(document.images).every(i => i.complete)", timeout=15000
            )
            info = page.evaluate(
                """() => {
                  const imgs = Array.from(document.images);
                  const broken = imgs.filter(i => !(i.naturalWidth > 0))
                                     .map(i => i.src.slice(0, 80));
                  const missing = Array.from(document.querySelectorAll('a[href^="#"]'))
                    .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
                    .filter(id => id.length > 0 && !document.getElementById(id));
                  return {n_images: imgs.length, broken_images: broken,
                          missing_targets: Array.from(new Set(missing)),
                          pwned: typeof window.__pwned === 'undefined' ? null : window.__pwned,
                          text: document.body.innerText};
                }"""
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    info["errors"] = errors
    info["outside_requests"] = outside
    return info


def page_fit(url: str, width: int) -> dict:
    """Open ``url`` in headless Chromium ``width`` px wide and report what runs off the
    page: ``page_width`` (the document's scroll width: more than ``width`` means the whole
    page scrolls sideways), ``wide_tables`` (ids near each table wider than its container),
    ``wide_images`` (images whose right edge passes the window) and ``cut_bar_titles`` (a
    notebook view's top-bar title taller than its one-line bar, so partly hidden)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(url, wait_until="load")
            return page.evaluate(
                """() => ({
                  page_width: document.documentElement.scrollWidth,
                  wide_tables: [...document.querySelectorAll('main table')]
                    .filter(t => t.getBoundingClientRect().width
                                 > t.parentElement.getBoundingClientRect().width + 2)
                    .map(t => (t.closest('[id]') || {}).id || '?'),
                  wide_images: [...document.querySelectorAll('main img')]
                    .filter(i => i.getBoundingClientRect().right > window.innerWidth + 2)
                    .map(i => i.src.split('/').pop()),
                  cut_bar_titles: [...document.querySelectorAll('#quarto-embed-header h6')]
                    .filter(h => h.getBoundingClientRect().height
                                 > h.parentElement.getBoundingClientRect().height)
                    .map(h => h.textContent.trim()),
                })"""
            )
        finally:
            browser.close()
