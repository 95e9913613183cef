"""The project's own notebooks on a data set whose ENRICH site 1 location is
``<script>window.__pwned=1</script>``, rendered as a preview and opened in Chromium.

The executed notebooks are made here with papermill from notebooks/ (the same way the
build runs them); the article embeds the site table, the scatter and site 1's profile,
the places a location name is shown. Expected: the text is visible, the script never runs."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import papermill
import pytest

from casereport.primitives import paths
from casereport.report import checks, preview
from tests.test_report_support import SCRIPT_LOCATION, inspect_page, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTICLE = """\
---
title: Script in a location
---

## Sites {#sec-sites}

@tbl-enrich-sites and @fig-enrich-scatter [@gillard2024implementing].

{{< embed build/runs/engagement_fidelity--primary.ipynb#tbl-enrich-sites >}}

{{< embed build/runs/engagement_fidelity--primary.ipynb#fig-enrich-scatter >}}

{{< embed build/runs/engagement_fidelity--primary.ipynb#tbl-enrich-cases >}}

{{< embed build/runs/case_profile--enrich-1.ipynb#profile-summary >}}

{{< embed build/runs/case_profile--enrich-1.ipynb#profile-figure >}}

::: {#refs}
:::
"""


def _run(nb: str, out, params: dict) -> None:
    papermill.execute_notebook(
        str(paths.NOTEBOOKS_DIR / f"{nb}.ipynb"),
        str(out),
        parameters=params,
        kernel_name=paths.KERNEL_NAME,
        progress_bar=False,
        cwd=str(paths.ROOT),
    )


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    for nb in ("engagement_fidelity", "case_profile"):
        if not (paths.NOTEBOOKS_DIR / f"{nb}.ipynb").is_file():
            pytest.skip(f"notebooks/{nb}.ipynb not there yet")
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(paths.DATA_DIR, data)
    enrich = pd.read_csv(data / "enrich" / "enrich_sites.csv", dtype=str, keep_default_na=False)
    enrich.loc[enrich["site"] == "1", "location"] = SCRIPT_LOCATION
    enrich.to_csv(data / "enrich" / "enrich_sites.csv", index=False)
    build = root / "build"
    (build / "runs").mkdir(parents=True)
    common = {
        "enrich_csv": str(data / "enrich" / "enrich_sites.csv"),
        "results_dir": str(root / "res"),
    }
    jobs = [
        ("engagement_fidelity", build / "runs" / "engagement_fidelity--primary.ipynb", common),
        (
            "case_profile",
            build / "runs" / "case_profile--enrich-1.ipynb",
            {
                **common,
                "trial": "enrich",
                "site": "1",
                "parameter_set": "enrich-1",
                "retake_csv": str(data / "retake" / "retake_sites.csv"),
                "factors_csv": str(data / "retake" / "retake_site_factors.csv"),
            },
        ),
    ]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda j: _run(*j), jobs))
    art = root / "index.qmd"
    art.write_text(ARTICLE, encoding="utf-8")
    shutil.copyfile(paths.ROOT / "references.bib", root / "references.bib")
    return build, art


def test_embeds_resolve_in_the_hostile_build(hostile_build):
    """The labels embedded above exist in the notebooks' executed copies."""
    build, art = hostile_build
    assert checks.check_embeds(art, build) == []


def test_script_location_is_text_in_the_real_notebooks_preview(hostile_build):
    """No console errors; every image decodes (scatter + profile figure: 2); the location
    shows as text at least once; window.__pwned stays undefined; no <script> in the file."""
    require_chromium()
    build, art = hostile_build
    out = preview.render_preview(build, build / "report-preview.html", article=art, variables={})
    assert "<script" not in out.read_text(encoding="utf-8").lower()
    info = inspect_page(out, build / "report-preview-hostile.png")
    assert info["errors"] == [] and info["broken_images"] == []
    assert info["missing_targets"] == []
    assert info["n_images"] == 2
    assert info["pwned"] is None
    assert SCRIPT_LOCATION in info["text"]
