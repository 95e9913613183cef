"""`casereport preview`: the served page follows the data, and a bad edit leaves it showing.

The browser tests start the real command on a copy of the project (``--port 0
--no-browser``), open the page in headless Chromium and edit ``data/enrich/`` as an analyst
would. Without Quarto the edit is site 4's engaged count in ``enrich_sites.csv``: site 4 has
17 participants with engagement data; its engaged count 8 gives 8 / 17 = 47.1 % and 9
gives 9 / 17 = 52.9 % (by hand, one decimal as the article shows it); the caption of the
ENRICH scatter plot says "site 4 is at …%", and the ENRICH runs execute again. With Quarto
the edit is a number the paper publishes (``published_claims.yaml``: the number of sites,
7, made 8), which no notebook reads: the audit's count of published numbers that
reproduce goes from 87 to 86 and its discrepancies from 5 to 6 (one claim fewer
reproduces), so the article and the supplement render again and every notebook view is
the last manuscript's (a data edit's view renders are checked in test_claims_perturbed.py).
Every wait is bounded and polls; none is a fixed sleep. The unit tests check the server and
the watcher alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from casereport.pipeline import live, serve, watch
from casereport.primitives import paths
from casereport.report import views
from tests.project import copy_built, make_project
from tests.test_quarto import require_quarto
from tests.test_report_support import CHROMIUM_ARGS, require_chromium

#: Seconds a build of the copy may take on a busy machine (the first one executes all runs).
BUILD_WAIT = 1200


def until(what: str, check: Callable[[], object], timeout: float, every: float = 0.5) -> object:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


# ------------------------------------------------------------------ the server and watcher


def test_served_page_carries_the_reload_script_and_the_status(tmp_path):
    """An HTML page gets the script (with the version it was served at) before </body>; the
    status endpoint returns the state as JSON; other files are served unchanged; "/" before
    any report exists is a placeholder page that will reload."""
    (tmp_path / "index.html").write_text("<html><body><p>report</p></body></html>")
    (tmp_path / "fig.png").write_bytes(b"\x89PNG-not-really")
    state = serve.LiveState(version=3)
    server = serve.start(tmp_path, "index.html", state, 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = _get(base + "/").decode()
        assert page.index("<p>report</p>") < page.index("var loaded = 3;") < page.index("</body>")
        assert _get(base + "/fig.png") == b"\x89PNG-not-really"
        state.update(problem={"kind": "failed", "title": "t", "detail": "<b>x</b>"})
        assert json.loads(_get(base + serve.STATUS_PATH)) == {
            "version": 3, "building": False, "reason": "",
            "problem": {"kind": "failed", "title": "t", "detail": "<b>x</b>"}}
        (tmp_path / "index.html").unlink()
        assert "No report has been built yet" in _get(base + "/").decode()
    finally:
        server.shutdown()
        server.server_close()


def test_watcher_sees_edits_additions_and_included_articles(tmp_path, monkeypatch):
    """The watched set holds data, params, notebooks, package modules, the article and a
    .qmd it includes; an edit and a new data file each show as changed."""
    root = make_project(tmp_path / "p")
    (root / "_extra.qmd").write_text("Included text.\n")
    index = root / "index.qmd"
    index.write_text(index.read_text() + "\n{{< include _extra.qmd >}}\n")
    monkeypatch.setattr(paths, "ROOT", root)
    for name in ("DATA_DIR", "PARAMS_DIR", "NOTEBOOKS_DIR"):
        monkeypatch.setattr(paths, name, root / getattr(paths, name).name)
    monkeypatch.setattr(paths, "SRC_DIR", root / "src" / "casereport")
    files = {p.relative_to(root).as_posix() for p in watch.watched()}
    for expected in ("data/enrich/enrich_sites.csv", "params/engagement_fidelity/primary.yaml",
                     "notebooks/cross_case.ipynb", "src/casereport/stats/glm.py", "index.qmd",
                     "_extra.qmd", "_quarto.yml", "_quarto/claims.lua", "references.bib"):
        assert expected in files
    before = watch.look()
    csv = root / "data" / "enrich" / "enrich_sites.csv"
    csv.write_text(csv.read_text() + "\n")
    (root / "data" / "enrich" / "new.csv").write_text("a\n1\n")
    assert [p.name for p in watch.changed(before, watch.look())] == ["enrich_sites.csv",
                                                                       "new.csv"]


# ------------------------------------------------------------------ in Chromium


def _env(root: Path, with_quarto: bool) -> dict[str, str]:
    env = {**os.environ, "CASEREPORT_ROOT": str(root)}
    env.pop("CASEREPORT_SKIP_PRERENDER", None)
    if not with_quarto:
        env.pop("QUARTO_PATH", None)
        env["PATH"] = os.pathsep.join(
            d for d in env["PATH"].split(os.pathsep) if not (Path(d) / "quarto").exists())
    return env


def _set_published_sites(root: Path, value: str) -> None:
    """The number of ENRICH sites the paper states (data/enrich/published_claims.yaml, claim
    enrich_n_sites, published 7)."""
    yaml = root / "data" / "enrich" / "published_claims.yaml"
    text, n = re.subn(r"(- id: enrich_n_sites\n(?:    .*\n)*?    published: )\d+\n",
                      rf"\g<1>{value}\n", yaml.read_text())
    assert n == 1
    yaml.write_text(text)


def _audit_sentences(root: Path) -> tuple[str, str]:
    """The article's audit counts for the copy's data ("87 reproduce, 5 do not" when last
    looked at), and after the number of sites is published wrong: one claim fewer
    reproduces and one more is a discrepancy. Oracle: the audit of the copy's data/."""
    from casereport import audit

    status = audit.audit(root / "data")["status"]
    ok, bad = int((status == audit.REPRODUCED).sum()), int((status == audit.DISCREPANCY).sum())
    return f"{ok} reproduce, {bad} do not", f"{ok - 1} reproduce, {bad + 1} do not"


#: Per variant: the sentence on the first page and after the edit (of the copy), and the edit.
EDITS = {
    False: (lambda root: ("site 4 is at 47.1%", "site 4 is at 52.9%"),
            lambda root: _set_engaged(root, "9")),
    True: (_audit_sentences, lambda root: _set_published_sites(root, "8")),
}


def _set_engaged(root: Path, value: str) -> None:
    """Site 4's engaged count in data/enrich/enrich_sites.csv (its row starts 4,71,33,17,52,)."""
    csv = root / "data" / "enrich" / "enrich_sites.csv"
    text, n = re.subn(r"(?m)^(4,71,33,17,52,)[^,]*,", rf"\g<1>{value},", csv.read_text())
    assert n == 1
    csv.write_text(text)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(3 * BUILD_WAIT)
@pytest.mark.parametrize("with_quarto", [True, False], ids=["quarto", "no-quarto"])
def test_page_follows_a_data_edit_and_keeps_the_last_good_report(tmp_path, with_quarto,
                                                                  built_project):
    """The edit of ``EDITS`` (engaged 8 -> 9 without Quarto, the published number of sites
    7 -> 8 with it): the open page reloads by itself and shows the new sentence. Then site
    4's engaged count 'nine' (not a whole number): the banner names the file, row and column
    and the page still shows the new sentence; the terminal says the build failed and the
    server keeps answering.

    The copy starts from the session build's run cache, as a project that has been built
    before does. Without Quarto the first build of the preview assembles build/ without
    executing. With Quarto the copy also holds the session build's build/ and manuscript:
    a built project that was copied is up to date, so the first build is a no-op (the
    fingerprint names files relative to the project) and the page is the copied report.
    Without Quarto the edit re-executes its readers; with it, only the audit and the
    render run again, and the build says every notebook view was copied."""
    exe = require_chromium()
    if with_quarto:
        require_quarto()
    root = copy_built(built_project, tmp_path / "project", outputs=with_quarto)
    if with_quarto:
        shutil.copytree(built_project / "_manuscript", root / "_manuscript")
    proc = subprocess.Popen(
        [sys.executable, "-m", "casereport", "preview", "--port", "0", "--no-browser",
         "--jobs", "2"],
        cwd=root, env=_env(root, with_quarto), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        url = until("the server's address", lambda: next(
            (m[1] for ln in lines if (m := re.search(r"serving (http://\S+/)", ln))), None), 120)
        status_url = url + serve.STATUS_PATH.lstrip("/")

        def status() -> dict:
            return json.loads(_get(status_url))

        first = ("report updated", "report unchanged")
        until("the first build", lambda: any(m in ln for ln in lines for m in first),
              BUILD_WAIT, every=1)
        said = "".join(lines)
        if with_quarto:  # nothing changed since the copied build: neither run nor render
            assert "build     up to date" in said and "report unchanged" in said, said
        else:
            assert "report updated" in said and status()["version"] == 1, said
        from playwright.sync_api import Error, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)

            def body() -> str:
                try:
                    return page.inner_text("body")
                except Error:  # the page is reloading
                    return ""

            def banner_state() -> str | None:
                try:
                    return page.get_attribute(f"#{serve.BANNER_ID}", "data-state", timeout=500)
                except Error:
                    return None

            sentences, edit = EDITS[with_quarto]
            first, then = sentences(root)
            until(f"{first!r} on the first page", lambda: first in body(), 60)
            edit(root)
            until(f"the page to show {then!r}", lambda: then in body(), BUILD_WAIT)
            _set_engaged(root, "nine")
            until("the failure banner", lambda: banner_state() == "failed", BUILD_WAIT)
            banner = page.inner_text(f"#{serve.BANNER_ID}")
            assert "The build failed" in banner
            assert "enrich_sites.csv, line 5, column 'engaged': found 'nine'" in banner
            assert then in body()  # the last good report stays
            browser.close()
        assert status()["problem"]["kind"] == "failed"  # the server still answers
        out = "".join(lines)
        assert "found 'nine'" in out and "[build failed, exit 1]" in out
        if with_quarto:  # no executed notebook changed: every view copied, none rendered
            n = len(views.manuscript(root)[1])
            assert f"notebook views: {n} of {n} unchanged" in " ".join(out.split()), out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines)[-3000:]


def test_a_failed_build_becomes_the_banner_and_keeps_the_version(tmp_path, monkeypatch):
    """A real `casereport build` of invalid data (site 4 engaged 'nine') exits 1 before any
    run: the state says failed, with the validation problem, and the version (the page
    served) is unchanged, so the page is not reloaded away from the last good report."""
    root = make_project(tmp_path / "p")
    _set_engaged(root, "nine")
    monkeypatch.setattr(paths, "ROOT", root)
    state = serve.LiveState(version=4)
    page = root / "build" / "report-preview.html"
    assert live.build_once(state, page, [], "a test") == 1
    assert state.version == 4 and not state.building
    assert state.problem["kind"] == "failed"
    assert "enrich_sites.csv, line 5, column 'engaged': found 'nine'" in state.problem["detail"]
