"""The no-Quarto preview, rendered from the demo build (notebooks executed by papermill).

Expected values come from the demo notebooks in ``tests.demo``: one HTML table
(``tbl-demo-sites``), one Markdown table (``tbl-demo-md``), one figure
(``fig-demo-scatter``), two case profiles; and from the demo article's text."""

from __future__ import annotations

import re

import pytest

from casereport.report import preview
from tests.test_report_support import SCRIPT_LOCATION, demo_article, demo_build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    build, _ = demo_build(base)
    art = demo_article(tmp_path_factory.mktemp("article"))
    out = art.parent / "out" / "report-preview.html"
    preview.render_preview(build, out, article=art, variables={"demo": {"engaged_mean": "42.5"}})
    return out, out.read_text(encoding="utf-8")


def test_preview_is_marked_and_self_contained(rendered):
    """The banner text is the module's BANNER; --embed-resources leaves no external src."""
    out, html = rendered
    assert preview.BANNER in html
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert len(srcs) == 1  # demo: 1 figure (the case appendix is a table, not embeds)
    assert all(s.startswith("data:image/") for s in srcs)
    assert "<link " not in html or 'rel="stylesheet"' not in html
    assert [p.name for p in out.parent.iterdir()] == ["report-preview.html"]  # no temp left


def test_preview_numbers_crossrefs_and_substitutes_vars(rendered):
    """Numbering follows reading order in the demo article: tbl-demo-sites is Table 1, the
    scatter Figure 1, tbl-demo-md Table 2; Summary is the first numbered section; the var
    value is the one passed in."""
    _, html = rendered
    assert '<a href="#fig-demo-scatter">Figure 1</a>' in html
    assert '<a href="#tbl-demo-sites">Table 1</a>' in html
    assert '<a href="#tbl-demo-md">Table 2</a>' in html
    assert 'id="fig-demo-scatter"' in html and 'id="tbl-demo-sites"' in html
    assert "Figure 1: Engagement against fidelity" in html
    assert "Engagement was 42.5 on average" in html
    assert '<a href="#sec-summary">Section 1</a>' in html and 'id="sec-summary"' in html


def test_preview_cites_with_citeproc(rendered):
    """[@gillard2024implementing] becomes an author-date citation linked to the reference
    list; the DOI is the one in references.bib."""
    _, html = rendered
    assert "Gillard et al. 2024" in html
    assert 'href="#ref-gillard2024implementing"' in html
    assert "10.1186/s12913-024-11447-5" in html


def test_preview_embeds_tables_from_both_output_types(rendered):
    """Both demo tables show the demo site locations (DEFAULT_SITES); the source line links
    to the executed notebook, relative to the preview file."""
    _, html = rendered
    body = html.split("</header>", 1)[-1]
    for loc in ("Urban", "Town/rural", "Urban/rural"):
        assert body.count(loc) >= 2
    link = re.search(
        r'Source: <a href="([^"]+)"><code>demo_analysis--primary.ipynb</code></a>', body
    )
    assert link is not None
    out, _ = rendered
    assert (out.parent / link.group(1)).resolve().is_file()  # the executed notebook


def test_preview_lists_problems_instead_of_failing(tmp_path_factory):
    """An embed of a label the demo notebook lacks, an unknown var and an undefined
    cross-reference are shown on the page (and do not raise)."""
    build, _ = demo_build(tmp_path_factory.getbasetemp())
    art = demo_article(
        tmp_path_factory.mktemp("bad"),
        "# T\n\n{{< embed build/runs/demo_analysis--primary.ipynb#fig-nope >}}\n\n"
        "{{< var nope.x >}} and @tbl-nope.\n",
    )
    out = preview.render_preview(build, art.parent / "p.html", article=art, variables={})
    html = out.read_text(encoding="utf-8")
    assert "problem(s) while rendering the preview" in html
    assert "fig-nope" in html and "?var:nope.x" in html and "?@tbl-nope" in html


def test_preview_shows_markup_in_data_as_text(tmp_path_factory):
    """A location of <script>…</script> in the data (through an HTML table output, a raw
    Markdown output and the case-profile appendix) appears escaped, never as a tag."""
    sites = [
        {"site": "1", "location": SCRIPT_LOCATION, "engaged": 61, "fidelity": 10.4},
        {"site": "2", "location": "Urban", "engaged": 39, "fidelity": 11.0},
    ]
    build, _ = demo_build(tmp_path_factory.getbasetemp(), sites)
    art = demo_article(tmp_path_factory.mktemp("xss"))
    out = preview.render_preview(build, art.parent / "p.html", article=art, variables={})
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert html.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 2


def test_preview_shows_the_article_and_the_supplement(built_project):
    """The session build (tests/conftest.py) wrote build/report-preview.html and, beside it,
    the supplement's preview; every []{.supp ref="label"} of index.qmd is a link from the
    article to an element of the supplement's preview with that id, and its text is the
    number Quarto's render gave the same label (supplement/numbers.json, when Quarto ran;
    oracle: the real render); the supplement's tables read "Table S1", ... and no problem
    is listed in either page."""
    import html as h
    import json

    build = built_project / "build"
    art = (build / "report-preview.html").read_text(encoding="utf-8")
    sup_page = build / "report-preview-supplement.html"
    sup = sup_page.read_text(encoding="utf-8")
    refs = set(re.findall(r'\[\]\{\.supp ref="([^"]+)"\}',
                          (built_project / "index.qmd").read_text(encoding="utf-8")))  # fmt: skip
    assert len(refs) >= 5
    links = dict(re.findall(
        r'<a href="report-preview-supplement\.html#([^"]+)" class="supp-ref">([^<]*)</a>', art))
    assert refs <= set(links)
    for label in links:
        assert f'id="{label}"' in sup, label
    assert "Table S1:" in h.unescape(sup) and "?supp" not in art
    assert 'class="preview-problems"' not in art and 'class="preview-problems"' not in sup
    numbers = built_project / "_manuscript" / "supplement" / "numbers.json"
    if numbers.is_file():
        quarto = json.loads(numbers.read_text())
        assert {k: h.unescape(v) for k, v in links.items()} == {k: quarto[k] for k in links}
