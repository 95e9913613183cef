"""A trial of any size gets a report (issue 20, item 4): each ENRICH analysis says it is not
estimable, and why, instead of raising. Oracle: the reasons are the checks' own wording
(site counts by len, a constant column by its unique values), and every analysis that
remains estimable still runs."""

from __future__ import annotations

import pandas as pd
import pytest

from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.engagement_fidelity import classify as ef_classify
from casereport.analyses.engagement_fidelity import estimands as E
from casereport.analyses.engagement_fidelity import limits as L
from casereport.analyses.engagement_fidelity import tables as ef_tables
from casereport.analyses.estimability import NotEstimable, shortfall
from casereport.display import tables
from casereport.primitives import paths, results
from casereport.trialdata import loaders

ENRICH = enrich.prepare(loaders.load_enrich(paths.ENRICH_CSV))


def _all_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Every ENRICH analysis of the notebook, in its order, with its display built too."""
    res = results.Results()
    res.extend(enrich.table2_rows(df))
    a = enrich.association(df)
    res.extend(enrich.association_rows(a))
    loo = enrich.leave_one_out(df)
    res.extend(enrich.leave_one_out_rows(loo))
    inf = L.influence(df)
    res.extend(L.influence_rows(inf))
    ef_tables.influence(inf, loo, 0.95)
    om = L.odds_ratio_models(df)
    res.extend(L.odds_ratio_rows(om))
    st = L.stratum(df, "employer", "NHS")
    res.extend(L.stratum_rows(st))
    ef_tables.stratum(st, "employer", "NHS", 0.95)
    res.extend(L.nonnormal_rows(L.nonnormal(df)))
    t = E.table(res.frame(), "odds_ratio_quasi_binomial")
    res.extend(E.rows(t))
    ef_tables.estimands(t, 0.95)
    mis = L.missing(df)
    res.extend(L.missing_rows(mis))
    ef_tables.missing(mis, df)
    return res.frame()


def _reasons(frame: pd.DataFrame) -> dict[str, str]:
    hit = frame[frame["quantity"] == "not_estimable"]
    return dict(zip(hit["analysis"], hit["label"], strict=True))


def test_three_sites_leave_out_only_the_deletion_analyses():
    """With 3 sites a leave-one-out refit would have 2: those two analyses say so; the
    association, the models and the bounds still run on 3 sites."""
    reasons = _reasons(_all_rows(ENRICH.iloc[:3]))
    assert reasons == {
        "enrich_loo": "needs at least 4 sites; this trial has 3",
        "enrich_influence": "needs at least 4 sites; this trial has 3",
    }


def test_a_constant_score_leaves_every_association_not_estimable():
    """A fidelity score of 10 at every site: no association can be estimated, the primary
    estimand included; the site table still is."""
    frame = _all_rows(ENRICH.assign(fidelity_score=10.0))
    reasons = _reasons(frame)
    assert reasons["enrich_association"] == "fidelity score does not vary (10 at every site)"
    assert set(reasons) >= {"enrich_loo", "enrich_influence", "enrich_or_models",
                            "enrich_nonnormal", "enrich_missing", "enrich_stratum",
                            "enrich_primary"}  # fmt: skip
    assert results.lookup(frame, "enrich_table2", "n_sites") == len(ENRICH)


def test_a_site_with_no_one_engaged_is_estimable():
    """Zero engaged at one site is a valid count (its log-odds is not finite, but the
    models on counts handle it): nothing is reported as not estimable."""
    zero = ENRICH.copy()
    zero.loc[0, "engaged"] = 0
    zero = enrich.prepare(zero)
    assert _reasons(_all_rows(zero)) == {}


@pytest.mark.parametrize(
    ("frame", "kw", "expected"),
    [
        (pd.DataFrame({"x": [1, 2]}), {"min_sites": 3}, "needs at least 3 sites; this trial has 2"),
        (pd.DataFrame({"x": [5.5] * 4}), {"varying": ("x",)},
         "x does not vary (5.5 at every site)"),
        (pd.DataFrame({"x": [1.0, 2.0, 3.0]}), {"varying": ("x",)}, None),
    ],
)
def test_shortfall_reasons(frame, kw, expected):
    assert shortfall(frame, **kw) == expected


def test_display_of_a_not_estimable_table_keeps_one_row_with_the_reason():
    """tables.show renders a one-row table (so the cell's label and caption still resolve)
    whose cell is the reason as a sentence."""
    note = NotEstimable("enrich_loo", "needs at least 4 sites; this trial has 3")
    assert str(note) == "Not estimable: needs at least 4 sites; this trial has 3."
    shown = tables.note_table(note)
    assert shown.to_dict("list") == {
        "Not estimable": ["Needs at least 4 sites; this trial has 3."]
    }


def test_figures_of_an_association_that_is_not_estimable_still_draw():
    """A constant score: the scatter shows the sites without a line (no fit to draw) and
    the bounds figure becomes a note, so both figure cells keep their labels."""
    import matplotlib.pyplot as plt

    from casereport.analyses.engagement_fidelity import figures

    flat = ENRICH.assign(fidelity_score=10.0)
    fig = figures.scatter(flat, enrich.ols_fit(enrich.association(flat)))
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == ":"]
    plt.close(fig)
    assert isinstance(figures.missing_bounds(L.missing(flat), flat), NotEstimable)


def test_a_site_at_the_fuzzy_crossover_makes_the_fuzzy_option_not_estimable():
    """Fidelity 10.5, the default crossover of high fidelity: Ragin's direct method gives
    membership exactly 0.5 (log-odds 0 at the crossover), which belongs to no truth-table
    row; the fuzzy option says so instead of stopping the cross-case notebook."""
    from casereport.analyses.cross_case import qca_engagement as qca_enrich

    at = ENRICH.copy()
    at.loc[0, "fidelity_score"] = 10.5
    sets = ef_classify.crisp_sets(at, high_engagement=70.0, high_fidelity=10.5)
    fz = qca_enrich.fuzzy(at, sets, [50.0, 70.0, 85.0], [9.0, 10.5, 11.5])
    assert isinstance(fz, NotEstimable)
    assert fz.reason.startswith(f"site {at.loc[0, 'site']} sits exactly at the crossover")
    assert qca_enrich.fuzzy_rows(fz) == fz.rows()
    assert qca_enrich.truth(fz) is fz


def test_a_parameter_set_naming_a_site_the_data_lack_is_not_applicable(tmp_path):
    """The plan reads which parameters name sites from the notebook's parameters cell
    (comment "site ids ...": exclude_sites, engaged_from_published_pct) and checks them
    against the site table the run reads, wherever the set's YAML lives. Oracle: the
    table written here has sites 1-3."""
    from casereport.pipeline import plan

    nb = paths.NOTEBOOKS_DIR / "engagement_fidelity.ipynb"
    assert plan.site_parameters(nb) == ("exclude_sites", "engaged_from_published_pct")
    csv = tmp_path / "enrich_sites.csv"
    lines = paths.ENRICH_CSV.read_text().splitlines()
    csv.write_text("\n".join(lines[:4]) + "\n")
    why = plan.not_applicable(nb, {"enrich_csv": str(csv), "exclude_sites": ["6"]})
    assert why == f"exclude_sites names site 6, which {csv} does not have"
    both = plan.not_applicable(nb, {"enrich_csv": str(csv), "engaged_from_published_pct": "4,5"})
    assert both is not None and both.startswith("engaged_from_published_pct names sites 4, 5")
    assert plan.not_applicable(nb, {"enrich_csv": str(csv), "exclude_sites": ["2"]}) is None
    # the project's own sets all apply to the project's data
    assert all(plan.not_applicable(nb, r.parameters) is None
               for r in plan.plan(notebooks=["engagement_fidelity"]))


def test_quoted_numbers_these_data_cannot_give_read_as_words():
    """report.variables.fill_quoted: a key of a not-estimable analysis, an interval of an
    estimate without one and a key of a set left out get words; a misspelt analysis or
    set stays missing (so --strict still fails on it)."""
    from casereport.report import variables as V

    frame = pd.DataFrame([
        {**results.label_row("enrich_loo", "not_estimable", "needs at least 4 sites"),
         "parameter_set": "primary"},
        {**results.row("enrich_association", "pearson_r", 0.11), "parameter_set": "primary"},
    ])
    data = V.variables_from_results(frame)
    keys = ["enrich_loo.ols_slope_without_site_2", "enrich_association.pearson_r_ci",
            "enrich_association.pearson_r", "sets.without_site_6.enrich_association.ols_slope",
            "enrich_asociation.pearson_r", "sets.typo.enrich_association.ols_slope"]
    V.fill_quoted(data, keys, ["without_site_6"], frame)
    assert data["enrich_loo"]["ols_slope_without_site_2"] == V.NOT_ESTIMABLE
    assert data["enrich_association"] == {"pearson_r": "0.11", "pearson_r_ci": V.NOT_ESTIMABLE}
    assert data["sets"] == {"without_site_6": {"enrich_association": {
        "ols_slope": V.NOT_APPLICABLE}}}
    assert "enrich_asociation" not in data
