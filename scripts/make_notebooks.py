# ruff: noqa: E501  (captions are long strings; the notebooks get them folded)
"""Write notebooks/*.ipynb (thin, parametrised, no outputs) from the cell lists below.

The committed notebooks are the source of truth; this script is a convenience for
regenerating them consistently. Run: ``.venv/bin/python scripts/make_notebooks.py``.
If you edit a notebook in JupyterLab, either keep editing it there or port the change
here before regenerating (the script overwrites the files).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"name": "casereport", "display_name": "Python (casereport)", "language": "python"}

SETUP = """\
from casereport import data, figures, results, tables
from casereport.notebook_setup import setup

setup()
res = results.Results()  # every displayed estimate, written at the end"""

CUTOFF_PARAMS = """\
high_engagement: float = 70.0  # case selection: engagement % at or above this is high
low_engagement: float = 60.0  # engagement % at or below this is low
high_fidelity: float = 10.5  # fidelity score at or above this is high
low_fidelity: float = 9.5  # fidelity score at or below this is low"""

COMMON_PARAMS = """\
results_dir: str = "build/results"  # folder for the tidy results CSV (root-relative or absolute)
parameter_set: str = "primary"  # name of the parameter set (params/<notebook>/<set>.yaml)"""

MENTORING_PARAMS = """\
expected_minutes_per_month: float = 60.0  # planned mentoring per site per month (minutes)
tolerance_minutes: float = 10.0  # within +/- this of expected counts as close to expected"""


def _wrap_options(source: str) -> str:
    """Fold long ``#| key: "text"`` cell options into YAML block scalars (``>-``), so every
    line stays under 100 characters (ruff checks notebooks too)."""
    out = []
    for line in source.splitlines():
        m = re.match(r'^#\| ([\w-]+): "(.*)"$', line)
        if m and len(line) > 95:
            out.append(f"#| {m.group(1)}: >-")
            out += ["#|   " + chunk for chunk in textwrap.wrap(m.group(2), 90)]
        else:
            out.append(line)
    return "\n".join(out)


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text)


def code(text: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(_wrap_options(text))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def params(text: str) -> nbformat.NotebookNode:
    return code(text, ["parameters"])


def write(name: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    for i, c in enumerate(nb.cells):
        c["id"] = str(i)  # deterministic ids, as nbstripout writes them
    path = ROOT / "notebooks" / f"{name}.ipynb"
    nbformat.write(nb, path)
    print("wrote", path.relative_to(ROOT))


ENGAGEMENT = [
    md(
        "# Engagement versus fidelity (ENRICH)\n\n"
        "Reproduces Table 2 and Fig. 1 of Gillard et al. (2024) from the site table, adds "
        "exact intervals, association models, leave-one-site-out refits and influence, and "
        "reproduces the case selection. Run top to bottom; change the parameters below (or "
        "pass them with papermill) to analyse another trial."
    ),
    params(
        f"""\
enrich_csv: str = "data/enrich_sites.csv"  # ENRICH site table, path relative to the project root
exclude_sites: list[str] = []  # site ids left out of every analysis, e.g. ["2"]
engaged_from_published_pct: list[str] = []  # sites: engaged count from the published %
{CUTOFF_PARAMS}
ci_level: float = 0.95  # confidence level of every interval
seed: int = 20240601  # permutation seed (used only above 8 sites, where p is Monte Carlo)
{COMMON_PARAMS}"""
    ),
    code(
        SETUP
        + """
cutoffs = dict(high_engagement=high_engagement, low_engagement=low_engagement,
               high_fidelity=high_fidelity, low_fidelity=low_fidelity)
enrich = results.prepare_enrich(data.load_enrich(enrich_csv), exclude_sites,
                                engaged_from_published_pct)"""
    ),
    md("## Site characteristics (Table 2)"),
    code(
        """\
#| label: tbl-enrich-sites
#| tbl-cap: "ENRICH site characteristics (Table 2 of Gillard et al. 2024) reproduced from the data. The n (%) cells are as published; each Recomputed % column recomputes the percentage beside it from its counts, rounded half up (≠: differs from the published value)."
res.extend(results.enrich_table2_rows(enrich, ci_level))
tables.show(tables.enrich_sites(enrich))"""
    ),
    md("## Engagement against fidelity (Fig. 1)"),
    code(
        """\
assoc = results.enrich_association(enrich, ci_level, seed)
res.extend(results.enrich_association_rows(assoc))"""
    ),
    code(
        """\
#| label: fig-enrich-scatter
#| fig-cap: "Engagement with peer support against site fidelity score, one point per ENRICH site (Fig. 1 of Gillard et al. 2024 reproduced). Vertical lines: exact (Clopper–Pearson) confidence intervals for each site's engagement; point size: participants with engagement data; colour: peer worker employer; marker: location. Dotted line: illustrative unweighted least-squares line of best fit, with its confidence band (grey)."
#| fig-alt: "Scatter plot with site fidelity score on the horizontal axis and the percentage of participants engaged with peer support on the vertical axis. Each site is a labelled point with a vertical interval; a dotted line rises from lower left to upper right with a grey band around it. One high-fidelity site lies well below the line."
figures.show(figures.enrich_scatter(enrich, assoc["ols"], ci_level))"""
    ),
    md(
        "## Association models\n\n"
        "Correlations with exact permutation p-values; unweighted OLS of engagement % on "
        "fidelity (each site counts once); a binomial GLM on the counts (participants within "
        "sites), with quasi-binomial errors when the Pearson dispersion exceeds 1."
    ),
    code(
        """\
#| label: tbl-enrich-models
#| tbl-cap: "Association between site fidelity and engagement in ENRICH: permutation correlations, unweighted OLS, binomial GLM (odds ratio per fidelity point, quasi-binomial errors when overdispersed) and the most influential site."
tables.show(tables.enrich_models(res.frame(), ci_level, results.most_influential_site(assoc)))"""
    ),
    md("## Leave one site out and influence"),
    code(
        """\
loo = results.enrich_loo(enrich, ci_level, seed)
res.extend(results.enrich_loo_rows(loo))"""
    ),
    code(
        """\
#| label: tbl-enrich-loo
#| tbl-cap: "Leave-one-site-out refits of the unweighted OLS slope (percentage points per fidelity point), the binomial GLM odds ratio and the Pearson correlation, with each site's Cook's distance in the full OLS fit."
tables.show(tables.enrich_loo(loo, ci_level))"""
    ),
    md("## Case selection"),
    code(
        """\
cases = results.enrich_cases(enrich, cutoffs)
res.extend(results.enrich_cases_rows(cases, cutoffs))"""
    ),
    code(
        """\
#| label: tbl-enrich-cases
#| tbl-cap: "Case selection reproduced from the data: high engagement–high fidelity, low engagement–low fidelity and discordant (outlier) sites. Engagement is recomputed from the counts; the cut-offs are notebook parameters."
tables.show(tables.enrich_cases(cases, cutoffs))"""
    ),
    code(
        """\
print("Cut-offs:", tables.cutoff_text(cutoffs))
results.write_results(res, results_dir, f"engagement_fidelity--{parameter_set}", parameter_set)"""
    ),
]

MENTORING = [
    md(
        "# Mentoring time (RETAKE)\n\n"
        "Reproduces Table 3 of Craven et al. (2021) with totals and recomputed columns, "
        "groups sites against the expected monthly mentoring, and relates mentoring time to "
        "the site factors (rate models) and to caseload (rank correlations)."
    ),
    params(
        f"""\
retake_csv: str = "data/retake_sites.csv"  # RETAKE site table, path relative to the project root
factors_csv: str = "data/retake_site_factors.csv"  # site factors (long format), same convention
{MENTORING_PARAMS}
rate_family: str = "quasipoisson"  # rate model: "quasipoisson" or "negbin"
ci_level: float = 0.95  # confidence level of every interval
seed: int = 20240601  # Monte Carlo permutation seed (fixed for reproducibility)
n_resamples: int = 10000  # Monte Carlo permutations for the rank correlations
{COMMON_PARAMS}"""
    ),
    code(
        SETUP
        + """
retake = results.prepare_retake(data.load_retake(retake_csv), data.load_factors(factors_csv))
groups = results.retake_groups(retake, expected_minutes_per_month, tolerance_minutes)
res.extend(results.retake_groups_rows(retake, groups, expected_minutes_per_month,
                                      tolerance_minutes))"""
    ),
    md("## Mentoring per site (Table 3)"),
    code(
        """\
#| label: tbl-retake-sites
#| tbl-cap: "Mentoring provided to OTs at RETAKE sites (Table 3 of Craven et al. 2021) reproduced from the data. Months: months in study to 1 April 2020; Minutes: total mentoring by phone/Teams and email; Phone/Teams: % of it by phone or Teams; Participants: ESSVR participants; OTs: OTs delivering the intervention. Recomputed averages stand beside the published ones (rounded half up; ≠: differs), followed by minutes per participant and per OT, the site's group against the expected monthly mentoring, and totals (sums; ratios of sums). As the paper notes, sessions were shared by two sites, so the minutes total overstates the mentoring time delivered."
res.extend(results.retake_table3_rows(retake))
tables.show(tables.retake_sites(retake, groups))"""
    ),
    code(
        """\
#| label: fig-retake-minutes
#| fig-cap: "Average mentoring minutes per month at each RETAKE site against the expected amount (dashed line; grey band: tolerance counted as close to expected), sites grouped as in the paper: less than, close to and more than expected."
#| fig-alt: "Horizontal bar chart with one bar per site giving average mentoring minutes per month. A dashed vertical line marks the expected amount with a grey band around it. Bars are coloured by group; most sites lie above the band, a few within it and one below it."
figures.show(figures.retake_minutes(retake, groups, expected_minutes_per_month,
                                    tolerance_minutes))"""
    ),
    code(
        """\
#| label: fig-retake-caseload
#| fig-cap: "Average mentoring minutes per month against caseload (participants per OT) at each RETAKE site; point size: number of OTs; colour: group against the expected monthly mentoring (dashed line)."
#| fig-alt: "Scatter plot with participants per OT on the horizontal axis and average mentoring minutes per month on the vertical axis. Each site is a labelled point sized by its number of OTs and coloured by its mentoring group, with a dashed horizontal line at the expected minutes; there is no clear trend."
figures.show(figures.retake_caseload(retake, groups, expected_minutes_per_month))"""
    ),
    md(
        "## Mentoring time and site factors\n\n"
        "Rate model for total mentoring minutes with months in study as exposure, one site "
        "factor at a time (16 sites cannot support a joint model of five overlapping factors)."
    ),
    code(
        """\
factors = [f for f in data.factor_names() if f in retake.columns]
rates = results.retake_rates(retake, factors, ci_level, rate_family)
res.extend(results.retake_rates_rows(rates))"""
    ),
    code(
        """\
#| label: tbl-retake-rates
#| tbl-cap: "Mentoring rate ratios (minutes per month in sites with versus without each factor), from rate models of total mentoring minutes with months in study as exposure, one factor at a time; unadjusted."
tables.show(tables.retake_rates(rates, ci_level))"""
    ),
    code(
        """\
cors = results.retake_correlations(retake, seed, n_resamples)
res.extend(results.retake_correlations_rows(cors))"""
    ),
    code(
        """\
#| label: tbl-retake-correlations
#| tbl-cap: "Rank correlations of average mentoring minutes per month with caseload (participants per OT) and with the number of OTs, with permutation p-values."
tables.show(tables.retake_correlations(cors))"""
    ),
    code(
        """\
results.write_results(res, results_dir, f"mentoring_time--{parameter_set}", parameter_set)"""
    ),
]

CROSS_CASE = [
    md(
        "# Cross-case comparison\n\n"
        "Crisp-set QCA truth tables for both trials, the realist programme theory and one "
        "synthesis row per case.\n\n"
        "**Why so few conditions.** k conditions give 2^k configurations; with 7 ENRICH and "
        "16 RETAKE cases, three conditions already leave most of the 8 rows with 0–2 cases "
        "(limited diversity), and each extra condition halves the cases per row, so "
        "consistent rows start to appear by chance. We therefore use three conditions for "
        "ENRICH and two for RETAKE, read the tables as structured descriptions of the cases "
        "and do no Boolean minimisation."
    ),
    params(
        f"""\
enrich_csv: str = "data/enrich_sites.csv"  # ENRICH site table, path relative to the project root
retake_csv: str = "data/retake_sites.csv"  # RETAKE site table, same convention
factors_csv: str = "data/retake_site_factors.csv"  # RETAKE site factors (long format)
theory_csv: str = "data/programme_theory.csv"  # realist programme theory table
{CUTOFF_PARAMS}
nhs_values: list[str] = ["NHS"]  # employer values counted as NHS
urban_values: list[str] = ["Urban"]  # location values counted as urban (mixed ones are not)
retake_conditions: list[str] = ["ot_turnover", "low_competency"]  # RETAKE QCA conditions
{MENTORING_PARAMS}
incl_cut: float = 1.0  # consistency at or above which a truth-table row counts as sufficient
{COMMON_PARAMS}"""
    ),
    code(
        SETUP.replace("figures, ", "")
        + """
cutoffs = dict(high_engagement=high_engagement, low_engagement=low_engagement,
               high_fidelity=high_fidelity, low_fidelity=low_fidelity)
enrich = results.prepare_enrich(data.load_enrich(enrich_csv))
retake = results.prepare_retake(data.load_retake(retake_csv), data.load_factors(factors_csv))
theory = data.load_programme_theory(theory_csv)
qca = results.cross_case(enrich, retake, cutoffs, results.site_list(nhs_values),
                         results.site_list(urban_values), results.site_list(retake_conditions),
                         expected_minutes_per_month, tolerance_minutes, incl_cut)
res.extend(qca["rows"])"""
    ),
    md("## Truth tables"),
    code(
        """\
#| label: tbl-qca-enrich
#| tbl-cap: "Crisp-set truth table for ENRICH: NHS employer, urban location and high fidelity as conditions for high engagement (all 2^3 configurations; rows without cases are logical remainders, OUT = ?). Consistency, PRI and coverage per configuration."
tables.show(tables.truth_table(qca["enrich_tt"], qca["enrich_conditions"],
                                results.ENRICH_OUTCOME[1]))"""
    ),
    code(
        """\
#| label: tbl-qca-retake
#| tbl-cap: "Crisp-set truth table for RETAKE: OT turnover and low competency scores as conditions for above-expected mentoring (all 2^2 configurations). Consistency, PRI and coverage per configuration."
tables.show(tables.truth_table(qca["retake_tt"], qca["retake_conditions"],
                                results.RETAKE_OUTCOME[1]))"""
    ),
    md("## Programme theory"),
    code(
        """\
res.extend(results.theory_rows(theory))"""
    ),
    code(
        """\
#| label: tbl-programme-theory
#| tbl-cap: "Realist programme theory of mentoring in RETAKE (Table 1 of De Dios Pérez et al. 2024): contexts, mechanisms and outcomes with their definitions."
tables.show(tables.programme_theory(theory))"""
    ),
    md("## Synthesis: one row per case"),
    code(
        """\
#| label: tbl-synthesis
#| tbl-cap: "Synthesis of the cases: each site's classification (ENRICH case selection; RETAKE mentoring against the expected amount), the QCA conditions it has, its outcome and its truth-table row with that row's consistency."
tables.show(tables.synthesis(qca["synthesis"]))"""
    ),
    code(
        """\
results.write_results(res, results_dir, f"cross_case--{parameter_set}", parameter_set)"""
    ),
]

PROFILE = [
    md(
        "# Case profile\n\n"
        "One site against the rest of its trial: its values, ranks, classification and "
        "factors. The build runs this notebook once per site of each trial."
    ),
    params(
        f"""\
trial: str = "enrich"  # "enrich" or "retake"
site: str = "3"  # site id as in the trial's site table
enrich_csv: str = "data/enrich_sites.csv"  # ENRICH site table, path relative to the project root
retake_csv: str = "data/retake_sites.csv"  # RETAKE site table, same convention
factors_csv: str = "data/retake_site_factors.csv"  # RETAKE site factors (long format)
{CUTOFF_PARAMS}
{MENTORING_PARAMS}
ci_level: float = 0.95  # confidence level of the engagement interval
{COMMON_PARAMS}"""
    ),
    code(
        """\
from casereport import figures, profile, results, tables
from casereport.notebook_setup import setup

setup()
cutoffs = dict(high_engagement=high_engagement, low_engagement=low_engagement,
               high_fidelity=high_fidelity, low_fidelity=low_fidelity)
prof = profile.from_files(trial, site, enrich_csv, retake_csv, factors_csv, cutoffs=cutoffs,
                          expected=expected_minutes_per_month, tolerance=tolerance_minutes,
                          level=ci_level)"""
    ),
    code(
        """\
#| label: profile-summary
tables.show(prof.summary)"""
    ),
    code(
        """\
#| label: profile-figure
#| fig-cap: "The site (highlighted) against every site of its trial on each profiled measure; dashed line: trial median."
#| fig-alt: "A column of horizontal strip plots, one per measure, each showing every site of the trial as a grey dot and this site as a larger coloured dot, with a dashed line at the trial median."
figures.show(figures.profile_strips(prof.frame, prof.site, prof.measures, prof.trial_label))"""
    ),
    code(
        """\
results.write_results(prof.rows, results_dir, prof.results_name, parameter_set)"""
    ),
]


def main() -> None:
    write("engagement_fidelity", ENGAGEMENT)
    write("mentoring_time", MENTORING)
    write("cross_case", CROSS_CASE)
    write("case_profile", PROFILE)
    # the pre-commit hooks run ruff format and nbstripout: write what they would keep
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff), "format", "-q", str(ROOT / "notebooks")], check=True)


if __name__ == "__main__":
    main()
