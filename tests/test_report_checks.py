"""Static checks of the article: embeds, cross-references, citations.

Run always: against small articles written here (good and bad, expected problems stated in
each test) over the demo build, and against the real index.qmd and references.bib. The
embed check against the real build runs once build/runs exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from casereport.primitives import paths
from casereport.report import checks
from tests.test_report_support import demo_article, demo_build

INDEX = paths.ROOT / "index.qmd"
BIB = paths.ROOT / "references.bib"
NB = "build/runs/demo_analysis--primary.ipynb"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return demo_build(tmp_path_factory.getbasetemp())[0]


def _article(tmp_path, text):
    return demo_article(tmp_path, "---\ntitle: t\n---\n\n" + text)


@pytest.mark.slow
def test_demo_article_passes_every_check(build, tmp_path):
    """The demo article (tests.demo.DEMO_ARTICLE) is consistent by design."""
    art = demo_article(tmp_path)
    assert checks.check_all(art, build) == []


@pytest.mark.slow
def test_embed_problems_are_reported(build, tmp_path):
    """Of three embeds, two are bad: a label the demo notebook lacks and a notebook that
    does not exist; the third (tbl-demo-sites, a demo label) resolves."""
    art = _article(
        tmp_path,
        f"{{{{< embed {NB}#fig-missing >}}}}\n\n"
        "{{< embed build/runs/nothing--primary.ipynb#tbl-x >}}\n\n"
        f"{{{{< embed {NB}#tbl-demo-sites >}}}}\n",
    )
    problems = checks.check_embeds(art, build)
    assert len(problems) == 2
    assert "fig-missing" in problems[0] and "no cell" in problems[0]
    assert "nothing--primary.ipynb" in problems[1] and "not found" in problems[1]


@pytest.mark.slow
def test_embed_of_uncaptioned_float_is_reported(build, tmp_path):
    """Quarto numbers only captioned floats: a copy of the executed demo notebook whose
    fig-demo-scatter cell lost its fig-cap line (outputs untouched) is reported."""
    import nbformat

    nb = nbformat.read(build / "runs" / "demo_analysis--primary.ipynb", as_version=4)
    for cell in nb.cells:
        if "label: fig-demo-scatter" in cell.source:
            cell.source = "\n".join(
                line for line in cell.source.splitlines() if "fig-cap" not in line
            )
    other = tmp_path / "build"
    (other / "runs").mkdir(parents=True)
    nbformat.write(nb, other / "runs" / "demo_analysis--primary.ipynb")
    art = _article(tmp_path, f"{{{{< embed {NB}#fig-demo-scatter >}}}}\n")
    assert checks.check_embeds(art, other) == [
        f"embed {NB}#fig-demo-scatter: the cell has no fig-cap option"
    ]


@pytest.mark.slow
def test_embeds_inside_included_fragments_are_checked(build, tmp_path):
    """The demo build's case_appendix.md embeds profile-summary/profile-figure of 2 runs:
    all resolve; an include of a missing fragment is a problem."""
    art = _article(
        tmp_path,
        "{{< include build/fragments/case_appendix.md >}}\n\n"
        "{{< include build/fragments/nope.md >}}\n",
    )
    problems = checks.check_embeds(art, build)
    assert problems == [f"include: build/fragments/nope.md not found ({build}/fragments/nope.md)"]


def test_include_inside_text_is_reported(tmp_path):
    """Quarto's includes page: an include must be alone on its line between blank lines."""
    art = _article(tmp_path, "Text {{< include build/fragments/audit.md >}}\n")
    problems = checks.check_embeds(art, tmp_path / "build")
    assert (
        "include build/fragments/audit.md: must be alone on its line, between blank lines"
        in problems
    )


def test_crossref_problems(tmp_path):
    """@fig-a is defined by an embed and an attribute (twice); @tbl-b nowhere; @sec-s once."""
    art = _article(
        tmp_path,
        "## S {#sec-s}\n\nSee @fig-a, @tbl-b and @sec-s.\n\n"
        f"{{{{< embed {NB}#fig-a >}}}}\n\n![x](x.png){{#fig-a}}\n",
    )
    assert checks.check_crossrefs(art) == [
        "cross-reference label fig-a is defined 2 times",
        "cross-reference @tbl-b has no definition",
    ]


def test_citation_problems(tmp_path):
    """One known key (in references.bib), one unknown; e-mail addresses, code and escaped
    @ are not citations."""
    art = _article(
        tmp_path,
        "As shown [@craven2021embedding; @nobody1999] and by @gillard2024implementing.\n\n"
        "Write to a.b@example.org, see `@decorator` and \\@handle.\n",
    )
    assert checks.check_citations(art, BIB) == ["citation @nobody1999 is not in references.bib"]


def test_bib_holds_the_source_papers_with_dois():
    """references.bib: the three papers in /work/shared/seeds/README.md plus the ENRICH trial
    report they cite and the QCA textbook whose relevance-of-necessity formula the report
    uses, each with the DOI given there or on the publisher's page."""
    text = BIB.read_text(encoding="utf-8")
    assert checks.bib_keys(BIB) == [
        "gillard2024implementing",
        "gillard2022enrich",
        "craven2021embedding",
        "dediosperez2024mentoring",
        "schneider2012set",
    ]
    for doi in (
        "10.1017/CBO9781139004244",
        "10.1186/s12913-024-11447-5",
        "10.1016/S2215-0366(21)00398-9",
        "10.1186/s12874-021-01382-y",
        "10.1186/s12874-024-02269-4",
    ):
        assert doi in text


def test_real_article_crossrefs_and_citations(built_project):
    """index.qmd: every @fig-/@tbl-/@sec- reference defined exactly once, with the build's
    fragments (some tables are generated there); every cited key in references.bib."""
    assert checks.check_crossrefs(INDEX, built_project / "build") == []
    assert checks.check_citations(INDEX, BIB) == []


def test_real_article_cites_every_paper():
    """Each entry of references.bib is cited at least once in the prose."""
    assert set(checks.citation_keys(INDEX)) == set(checks.bib_keys(BIB))


def test_real_article_quotes_no_typed_numbers():
    """Prose numbers come from {{< var >}} only: outside shortcodes, code, ids, citations,
    the front matter and references to the papers' own tables ("Table 2 of @key") there is
    no digit (years live in references.bib)."""
    import re

    from casereport.report import shortcodes

    body = shortcodes.strip_front_matter(shortcodes.article_source(INDEX))
    body = re.sub(r"\{\{<.*?>\}\}", "", body, flags=re.S)
    body = re.sub(r"`[^`]*`", "", body)
    body = re.sub(r"\{#[^}]*\}", "", body)
    body = re.sub(r"\{\.claim[^}]*\}", "", body)  # a repeated claim's id: of="..."
    body = re.sub(r"Table \d+ of @[\w-]+", "", body)
    body = re.sub(r"\[@[^\]]*\]|@[\w-]+", "", body)
    assert re.findall(r".{0,30}\d.{0,30}", body) == []


def test_real_article_has_no_less_than_sign_followed_by_a_space():
    """The article as Quarto's Typst render hands it to pandoc (includes and embeds are
    replaced before that read) has no "<" followed by white space, so no variable is quoted
    as ``{{< var x >}}`` with spaces: pandoc's markdown reader is quadratic in them (the
    spelling's reason and its measurement: shortcodes.var_shortcode, benchmarks/notes.md).
    The spelling still parses as a var shortcode (shortcodes.VAR_RE, which checks and the
    preview use), and the article uses it."""
    from casereport.report import shortcodes

    body = shortcodes.EMBED_RE.sub("", shortcodes.article_source(INDEX))
    hits = [body[max(m.start() - 30, 0):m.end() + 30]
            for m in shortcodes.SPACED_OPEN_RE.finditer(body)]  # fmt: skip
    assert hits == [], hits
    spelled = shortcodes.var_shortcode("enrich_table2.n_sites")
    assert shortcodes.VAR_RE.fullmatch(spelled).group("arg") == "enrich_table2.n_sites"
    assert spelled in body


def test_real_article_embeds_labels_that_the_notebooks_define():
    """Before a build: each embedded label exists in notebooks/<name>.ipynb (the contract
    in docs/architecture.md, "Labels the report embeds")."""
    if not any(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        pytest.skip("notebooks/ has no notebooks yet")
    assert checks.check_embed_sources(INDEX) == []


@pytest.mark.slow
def test_real_article_embeds_resolve_in_the_build(built_project):
    """After a full `casereport build`: every embed (article and fragments) resolves."""
    assert checks.check_embeds(INDEX, built_project / "build") == []


def test_quarto_project_config():
    """_quarto.yml (written from quarto.org's manuscript, projects and scripts pages): a
    manuscript with article index.qmd; renders only the article and the executed analysis
    runs in build/runs/ (not notebooks/, not the case profiles, which the appendix
    summarises); pre-render runs the pipeline through _quarto/prerender.py, and the
    fragment filter runs before Quarto parses the AST; html + typst; references.bib;
    the listed notebooks are exactly the executed analysis runs of the run plan (every
    parameter set, not the case profiles), and include every notebook the article embeds
    from outside the appendix."""
    cfg = yaml.safe_load((paths.ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert cfg["project"]["type"] == "manuscript"
    assert cfg["project"]["pre-render"] == "_quarto/prerender.py"
    assert (paths.ROOT / "_quarto" / "prerender.py").is_file()
    assert {"at": "pre-ast", "path": "_quarto/fragments.lua"} in cfg["filters"]
    assert cfg["project"]["render"] == ["index.qmd"] + [
        f"/build/runs/{nb}--*.ipynb"
        for nb in ("engagement_fidelity", "mentoring_time", "cross_case")
    ]
    assert cfg["manuscript"]["article"] == "index.qmd"
    assert set(cfg["format"]) == {"html", "typst"}
    assert cfg["bibliography"] == "references.bib"
    listed = [n["notebook"] for n in cfg["manuscript"]["notebooks"]]
    titles = [n.get("title", "") for n in cfg["manuscript"]["notebooks"]]
    assert all(titles) and len(set(titles)) == len(titles), titles  # the list tells them apart
    for nb, title in zip(listed, titles, strict=True):  # an exclusion set names its site
        m = re.search(r"without_site_(\w+)\.ipynb$", nb)
        assert m is None or title.endswith(f"without site {m.group(1)}"), (nb, title)
    from casereport.pipeline import plan as runs

    planned = {f"build/runs/{r.run_id}.ipynb" for r in runs.plan() if r.notebook != "case_profile"}
    assert set(listed) == planned and len(listed) == len(planned)
    embedded = {e.path for e in checks.shortcodes.find_embeds(INDEX.read_text(encoding="utf-8"))}
    assert embedded <= set(listed)
    # each notebook view's download button: the rendered notebook beside the view, its "--"
    # escaped so pandoc's smart punctuation does not make it an en dash
    for n in cfg["manuscript"]["notebooks"]:
        stem = Path(n["notebook"]).stem
        assert n.get("download-url") == stem.replace("-", "\\-") + ".out.ipynb", n


@pytest.mark.slow
def test_real_article_vars_resolve_in_the_build(built_project):
    """After a full build: every {{< var >}} key of index.qmd is among the variables that
    write_variables makes from build/results/all_results.csv and build/audit.csv."""
    values = checks.build_variables(built_project / "build")
    assert values is not None
    assert checks.check_vars(INDEX, values) == []


def test_check_vars_reports_unknown_keys(tmp_path):
    """A key missing from the variables given is reported once, however often it is used."""
    art = _article(tmp_path, "{{< var a.b >}} {{< var a.c >}} {{< var a.c >}}\n")
    assert checks.check_vars(art, {"a": {"b": "1"}}) == ["var a.c is not in _variables.yml"]


# ------------------------------------------------- the article split into sections (issue 22)

#: The files under sections/ and the one top-level section each holds, in article order.
SECTION_FILES = {
    "sections/enrich.qmd": "ENRICH: engagement and fidelity",
    "sections/retake.qmd": "RETAKE: mentoring time",
    "sections/cross-case.qmd": "Cross-case comparison",
}


def test_each_trial_and_the_cross_case_comparison_is_its_own_file():
    """Issue 22 item 3: index.qmd keeps the front matter and the order and includes each
    section file once, alone on its line (Quarto's rule; checked by _include_layout too);
    each file holds exactly its one ``##`` section, so editing RETAKE never touches ENRICH."""
    import re

    from casereport.report import shortcodes

    own = INDEX.read_text(encoding="utf-8")
    included = [m.group("arg") for m in shortcodes.INCLUDE_RE.finditer(own)]
    assert included == list(SECTION_FILES)
    for name, title in SECTION_FILES.items():
        text = (paths.ROOT / name).read_text(encoding="utf-8")
        heads = re.findall(r"^## +(.+?)\s*(?:\{[^}]*\})?\s*$", text, re.M)
        assert heads == [title], (name, heads)
        assert f"## {title}" not in own
    titles = [t for t, _ in shortcodes.article_sections(INDEX)]
    order = [titles.index(t) for t in SECTION_FILES.values()]
    assert order == sorted(order)
    assert titles.index("Data and methods") < order[0] and order[-1] < titles.index("Limitations")


def test_article_body_quotes_each_number_in_one_section():
    """Issue 22: no number is quoted in more than one section of the article body except
    the summary. Oracle: the ``{{< var >}}`` keys of each top-level section of index.qmd
    with its sections/*.qmd included (the body is Summary to Limitations; the Summary may
    repeat what the sections argue); a key found in two sections is named with both."""
    from collections import defaultdict

    from casereport.report import shortcodes

    sections = shortcodes.article_sections(INDEX)
    titles = [t for t, _ in sections]
    body = sections[titles.index("Summary") + 1 : titles.index("Limitations") + 1]
    assert len(body) >= 6, titles
    where: dict[str, list[str]] = defaultdict(list)
    for title, text in body:
        for key in dict.fromkeys(shortcodes.var_keys(text)):
            where[key].append(title)
    repeated = {k: v for k, v in where.items() if len(v) > 1}
    assert repeated == {}


def test_article_has_one_limitations_section():
    """Issue 22 item 1: one Limitations section, which absorbed "What these data can and
    cannot show"; it quotes no number (each limit's numbers stay where it is argued)."""
    from casereport.report import shortcodes

    sections = dict(shortcodes.article_sections(INDEX))
    assert "What these data can and cannot show" not in sections
    assert list(sections).count("Limitations") == 1
    assert shortcodes.var_keys(sections["Limitations"]) == []


def test_article_sections_split_on_top_level_headings(tmp_path):
    """article_sections on a made-up article with an include: the included file's heading
    starts its own section, attributes are stripped, ``###`` stays inside its section."""
    from casereport.report import shortcodes

    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "b.qmd").write_text("## B {#sec-b}\n\n### B1\n\n{{< var x.y >}}\n")
    art = tmp_path / "index.qmd"
    art.write_text("---\ntitle: t\n---\n\n## A\n\ntext\n\n{{< include sections/b.qmd >}}\n\n"
                   "## C\n")
    got = shortcodes.article_sections(art)
    assert [t for t, _ in got] == ["", "A", "B", "C"]
    assert "### B1" in got[2][1] and shortcodes.var_keys(got[2][1]) == ["x.y"]
