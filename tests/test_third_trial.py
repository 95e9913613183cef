"""A third trial added with data only: a copy of ENRICH's folder under another code, with
place names as site ids and 9 sites, built for real (issue 20, item 3).

The copy starts from the session build's cache; only the new trial's runs execute, since
no other run reads its folder. Expected values: the 7 copied sites keep ENRICH's numbers
(Gillard 2024, Table 2) and the two added ones are copies of sites 1 and 5 with one person
engaged fewer (tests/project.py: add_third_trial).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from casereport.primitives import paths
from tests.project import THIRD_SITES, add_third_trial, casereport, copy_built, statuses

pytestmark = pytest.mark.slow


def _tree(root: Path, names: tuple[str, ...]) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for name in names
        for p in sorted((root / name).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def third(built_project, tmp_path_factory) -> Path:
    root = copy_built(built_project, tmp_path_factory.mktemp("third") / "project")
    add_third_trial(root)
    out = casereport(root, "build", "--no-render", "--jobs", "2", quarto=False, timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return root


def test_no_code_changes(third):
    """Only data/ differs from the project: src/, notebooks/, _quarto/ and params/ are the
    same bytes (what `git status` would show as unchanged)."""
    names = ("src", "notebooks", "_quarto", "params")
    assert _tree(third, names) == _tree(paths.ROOT, names)


def test_only_the_new_trials_runs_execute(third):
    """Every run of the new trial ran (its shape's notebook under the trial's code, one case
    profile per site); the runs of ENRICH and RETAKE came from the cache."""
    st = statuses(third)
    mine = {r for r in st if "peers" in r}
    assert mine == {"engagement_fidelity--peers-primary"} | {
        f"case_profile--peers-{s}" for s in THIRD_SITES}
    assert {st[r] for r in mine} == {"ran"}
    assert {st[r] for r in st if r not in mine} == {"cached"}


def test_the_shape_notebook_analysed_its_nine_text_sites(third):
    """The engagement-fidelity notebook read the new trial's table: 9 sites by place name,
    Camden's engagement 27/34 (ENRICH site 3's row, Gillard 2024 Table 2) and the added
    Hythe's 60/89 (site 1's 61 engaged of 89, one fewer)."""
    res = pd.read_csv(third / "build" / "results" / "engagement_fidelity--peers-primary.csv")
    assert set(res["parameter_set"]) == {"peers-primary"}
    t2 = res[res["analysis"] == "enrich_table2"].set_index("quantity")["estimate"]
    assert t2["pct_engaged_site_camden"] == pytest.approx(100 * 27 / 34)
    assert t2["pct_engaged_site_hythe"] == pytest.approx(100 * 60 / 89)
    sites = {q.rsplit("_site_", 1)[1] for q in t2.index if q.startswith("pct_engaged_site_")}
    assert sites == {s.lower() for s in THIRD_SITES}


def test_case_profiles_and_their_table(third):
    """One case profile per site under the trial's code, and a table of them named by the
    trial's name (from its trial.yaml) in the case appendix."""
    results = third / "build" / "results"
    for site in THIRD_SITES:
        assert (results / f"case_profile--peers-{site}.csv").is_file(), site
    appendix = (third / "build" / "fragments" / "case_appendix.md").read_text(encoding="utf-8")
    assert ": PEERS case profiles:" in appendix and "{#tbl-profiles-peers}" in appendix
    assert all(f"| {s} " in appendix for s in THIRD_SITES)


def test_diff_lists_the_new_trials_results(third, built_project, tmp_path):
    """`casereport diff` from the two-trial build to this one: the new results are added,
    none of ENRICH's or RETAKE's moved (exit 1: there are changes)."""
    out = casereport(third, "diff", str(built_project / "build"), str(third / "build"),
                     "--csv", str(tmp_path / "d.csv"), quarto=False)
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    d = pd.read_csv(tmp_path / "d.csv", dtype=str, keep_default_na=False)
    added = d[d["category"] == "added"]
    assert added["where"].str.contains("case_profile_peers").any()
    assert added["where"].str.contains(r"\[peers-primary\]").any()
    assert not (d["category"].isin(["moved", "conclusion"])).any()


def _section(root: Path) -> str:
    return (root / "build" / "fragments" / "trial-sections.md").read_text(encoding="utf-8")


def test_the_new_trial_gets_a_section_from_its_shapes_template(third):
    """data/peers/ has no sections/peers.qmd, so the build writes its section from
    sections/templates/engagement_fidelity.md: its heading names the trial (trial.yaml
    `name: PEERS`), its floats carry labels made per trial with captions naming it, the
    figure's image is written beside the fragment with alt text, and no word of it is
    ENRICH's."""
    text = _section(third)
    assert text.startswith("## PEERS: engagement and fidelity {#sec-peers}")
    for label in ("tbl-peers-sites", "tbl-peers-estimands", "tbl-peers-cases"):
        caption = next(line for line in text.splitlines() if line.endswith(f"{{#{label}}}"))
        assert caption.startswith(": ") and " PEERS " in caption, caption
    figure = next(line for line in text.splitlines() if "{#fig-peers-scatter" in line)
    assert figure.startswith("![Engagement against site fidelity score, one point per PEERS")
    assert 'fig-alt="Scatter plot' in figure
    assert (third / "build" / "fragments" / "trial-sections" / "fig-peers-scatter.png").is_file()
    assert "ENRICH" not in text and "tbl-enrich" not in text and ":::" not in text


def test_the_sections_numbers_are_its_results(third):
    """Each number in the section's sentences is its results csv value
    (build/results/engagement_fidelity--peers-primary.csv) formatted by
    casereport.primitives.format;
    the case selection lists the sites the results classify (Camden, Ealing, Ilford
    high-high: ENRICH sites 3 and 5 and the copy of 5 with one fewer engaged, 75%)."""
    from casereport.analyses.engagement_fidelity.claims import null_value
    from casereport.primitives import format as fmt

    res = pd.read_csv(third / "build" / "results" / "engagement_fidelity--peers-primary.csv")
    row = res.set_index(["analysis", "quantity"]).loc
    text = " ".join(_section(third).split())
    assert f"each of the {fmt.number(row['enrich_table2', 'n_sites']['estimate'])} PEERS" in text
    p = row["enrich_primary", "estimate"]
    est, lo, hi = fmt.estimate(p["estimate"], p["ci_low"], p["ci_high"])
    assert f"was {est} (confidence interval {lo} to {hi}; {fmt.p_relation(p['p_value'])})" in text
    null = null_value(row["enrich_primary", "key"]["label"])
    verb = "includes" if p["ci_low"] <= null <= p["ci_high"] else "excludes"
    assert f"its interval {verb} no association" in text
    s = row["enrich_association", "ols_slope"]
    est, lo, hi = fmt.estimate(s["estimate"], s["ci_low"], s["ci_high"])
    assert f"slope was {est} percentage points per fidelity point ({lo} to {hi};" in text
    assert "3 sites high engagement, high fidelity (Camden, Ealing and Ilford)" in text
    assert f"{fmt.number(row['enrich_cases', 'n_outlier']['estimate'])} site outlier" in text


def test_the_preview_numbers_and_shows_the_section(third, tmp_path):
    """The no-Quarto preview (report/preview.py) of the third-trial build fills the fragment:
    the heading, the figure as an inlined image with its alt text, and the cross-references
    resolved to numbered tables and figures (no ?@ left)."""
    import re

    from casereport.report import preview

    out = preview.render_preview(third / "build", tmp_path / "p.html",
                                 article=third / "index.qmd")
    html = out.read_text(encoding="utf-8")
    section = html[html.index('id="sec-peers"'):]
    assert "PEERS: engagement and fidelity" in section
    img = re.search(r'<figure id="fig-peers-scatter">\s*<img [^>]*>', section)
    assert img and "Scatter plot with site fidelity" in img.group(0)
    assert 'src="data:image/png;base64,' in img.group(0)
    assert re.search(r'<a href="#fig-peers-scatter">Figure \d+</a>', section)
    assert re.search(r'<a href="#tbl-peers-cases">Table \d+</a>', section)
    assert "?\\@" not in section and "?@" not in section and "ENRICH" not in section.split(
        'id="sec-crosscase"')[0]


def test_the_real_data_get_no_generated_section(built_project):
    """ENRICH and RETAKE have their own sections (sections/enrich.qmd, sections/retake.qmd),
    so the two-trial build writes an empty trial-sections fragment and no image."""
    assert _section(built_project) == ""
    assert not (built_project / "build" / "fragments" / "trial-sections").exists()


@pytest.fixture(scope="module")
def rendered(third, built_project) -> Path:
    """The third-trial project rendered once with Quarto (HTML and Typst PDF); the runs come
    from the module's build. The copy holds the session build's manuscript, as a project
    rendered before the trial was added does: the new trial changes the article, not one
    of the notebook views (their executed notebooks come from the cache unchanged), so
    every view is copied from it and only the article renders. Skipped without `quarto` on
    PATH."""
    import shutil

    from casereport.report import quarto, views

    if quarto.find_quarto() is None:
        pytest.skip("quarto is not on PATH")
    shutil.copytree(built_project / "_manuscript", third / "_manuscript")
    out = casereport(third, "build", "--jobs", "2", "--strict", timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    n = len(views.manuscript(third)[1])  # the notebooks _quarto.yml lists (six)
    said = " ".join(out.stdout.split())
    assert f"notebook views: {n} of {n} unchanged" in said, out.stdout[-3000:]
    return third / "_manuscript"


@pytest.mark.quarto
def test_quarto_shows_the_section_in_html_and_pdf(rendered):
    """In Quarto's HTML the section's heading, its numbered figure (the image copied beside
    the page, with its alt text) and resolved cross-references; in the Typst PDF the same
    heading and captions; neither has raw Markdown or an unresolved reference."""
    import re
    import subprocess

    page = (rendered / "index.html").read_text(encoding="utf-8")
    section = page[page.index('id="sec-peers"'):page.index('id="sec-crosscase"')]
    assert "PEERS: engagement and fidelity" in section
    img = re.search(r'<img [^>]*src="(build/fragments/trial-sections/fig-peers-scatter\.png)"'
                    r'[^>]*>', section)
    assert img and "Scatter plot with site fidelity" in img.group(0)
    assert (rendered / img.group(1)).is_file()
    assert re.search(r'href="#fig-peers-scatter"[^>]*>Figure&nbsp;\d+', section)
    assert re.search(r'href="#tbl-peers-cases"[^>]*>Table&nbsp;\d+', section)
    assert "?@" not in section and ":::" not in section and "ENRICH" not in section
    pdf = subprocess.run(["pdftotext", str(rendered / "index.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    pdf = " ".join(pdf.split())
    assert "PEERS: engagement and fidelity" in pdf and "?@" not in pdf
    assert re.search(r"Table \d+: PEERS site characteristics", pdf)
    assert re.search(r"Figure \d+: Engagement against site fidelity score, one point per PEERS",
                     pdf)
