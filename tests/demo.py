"""A tiny but real build for trying the report layer without the full pipeline.

:func:`make_demo_build` writes two small notebooks (an analysis with a table and a figure,
and a case profile) and executes them with papermill, so their outputs are produced by a
kernel, exactly as the build's are; nothing is typed in by hand. The tests use it, and so
can a person: ``python -m tests.demo /tmp/demo`` (from the project root) writes a preview
there. Test scaffolding: it lives in tests/, not in the package.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import nbformat
import papermill

from casereport.primitives.labels import RAN

ANALYSIS = "demo_analysis"
PROFILE = "case_profile"
DEFAULT_SITES = [
    {"site": "1", "location": "Urban", "engaged": 61, "fidelity": 10.4},
    {"site": "2", "location": "Town/rural", "engaged": 39, "fidelity": 11.0},
    {"site": "3", "location": "Urban/rural", "engaged": 27, "fidelity": 11.2},
]

_SETUP = """\
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
"""

_ANALYSIS_CELLS = [
    ("parameters", 'sites_csv = "sites.csv"  # site table\nparameter_set = "primary"'),
    ("", _SETUP + "sites = pd.read_csv(sites_csv, dtype={'site': str})"),
    (
        "",
        "#| label: tbl-demo-sites\n#| tbl-cap: Demo sites (HTML table output)\n"
        "sites[['site', 'location', 'engaged']]",
    ),
    (
        "",
        "#| label: tbl-demo-md\n#| tbl-cap: Demo sites (Markdown output, not escaped)\n"
        "display(Markdown(sites[['site', 'location']].to_markdown(index=False)))",
    ),
    (
        "",
        "#| label: fig-demo-scatter\n#| fig-cap: Engagement against fidelity\n"
        "#| fig-alt: Scatter plot of engaged participants against fidelity score by site\n"
        "fig, ax = plt.subplots(figsize=(4, 3))\n"
        "ax.scatter(sites['fidelity'], sites['engaged'])\n"
        "ax.set_xlabel('fidelity'); ax.set_ylabel('engaged')\nplt.show()",
    ),
    ("", "print('done')"),
]

_PROFILE_CELLS = [
    (
        "parameters",
        'sites_csv = "sites.csv"\ntrial = "enrich"\nsite = "1"\nparameter_set = "enrich-1"',
    ),
    (
        "",
        _SETUP + "row = pd.read_csv(sites_csv, dtype={'site': str}).set_index('site').loc[site]",
    ),
    (
        "",
        "#| label: profile-summary\n"
        "display(Markdown(f'| quantity | value |\\n|:--|--:|\\n'\n"
        "                 f'| engaged | {row.engaged} |\\n| fidelity | {row.fidelity} |'))",
    ),
    (
        "",
        "#| label: profile-figure\n#| fig-cap: Engaged participants at this site\n"
        "fig, ax = plt.subplots(figsize=(3, 2))\nax.bar(['engaged'], [row.engaged])\nplt.show()",
    ),
]


def _notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for tag, src in cells:
        cell = nbformat.v4.new_code_cell(src)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    return nb


def write_sites(path: Path, sites: list[dict] | None = None) -> Path:
    sites = sites or DEFAULT_SITES
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(sites[0]))
        w.writeheader()
        w.writerows(sites)
    return path


def make_demo_build(build_dir: Path, sites: list[dict] | None = None, profiles: int = 2) -> dict:
    """Execute the demo notebooks into ``build_dir/runs``; return a manifest-like dict."""
    build_dir = Path(build_dir)
    src = build_dir.parent / "demo-notebooks"
    src.mkdir(parents=True, exist_ok=True)
    (build_dir / "runs").mkdir(parents=True, exist_ok=True)
    sites_csv = write_sites(src / "sites.csv", sites)
    runs = []
    jobs = [(ANALYSIS, "primary", _ANALYSIS_CELLS, {"sites_csv": str(sites_csv)})]
    for row in (sites or DEFAULT_SITES)[:profiles]:
        ps = f"enrich-{row['site']}"
        params = {"sites_csv": str(sites_csv), "trial": "enrich", "site": str(row["site"])}
        jobs.append((PROFILE, ps, _PROFILE_CELLS, {**params, "parameter_set": ps}))
    for name, ps, cell_list, params in jobs:
        nb_path = src / f"{name}.ipynb"
        nbformat.write(_notebook(cell_list), nb_path)
        run_id = f"{name}--{ps}"
        papermill.execute_notebook(
            str(nb_path),
            str(build_dir / "runs" / f"{run_id}.ipynb"),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(src),
        )
        runs.append(
            {
                "run_id": run_id,
                "notebook": name,
                "parameter_set": ps,
                "parameters": params,
                "status": RAN,
            }
        )
    return {"runs": runs, "data_dir": str(src)}


DEMO_ARTICLE = """\
---
title: "Demo article"
author:
  - name: Demo Author
date: today
---

## Summary {#sec-summary}

Engagement was {{< var demo.engaged_mean >}} on average (@fig-demo-scatter, @tbl-demo-sites)
as reported before [@gillard2024implementing].

{{< embed build/runs/demo_analysis--primary.ipynb#tbl-demo-sites >}}

{{< embed build/runs/demo_analysis--primary.ipynb#fig-demo-scatter >}}

{{< embed build/runs/demo_analysis--primary.ipynb#tbl-demo-md >}}

See @tbl-demo-md and @sec-summary.

## Appendix

{{< include build/fragments/case_appendix.md >}}

## References

::: {#refs}
:::
"""


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience
    from casereport.primitives import paths
    from casereport.report import fragments, preview

    out = Path((argv or sys.argv[1:] or ["demo-preview"])[0]).resolve()
    manifest = make_demo_build(out / "build")
    fragments.write_fragments(out / "build", None, None, manifest)
    art = out / "index.qmd"
    art.write_text(DEMO_ARTICLE, encoding="utf-8")
    (out / "references.bib").write_text(
        (paths.ROOT / "references.bib").read_text(encoding="utf-8"), encoding="utf-8"
    )
    html = preview.render_preview(
        out / "build", out / "preview.html", article=art, variables={"demo": {"engaged_mean": "42"}}
    )
    print(html)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
