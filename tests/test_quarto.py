"""Quarto renders the manuscript for real, and what it renders reads cleanly.

The render tests need the `quarto` command (CI installs it from ../shared/quarto; users from
conda-forge or Quarto's installer). Without it they skip, except under CI=true, where a
skipped Quarto test is a failure. Two real renders are checked alike:

- ``built``: `casereport build --strict` of a private copy of the project (the session
  build of conftest.py), which runs the pipeline and then Quarto;
- ``alone``: `quarto render` alone in another fresh copy (no build/, no _manuscript/),
  with the environment active as a user would have it: Quarto's pre-render step runs the
  pipeline. It reuses the first copy's run cache, so unchanged runs are not executed
  again, and one ENRICH site's location is ``<script>…</script>``, to show that data text
  stays text in Quarto's HTML.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from casereport.primitives import paths
from casereport.report import quarto, shortcodes
from tests.project import make_project
from tests.test_report_support import SCRIPT_LOCATION, inspect_page, page_fit, serve

HAVE_QUARTO = quarto.find_quarto() is not None
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The page count the report is expected to stay within (44 pages when last looked at: 32
#: embedded tables and figures, and appendices listing every audit check and estimate).
PDF_PAGES = (12, 50)


def require_quarto() -> str:
    exe = quarto.find_quarto()
    if exe is None:
        msg = "quarto is not on PATH (conda-forge `quarto`, Quarto's installer, ../shared/quarto)"
        if IN_CI:
            pytest.fail(msg + "; CI=true requires the Quarto tests to run")
        pytest.skip(msg)
    return exe


# ---------------------------------------------------------------- without rendering


def test_find_quarto_none_without_path(monkeypatch, tmp_path):
    """With an empty PATH and no QUARTO_PATH there is no quarto: None, and render() raises
    FileNotFoundError carrying the plain message (quarto.NOT_FOUND)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    assert quarto.find_quarto() is None
    with pytest.raises(FileNotFoundError, match="Quarto was not found on PATH"):
        quarto.render(tmp_path / "out")


def test_find_quarto_uses_path(monkeypatch, tmp_path):
    """An executable named quarto on PATH is found (a stand-in script made here)."""
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\necho 1.6.40\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    assert quarto.find_quarto() == str(fake)
    assert quarto.version() == (1, 6, 40)


def test_render_command_and_environment(tmp_path):
    """The command renders the project root into the given folder; the environment stops
    the pre-render step from re-entering the build (CASEREPORT_SKIP_PRERENDER=1)."""
    cmd = quarto.command(tmp_path, quarto="quarto")
    assert cmd == ["quarto", "render", str(paths.ROOT), "--output-dir", str(tmp_path)]
    assert quarto.environment()["CASEREPORT_SKIP_PRERENDER"] == "1"


def test_render_rejects_old_quarto(monkeypatch, tmp_path):
    """Quarto 1.4 cannot re-read _variables.yml after pre-render: refused with a reason."""
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\necho 1.4.550\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(quarto.QuartoError, match="too old"):
        quarto.render(tmp_path / "out")


# Lines as Quarto 1.10.18 printed them here (ANSI colours included), for the log parser.
_LOG = (
    "\x1b[1m\x1b[34m[1/2] nb.ipynb\x1b[39m\x1b[22m\n"
    "\x1b[33mWARNING (/opt/quarto/src/resources/filters/./normalize/astpipeline.lua:340) \n"
    "The following string was found in the document: :::\n"
    "\n"
    "This usually indicates a problem with a fenced div in the document.\n"
    "\x1b[39m\x1b[33mWARNING (/opt/quarto/src/resources/filters/./crossref/refs.lua:128) "
    "Unable to resolve crossref @tbl-c\n"
    "\x1b[39m[typst]: Compiling index.typ to index.pdf...DONE\n"
    "Output created: _manuscript/index.html\n"
)


def test_warnings_are_read_from_quarto_log():
    """Both WARNING messages of the log above (copied from a real render) are found, each
    with its continuation line; the progress and output lines are not warnings."""
    found = quarto.warnings(_LOG)
    assert len(found) == 2
    assert "The following string was found in the document: :::" in found[0]
    assert found[1].endswith("Unable to resolve crossref @tbl-c")
    assert quarto.warnings("Output created: x.html\n[1/1] index.qmd\n") == []


def test_strict_render_fails_on_a_warning(monkeypatch, tmp_path):
    """A stand-in quarto that exits 0 but prints a WARN line: render() returns the warning;
    with strict=True it raises QuartoError naming it."""
    fake = tmp_path / "quarto"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo 1.10.18; exit 0; fi\n'
        "echo 'WARN (x.lua:1) Unable to resolve crossref @fig-x' >&2\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    monkeypatch.setattr(paths, "ROOT", tmp_path)  # a project without a supplement
    assert quarto.render(tmp_path / "out") == ["WARN (x.lua:1) Unable to resolve crossref @fig-x"]
    with pytest.raises(quarto.QuartoError, match="@fig-x"):
        quarto.render(tmp_path / "out", strict=True)


def _fake_renders(monkeypatch, root: Path, new_numbers: dict) -> list[dict | None]:
    """``render``'s two Quarto steps replaced: the supplement's writes ``new_numbers``;
    each article render records the numbers it read (the calls are the record)."""
    calls: list[dict | None] = []
    sup = root / "supplement"
    (sup / "_quarto.yml").parent.mkdir(parents=True, exist_ok=True)
    (sup / "_quarto.yml").write_text("project: {type: default}\n")

    def supplement(timeout, strict):
        out = sup / "_output"
        out.mkdir(exist_ok=True)
        (out / "numbers.json").write_text(json.dumps(new_numbers))
        return []

    def article(output_dir, exe, timeout, extra_env=None, target=None):
        path = (extra_env or {}).get(quarto.NUMBERS_ENV)
        calls.append(json.loads(Path(path).read_text()) if path else None)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        return ""

    monkeypatch.setattr(paths, "ROOT", root)
    monkeypatch.setattr(quarto, "find_quarto", lambda: "quarto")
    monkeypatch.setattr(quarto, "version", lambda exe=None: (1, 10, 18))
    monkeypatch.setattr(quarto, "render_supplement", supplement)
    monkeypatch.setattr(quarto, "_render_article", article)
    monkeypatch.setattr(quarto, "_copy_supplement", lambda out, has: None)
    return calls


@pytest.mark.parametrize("case", ["same", "changed", "none"])
def test_the_article_renders_beside_the_supplement_and_again_if_its_numbers_changed(
    monkeypatch, tmp_path, case
):
    """With the last manuscript's supplement numbers the article renders at once with the
    supplement, reading those numbers: once when the new supplement numbered everything
    alike, twice (the second time from the new supplement's own file) when a number moved;
    with no last manuscript, once, after the supplement. The expected calls follow from
    the rule in ``quarto.render``'s docstring."""
    new = {"tbl-a": "Table S1", "tbl-b": "Table S2"}
    calls = _fake_renders(monkeypatch, tmp_path, new)
    previous = tmp_path / "_manuscript"
    if case != "none":
        old = new if case == "same" else {"tbl-a": "Table S2", "tbl-b": "Table S1"}
        (previous / "supplement").mkdir(parents=True)
        (previous / "supplement" / "numbers.json").write_text(json.dumps(old))
    quarto.render(tmp_path / "out", previous=previous)
    expected = {"same": [new], "changed": [{"tbl-a": "Table S2", "tbl-b": "Table S1"}, None],
                "none": [None]}[case]
    assert calls == expected
    assert not list(tmp_path.glob("*.numbers.json"))  # the copy of the old numbers is gone


def test_notebook_cell_options_survive_embedding():
    """Quarto writes an embedded cell's options into a one-line div header; a YAML block
    scalar (``>-``, ``|``) breaks it (raw ``:::`` in the report, quarto-dev/quarto-cli
    #11290, #9421). Every ``#|`` option of every notebook is a one-line or quoted/plain
    multi-line scalar, parses as YAML, and every fig-/tbl- label has its caption."""
    import yaml

    for nb_path in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            opts = [ln[3:] for ln in "".join(cell["source"]).splitlines() if ln.startswith("#| ")]
            text = "\n".join(opts)
            assert not re.search(r":\s*[>|][-+]?\s*$", text, re.M), (nb_path.name, text)
            parsed = yaml.safe_load(text) if text else {}
            label = str(parsed.get("label", ""))
            for kind in ("fig", "tbl"):
                if label.startswith(f"{kind}-"):
                    assert str(parsed.get(f"{kind}-cap", "")).strip(), (nb_path.name, label)


# ---------------------------------------------------------------- real renders


def _env_active(root: Path) -> dict[str, str]:
    """The environment of a user whose casereport environment is active: its bin/ first on
    PATH, no QUARTO_PYTHON, the package pointed at this copy of the project."""
    env = {k: v for k, v in os.environ.items() if k not in ("QUARTO_PYTHON",
                                                              "CASEREPORT_SKIP_PRERENDER")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CASEREPORT_ROOT"] = str(root)
    return env


@pytest.fixture(scope="session")
def rendered_alone(built_project, tmp_path_factory) -> tuple[Path, str]:
    """`quarto render` alone in a fresh copy (see the module docstring); (root, log)."""
    exe = require_quarto()
    root = make_project(tmp_path_factory.mktemp("quarto-alone"))
    shutil.copytree(built_project / ".casereport-cache", root / ".casereport-cache",
                    ignore=shutil.ignore_patterns("*.lock"))  # fmt: skip
    enrich = root / "data" / "enrich" / "enrich_sites.csv"
    rows = enrich.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    cells = rows[1].split(",")
    cells[header.index("location")] = SCRIPT_LOCATION
    rows[1] = ",".join(cells)
    enrich.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert not (root / "build").exists() and not (root / "_manuscript").exists()
    res = subprocess.run([exe, "render"], cwd=root, env=_env_active(root),
                         capture_output=True, text=True, timeout=1800)  # fmt: skip
    log = res.stdout + "\n" + res.stderr
    assert res.returncode == 0, log[-4000:]
    return root, log


@pytest.fixture(scope="session", params=["built", "alone"])
def manuscript(request, built_project) -> Path:
    """_manuscript/ of each real render."""
    require_quarto()
    if request.param == "built":
        out = built_project / "_manuscript"
    else:
        out = request.getfixturevalue("rendered_alone")[0] / "_manuscript"
    assert (out / "index.html").is_file(), f"{out} has no index.html"
    return out


@pytest.mark.quarto
@pytest.mark.slow
def test_quarto_render_alone_works_on_a_fresh_copy_without_warnings(rendered_alone):
    """The pre-render step ran the pipeline (build/ exists, the notebooks it changed ran);
    Quarto wrote the HTML and the PDF and printed no WARN line."""
    root, log = rendered_alone
    assert (root / "build" / "manifest.json").is_file()
    assert (root / "_manuscript" / "index.html").is_file()
    assert (root / "_manuscript" / "index.pdf").is_file()
    assert quarto.warnings(log) == []


@pytest.mark.quarto
@pytest.mark.slow
def test_casereport_build_rendered_quarto_strictly(built_project):
    """The session build ran `casereport build --strict` (tests/project.py): it rendered the
    manuscript, which it does only when Quarto printed no warning."""
    require_quarto()
    manifest = json.loads((built_project / "build" / "manifest.json").read_text())
    assert manifest.get("quarto") is True
    assert (built_project / "_manuscript" / "index.pdf").is_file()


@pytest.mark.quarto
def test_the_article_pdf_has_at_most_20_pages(built_project):
    """Issue 22: the article is the argument, at most 20 A4 pages of PDF (pdfinfo's page
    count); the reference material is in the supplement, which has its own PDF."""
    require_quarto()
    info = subprocess.run(["pdfinfo", str(built_project / "_manuscript" / "index.pdf")],
                          capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 1 < pages <= 20, pages
    assert (built_project / "_manuscript" / "supplement" / "index.pdf").is_file()


class _Text(HTMLParser):
    """Visible text of an HTML page (script and style skipped)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _html_text(page: Path) -> str:
    p = _Text()
    p.feed(page.read_text(encoding="utf-8"))
    return html.unescape(" ".join(p.parts))


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip


RAW = ["?@", "??", ":::", "{#", "quarto-private", "tbl-cap=", "fig-cap=", "execution_count=",
       "?var:", "[missing"]  # fmt: skip


@pytest.mark.quarto
@pytest.mark.slow
def test_no_raw_markup_in_html_or_pdf(manuscript):
    """Neither the article's visible HTML text nor the PDF's text holds an unresolved
    reference (?@, ??), a fenced-div marker, an attribute list or cell metadata."""
    texts = {"html": _html_text(manuscript / "index.html"),
             "pdf": _pdf_text(manuscript / "index.pdf")}  # fmt: skip
    for kind, text in texts.items():
        found = {r: text.count(r) for r in RAW if r in text}
        assert found == {}, f"{kind}: {found}"


def _float_labels() -> list[str]:
    body = shortcodes.strip_front_matter(shortcodes.article_source(paths.ROOT / "index.qmd"))
    return [e.ident for e in shortcodes.find_embeds(body) if e.ident.startswith(("fig-", "tbl-"))]


@pytest.mark.quarto
@pytest.mark.slow
def test_other_formats_offers_the_pdf_by_name(manuscript):
    """The HTML's "Other Formats" block links the PDF, called "PDF" (not the engine's name,
    "Typst"), which exists beside the page, and then the supplement (issue 22)."""
    page = (manuscript / "index.html").read_text(encoding="utf-8")
    block = re.search(r'<div class="quarto-alternate-formats">(.*?)</div></div>', page, re.S)
    assert block, "no Other Formats block"
    links = re.findall(r'<a href="([^"]+)"[^>]*>(?:<i[^>]*></i>)?([^<]*)</a>', block.group(1))
    assert links == [("index.pdf", "PDF"), ("supplement/index.html", "Supplement")]
    assert (manuscript / "index.pdf").is_file()


@pytest.mark.quarto
@pytest.mark.slow
def test_every_embedded_float_is_numbered_and_captioned(manuscript):
    """Each embed of a fig-/tbl- label in index.qmd is an element with that id whose
    caption reads "Figure N: <text>" or "Table N: <text>", in the HTML; the PDF has as many
    numbered captions of each kind at least."""
    page = (manuscript / "index.html").read_text(encoding="utf-8")
    labels = _float_labels()
    assert len(labels) >= 14
    for label in labels:
        m = re.search(rf'<div id="{re.escape(label)}"(.*?)</figcaption>', page, re.S)
        assert m, f"{label}: no element with that id and a caption"
        caption = html.unescape(re.sub(r"<[^>]+>", "", m.group(1).split("<figcaption", 1)[-1]))
        kind = "Figure" if label.startswith("fig-") else "Table"
        assert re.search(rf"{kind}\s+\d+:\s*\S", caption.split(">", 1)[-1]), (label, caption)
    pdf = _pdf_text(manuscript / "index.pdf")
    for kind, prefix in (("Figure", "fig-"), ("Table", "tbl-")):
        n = sum(lab.startswith(prefix) for lab in labels)
        assert len(set(re.findall(rf"^\s*{kind} (\d+):", pdf, re.M))) >= n, kind


@pytest.mark.quarto
@pytest.mark.slow
def test_every_crossref_in_the_article_resolves(manuscript):
    """Every @fig-/@tbl-/@sec- reference written in index.qmd becomes, in the HTML, a link
    to an element that exists; the PDF shows no unresolved reference (checked above) and
    names each referenced section by number."""
    text = shortcodes.article_source(paths.ROOT / "index.qmd")
    refs = sorted(set(re.findall(r"(?<![\w\\])@((?:fig|tbl|sec)-[\w-]*\w)", text)))
    assert refs, "index.qmd cites no figure, table or section"
    page = (manuscript / "index.html").read_text(encoding="utf-8")
    for ref in refs:
        assert f'href="#{ref}"' in page, f"@{ref}: no link in the HTML"
        assert f'id="{ref}"' in page, f"@{ref}: no element with that id in the HTML"
    pdf = _pdf_text(manuscript / "index.pdf")
    assert len(re.findall(r"\bSection \d+(\.\d+)*", pdf)) >= sum(r.startswith("sec-") for r in refs)


@pytest.mark.quarto
@pytest.mark.slow
def test_pdf_length_and_nothing_outside_the_page(manuscript):
    """The PDF has between PDF_PAGES pages; no word of any page lies outside the page, and
    no two words are printed over each other (pdftotext's word boxes: text running off a
    page ends past its edge; a table too long for its page, or a header too wide for its
    column, overprints)."""
    pdf = manuscript / "index.pdf"
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', bbox, re.S)
    assert PDF_PAGES[0] <= len(pages) <= PDF_PAGES[1], len(pages)
    outside, overprinted = [], []
    for i, (w, h, body) in enumerate(pages, 1):
        words = [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in re.findall(
            r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">'
            r"(.*?)</word>", body)]  # fmt: skip
        outside += [(i, t) for x0, y0, x1, y1, t in words
                    if x0 < 0 or y0 < 0 or x1 > float(w) or y1 > float(h)]  # fmt: skip
        overprinted += [(i, a, b) for a, b in _overlapping(words)]
    assert outside == []
    assert overprinted == []


def _overlapping(words: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of words whose boxes overlap by more than a third of the smaller box."""
    out = []
    words = sorted(words, key=lambda w: w[1])
    for i, (x0, y0, x1, y1, t) in enumerate(words):
        for u0, v0, u1, v1, s in words[i + 1 :]:
            if v0 >= y1:
                break
            dx, dy = min(x1, u1) - max(x0, u0), min(y1, v1) - max(y0, v0)
            small = min((x1 - x0) * (y1 - y0), (u1 - u0) * (v1 - v0))
            if dx > 0 and dy > 0 and small > 0 and dx * dy > small / 3:
                out.append((t, s))
    return out


@pytest.mark.quarto
@pytest.mark.browser
@pytest.mark.slow
def test_quarto_html_in_a_browser_over_http(manuscript):
    """The article served on 127.0.0.1, as GitHub Pages serves it, in headless Chromium:
    no console errors, every image decodes, every #link has its target, nothing is
    requested from another host (no CDN), and window.__pwned stays undefined."""
    with serve(manuscript) as base:
        info = inspect_page(base + "index.html", manuscript.parent / "manuscript.png")
    assert info["errors"] == [] and info["broken_images"] == []
    assert info["missing_targets"] == [] and info["outside_requests"] == []
    assert info["n_images"] > 0 and info["pwned"] is None
    assert "?var:" not in info["text"] and "?@" not in info["text"]


@pytest.mark.quarto
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("page", ["index.html", "supplement/index.html",
                                  "build/runs/engagement_fidelity--primary-preview.html"])
def test_quarto_html_fits_a_laptop_and_a_phone(manuscript, width, page):
    """At a laptop width (1366 px) and a phone width (390 px) the page never scrolls
    sideways, no table is wider than its column (a wide one scrolls in its own box on a
    phone) and no figure runs past the window (oracle: the browser's own layout boxes).
    The pages: the article, the supplement and the notebook view with the widest tables
    and code (it was 899 px wide at 390 px, and its top-bar title ran out of the bar,
    before _quarto/theme.scss kept its cells to the column and its title to one line)."""
    with serve(manuscript) as base:
        fit = page_fit(base + page, width)
    assert fit["page_width"] <= width, fit
    assert fit["wide_tables"] == [] and fit["wide_images"] == [], fit
    assert fit["cut_bar_titles"] == [], fit


@pytest.mark.quarto
def test_every_relative_link_in_the_manuscript_names_a_file_in_it(manuscript):
    """Every relative href and src of the article, the supplement and each notebook view
    (scripts left out: their templates are not links) names a file of the manuscript.
    Oracle: the file system. A notebook view's "Other Links" once named
    build/runs/supplement/index.html (the links were set for every page in _quarto.yml)."""
    from urllib.parse import unquote, urlsplit

    broken = []
    for page in sorted(manuscript.rglob("*.html")):
        if "site_libs" in page.relative_to(manuscript).parts:
            continue
        text = re.sub(r"(?s)<script\b.*?</script>", "", page.read_text(encoding="utf-8"))
        for url in re.findall(r'\b(?:href|src)="([^"]*)"', text):
            parts = urlsplit(html.unescape(url))
            if parts.scheme or url.startswith(("#", "//")) or not parts.path:
                continue
            if not (page.parent / unquote(parts.path)).exists():
                broken.append((str(page.relative_to(manuscript)), url))
    assert not broken, sorted(set(broken))[:20]


@pytest.mark.quarto
def test_every_notebook_views_download_button_fetches_its_notebook(manuscript):
    """Each notebook view's "Download Notebook" link, fetched over http as a reader's click
    would (the link resolved against the view's own URL), returns the executed notebook of
    that run: valid JSON with the cells of an nbformat-4 notebook (oracle: the file the
    manuscript holds for the run, build/runs/<run>.out.ipynb, byte for byte)."""
    import urllib.parse
    import urllib.request

    views = sorted((manuscript / "build" / "runs").glob("*-preview.html"))
    assert len(views) >= 6, views
    with serve(manuscript) as base:
        for view in views:
            page = view.read_text(encoding="utf-8")
            m = re.search(r'<a\s+href="([^"]+)"\s+class="[^"]*quarto-download-embed', page)
            assert m, f"{view.name}: no download button"
            url = urllib.parse.urljoin(base + view.relative_to(manuscript).as_posix(),
                                       html.unescape(m.group(1)))
            with urllib.request.urlopen(url) as res:  # raises on 404
                body = res.read()
            run = view.name.removesuffix("-preview.html")
            assert body == (manuscript / "build" / "runs" / f"{run}.out.ipynb").read_bytes()
            assert json.loads(body)["nbformat"] == 4


@pytest.mark.quarto
@pytest.mark.browser
@pytest.mark.slow
def test_script_location_is_text_in_quarto_html(rendered_alone):
    """In the copy whose ENRICH site 1 is located at ``<script>…</script>``, the Quarto
    HTML shows that text and does not run it."""
    root, _ = rendered_alone
    with serve(root / "_manuscript") as base:
        info = inspect_page(base + "index.html", root / "manuscript-xss.png")
    assert info["pwned"] is None and info["errors"] == []
    assert SCRIPT_LOCATION in info["text"]


@pytest.mark.quarto
def test_quarto_inspect_reads_the_project():
    """`quarto inspect` accepts _quarto.yml and sees a manuscript project."""
    exe = require_quarto()
    res = subprocess.run(
        [exe, "inspect", str(paths.ROOT)],
        capture_output=True,
        text=True,
        env={**os.environ, "CASEREPORT_SKIP_PRERENDER": "1"},
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["config"]["project"]["type"] == "manuscript"


@pytest.mark.quarto
@pytest.mark.slow
def test_no_changes_appendix_without_a_baseline(manuscript):
    """The session build had no `--compare-to`: build/fragments/changes.md is empty and the
    filter leaves no appendix "Changes since" (issue 13)."""
    page = (manuscript / "index.html").read_text(encoding="utf-8")
    assert 'id="sec-changes"' not in page and "Changes since" not in _html_text(
        manuscript / "index.html"
    )
    assert (manuscript.parent / "build" / "fragments" / "changes.md").read_text() == ""


# ---------------------------------------------------------------- the supplement (issue 22)


def _supp_refs() -> list[str]:
    """Every label the article cites in the supplement, ``[]{.supp ref="..."}``, in
    index.qmd and in the fragments the build put in the article."""
    text = (paths.ROOT / "index.qmd").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'\[\]\{\.supp ref="([^"]+)"\}', text)))


@pytest.mark.quarto
@pytest.mark.slow
def test_supplement_is_rendered_in_both_formats(manuscript):
    """The build wrote the article (HTML, PDF) and the supplement (HTML, PDF) under
    _manuscript/, and the map of its numbers beside them; both PDFs have bookmarks (an
    /Outlines entry, which Typst writes from the headings)."""
    for name in ("index.html", "index.pdf", "supplement/index.html", "supplement/index.pdf",
                 "supplement/numbers.json"):  # fmt: skip
        assert (manuscript / name).is_file(), name
    for pdf in ("index.pdf", "supplement/index.pdf"):
        assert b"/Outlines" in (manuscript / pdf).read_bytes(), pdf


@pytest.mark.quarto
@pytest.mark.slow
def test_supplement_numbers_its_tables_s1_s2_in_both_formats(manuscript):
    """Every float of the supplement has a caption "Table S<n>:" (or "Figure S<n>:"), n
    running 1, 2, ... in the order of the page, in the HTML; the PDF prints the same
    captions in the same order (oracle: the HTML's caption texts), and never "Table 1" or
    "Table S 1". Its sections read S1, S2, ... in both; the PDF has them in its outline."""
    page = (manuscript / "supplement" / "index.html").read_text(encoding="utf-8")
    numbers = json.loads((manuscript / "supplement" / "numbers.json").read_text())
    tables = [v for k, v in numbers.items() if k.startswith("tbl-")]
    assert len(tables) >= 9, numbers  # 2 profiles, theory map, 4 QCA, sensitivity, audit
    assert tables == [f"Table S{i}" for i in range(1, len(tables) + 1)]
    from casereport.report.supplement import supplement_numbers

    assert supplement_numbers(page) == numbers
    pdf = _pdf_text(manuscript / "supplement" / "index.pdf")
    printed = re.findall(r"^\s*(Table S\d+):", pdf, re.M)
    assert printed == tables
    assert not re.search(r"\bTable S? \d+:", pdf) and "Table S S" not in pdf
    sections = [v.split()[-1] for k, v in numbers.items() if k.startswith("sec-")]
    assert sections == [f"S{i}" for i in range(1, len(sections) + 1)] and len(sections) >= 6
    first = manuscript / "supplement" / "index.pdf"
    outline = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(first), "-"],
                             capture_output=True, text=True).stdout  # fmt: skip
    assert all(re.search(rf"^{s} \S", outline, re.M) for s in sections), outline


@pytest.mark.quarto
@pytest.mark.slow
def test_every_article_reference_to_the_supplement_resolves(manuscript):
    """Each []{.supp ref="label"} of index.qmd (and of the fragments, e.g. the audit's
    pointer to tbl-audit-all) is, in the article's HTML, a link to
    supplement/index.html#label whose text is the number the supplement gave it, and the
    supplement's HTML has an element with that id; the article PDF prints that text and
    no "?supp" or raw span."""
    numbers = json.loads((manuscript / "supplement" / "numbers.json").read_text())
    page = html.unescape((manuscript / "index.html").read_text(encoding="utf-8"))
    sup = (manuscript / "supplement" / "index.html").read_text(encoding="utf-8")
    refs = _supp_refs() + ["tbl-audit-all", "tbl-sensitivity-all"]
    assert len(refs) >= 5
    for ref in refs:
        assert ref in numbers, ref
        link = re.search(rf'<a href="supplement/index.html#{re.escape(ref)}"[^>]*>([^<]*)</a>',
                         page)  # fmt: skip
        assert link and link.group(1).replace("\xa0", " ") == numbers[ref], ref
        assert f'id="{ref}"' in sup, ref
    pdf = " ".join(_pdf_text(manuscript / "index.pdf").split())
    for ref in refs:
        assert numbers[ref] in pdf.replace("\xa0", " "), ref
    assert "?supp" not in pdf and ".supp" not in pdf and "?supp" not in _html_text(
        manuscript / "index.html")


@pytest.mark.quarto
@pytest.mark.slow
def test_unknown_supplement_label_fails_strict_and_names_it(built_project, tmp_path):
    """A reference to a label the supplement does not have is a Quarto warning naming the
    label: `casereport build --strict` fails on it and says which (a copy of the built
    project with one such span added; only the render runs again). The copy keeps the
    session's manuscript, so the article renders beside the supplement, reading the last
    render's numbers from the file the build names; that manuscript is left as it was."""
    from tests.project import casereport, copy_built

    root = copy_built(built_project, tmp_path / "p")
    shutil.copytree(built_project / "_manuscript", root / "_manuscript")
    before = (root / "_manuscript" / "index.html").read_bytes()
    art = root / "index.qmd"
    art.write_text(art.read_text(encoding="utf-8")
                   + '\nSee []{.supp ref="tbl-no-such-table"}.\n', encoding="utf-8")  # fmt: skip
    out = casereport(root, "build", "--strict")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "tbl-no-such-table" in text
    assert "numbers.json does not exist" not in text  # it read the last render's numbers
    # only the article's text changed: every view is the last manuscript's, the article
    # alone renders (report/views.py)
    assert "notebook views: 6 of 6 unchanged" in text, text
    # never a half-written report: the last good one stays, nothing beside it
    assert (root / "_manuscript" / "index.html").read_bytes() == before
    assert not list(root.glob("_manuscript.new-*")) and not list(root.glob("*.numbers.json"))
