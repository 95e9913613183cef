"""The supplement and the article's references to it, without rendering.

Quarto's side is checked on HTML as Quarto 1.10.18 wrote it for the real supplement
(snippets copied below) and with a stand-in ``quarto`` executable; the real renders are
checked in tests/test_quarto.py (``test_supplement_*``) and the preview in
tests/test_report_preview.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from casereport.primitives import paths
from casereport.report import quarto, supplement

# Copied from _manuscript/supplement/index.html (Quarto 1.10.18): a fragment table, an
# embedded notebook cell (class "cell quarto-float ..."), a numbered section.
_PAGE = """
<section id="sec-profiles" class="level2">
<h2 class="anchored" data-anchor-id="sec-profiles"><span class="supp-number">S2</span> Case profiles</h2>
<div id="tbl-profiles-enrich" class="quarto-float quarto-figure quarto-figure-center anchored">
<figure class="quarto-float quarto-float-tbl figure">
<figcaption class="quarto-float-caption-top figure">Table&nbsp;S1: ENRICH case profiles</figcaption>
<div aria-describedby="tbl-profiles-enrich-caption-0cea"><table id="tbl-profiles-enrich" class="table"></table></div>
</figure></div>
<div id="tbl-theory-map-list" class="cell quarto-float quarto-figure quarto-figure-center anchored" data-tags="[]">
<figure class="quarto-float quarto-float-tbl figure">
<figcaption class="quarto-float-caption-top figure">Table&nbsp;S3: Each mapping of a reason</figcaption>
</figure></div>
<div id="fig-x" class="quarto-float quarto-figure"><figure><figcaption>Figure S1: A figure</figcaption></figure></div>
<div id="tbl-quarto-float-free" class="cell"></div>
</section>
"""  # noqa: E501


def test_numbers_are_read_from_the_rendered_supplement():
    """Each float by the start of its caption, each section by its S-number; a div that
    is not a Quarto float (no quarto-float class) is no entry."""
    assert supplement.supplement_numbers(_PAGE) == {
        "tbl-profiles-enrich": "Table S1",
        "tbl-theory-map-list": "Table S3",
        "fig-x": "Figure S1",
        "sec-profiles": "Supplement section S2",
    }


def test_preview_numbers_top_level_sections_as_the_filter_does():
    """Level-2 headings get S1, S2, ... in order (as _quarto/supplement.lua); .unnumbered
    ones and a heading inside a code block are skipped; deeper headings are left alone."""
    text = (
        "## Data {#sec-data}\n\ntext\n\n#### file.csv {.unnumbered}\n\n"
        "```\n## not a heading {#sec-no}\n```\n\n## Notes {.unnumbered}\n\n"
        "## Audit {#sec-audit-all}\n"
    )
    out, numbers = supplement.number_sections(text)
    assert numbers == {"sec-data": "Supplement section S1",
                       "sec-audit-all": "Supplement section S2"}  # fmt: skip
    assert "## S1 Data {#sec-data}" in out and "## S2 Audit {#sec-audit-all}" in out
    assert "## not a heading {#sec-no}" in out and "## Notes {.unnumbered}" in out


def test_preview_resolves_references_and_reports_unknown_labels():
    """A known label becomes a link with its number; an unknown one a visible marker and
    a problem naming the label."""
    problems: list[str] = []
    text = 'See []{.supp ref="tbl-a"} and []{.supp ref="tbl-nope"}.'
    out = supplement.resolve_refs(text, {"tbl-a": "Table S3"}, "sup.html", problems)
    assert out == "See [Table S3](<sup.html#tbl-a>){.supp-ref} and **?supp:tbl-nope**."
    assert len(problems) == 1 and "tbl-nope" in problems[0]


def test_filter_warning_is_read_from_the_log():
    """quarto.log.warning in a Lua filter prints "(W) ..." (as the real render printed it
    for an unknown label): a warning, so --strict fails on it."""
    log = "(W) supplement reference: the supplement has no table, figure or section 'tbl-x'\n"
    assert quarto.warnings(log) == [log.strip()]


def test_stage_copies_fragments_and_embedded_notebooks(tmp_path):
    """supplement/build/ gets build/fragments/ and the notebooks the supplement embeds,
    nothing else (another run stays out)."""
    root = tmp_path
    (root / "supplement").mkdir()
    (root / "supplement" / "index.qmd").write_text(
        "---\ntitle: S\n---\n\n{{< embed build/runs/a--primary.ipynb#tbl-x >}}\n")
    (root / "build" / "runs").mkdir(parents=True)
    (root / "build" / "fragments").mkdir()
    (root / "build" / "fragments" / "audit_all.md").write_text("x\n")
    (root / "build" / "runs" / "a--primary.ipynb").write_text("{}")
    (root / "build" / "runs" / "b--primary.ipynb").write_text("{}")
    stage = supplement.stage_supplement(root)
    got = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    assert got == ["fragments/audit_all.md", "runs/a--primary.ipynb"]


def _fake_quarto(tmp_path: Path, page: str) -> None:
    """A stand-in quarto: --version prints 1.10.18; `render DIR` run in a supplement
    writes _output/index.html (``page``) and index.pdf there and warns once."""
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    (tmp_path / "page.html").write_text(page)
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo 1.10.18; exit 0; fi\n'
        'case "$(pwd)" in *supplement) mkdir -p _output; '
        f'cp {tmp_path / "page.html"} _output/index.html; touch _output/index.pdf;; esac\n'
        "echo 'WARN (x.lua:1) something' >&2\n"
    )
    fake.chmod(0o755)


def test_render_renders_the_supplement_first_and_writes_its_numbers(monkeypatch, tmp_path):
    """With supplement/ in the project, render() renders it (the stand-in writes the
    page above), writes supplement/_output/numbers.json from that page, and returns the
    supplement's warning (prefixed) and the article's; strict raises on them."""
    root = tmp_path / "project"
    (root / "supplement").mkdir(parents=True)
    (root / "supplement" / "_quarto.yml").write_text("project: {type: default}\n")
    (root / "supplement" / "index.qmd").write_text("---\ntitle: S\n---\n\ntext\n")
    (root / "build" / "fragments").mkdir(parents=True)
    _fake_quarto(tmp_path, _PAGE)
    monkeypatch.setattr(paths, "ROOT", root)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    found = quarto.render(tmp_path / "out")
    assert found == ["supplement: WARN (x.lua:1) something", "WARN (x.lua:1) something"]
    numbers = json.loads((root / "supplement" / "_output" / "numbers.json").read_text())
    assert numbers == supplement.supplement_numbers(_PAGE)
    with pytest.raises(quarto.QuartoError, match="supplement: WARN"):
        quarto.render(tmp_path / "out", strict=True)


def test_project_supplement_is_a_default_project_with_s_numbering():
    """supplement/_quarto.yml: a default project rendering index.qmd into _output, HTML
    and Typst; in HTML the float titles are "Table S"/"Figure S" with no space before the
    number; in Typst the figure numbering prints "S" before the number; its subtitle is
    the article's title."""
    import yaml

    cfg = yaml.safe_load((paths.ROOT / "supplement" / "_quarto.yml").read_text())
    assert cfg["project"] == {"type": "default", "render": ["index.qmd"], "output-dir": "_output"}
    html_cfg, typst_cfg = cfg["format"]["html"], cfg["format"]["typst"]
    cross = html_cfg["crossref"]
    assert cross["tbl-title"] == "Table S" and cross["fig-title"] == "Figure S"
    assert {c["key"]: c["space-before-numbering"] for c in cross["custom"]} == {
        "tbl": False, "fig": False}  # fmt: skip
    header = "".join(h.get("text", "") for h in typst_cfg["include-in-header"])
    assert '#set figure(numbering: n => "S" + str(n))' in header
    sup = (paths.ROOT / "supplement" / "index.qmd").read_text()
    art = (paths.ROOT / "index.qmd").read_text()
    assert yaml.safe_load(sup.split("---")[1])["subtitle"] == yaml.safe_load(
        art.split("---")[1])["title"]  # fmt: skip


def test_every_audit_check_shows_its_quote_and_reading():
    """The supplement's audit table: a claim's row carries the words of
    data/published_claims.yaml (retake_n_sites: "Forty-one OTs across 16 sites ...") and
    its reading, if any; a derived cell's row has neither; published → recomputed in one
    column."""
    import pandas as pd

    from casereport.report import fragments

    quotes = fragments.claim_quotes()
    assert quotes["retake_n_sites"].startswith("Forty-one OTs across 16 sites")
    audit = pd.DataFrame([
        {"id": "retake_n_sites", "source": "Craven 2021", "site": "", "quantity": "sites",
         "published": "16", "recomputed_rounded": "16", "status": "reproduced", "reading": ""},
        {"id": "cell", "source": "Table 2", "site": "1", "quantity": "pct", "published": "96",
         "recomputed_rounded": "96", "status": "reproduced", "reading": "read as a share"},
    ])  # fmt: skip
    text = fragments.audit_all_md(audit, quotes)
    rows = [ln.replace("\\", "") for ln in text.splitlines() if ln.startswith("| ")]  # unescaped
    assert "quote and reading" in rows[0] and "published → recomputed" in rows[0]
    assert "“Forty-one OTs across 16 sites" in rows[1] and "16 → 16" in rows[1]
    assert rows[2].rstrip(" |").endswith("Reading: read as a share")
    assert text.rstrip().endswith("{#tbl-audit-all}")


def test_supplement_embeds_cells_the_notebooks_define():
    """Every embed of supplement/index.qmd names a source notebook with that cell label
    (checks.check_embed_sources, as for the article), and the article no longer embeds
    the tables the supplement holds (each float lives in one document)."""
    from casereport.report import checks, shortcodes

    sup = paths.ROOT / "supplement" / "index.qmd"
    assert checks.check_embed_sources(sup) == []
    body = lambda p: shortcodes.strip_front_matter(p.read_text(encoding="utf-8"))  # noqa: E731
    in_sup = {e.ident for e in shortcodes.find_embeds(body(sup))}
    in_art = {e.ident for e in shortcodes.find_embeds(body(paths.ROOT / "index.qmd"))}
    assert in_sup >= {"tbl-theory-map-list", "tbl-qca-enrich-sweep", "tbl-qca-enrich-fuzzy",
                      "tbl-qca-enrich-sweep-negated", "tbl-qca-enrich-minimisation"}  # fmt: skip
    assert in_sup & in_art == set()
