"""RETAKE and cross-case analyses of issue 12, each against an independent calculation:
totals that do not double-count, caseload measures, the exact permutation tests (brute-force
enumeration written here), the reason-to-theory matrix, the two cross-case matrices, Table 1
and the one rounding rule in every displayed number."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from casereport.analyses.cross_case import analysis as cross_case
from casereport.analyses.cross_case import tables as cc_tables
from casereport.analyses.engagement_fidelity import analysis as enrich
from casereport.analyses.mentoring_time import analysis as retake
from casereport.analyses.mentoring_time import tables as mt_tables
from casereport.primitives import paths
from casereport.report import shortcodes
from casereport.trialdata import loaders

FACTORS = ["ot_turnover", "low_competency", "less_confident", "larger_caseload",
           "site_specific_issues"]  # fmt: skip


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return retake.prepare(loaders.load_retake(), loaders.load_factors())


@pytest.fixture(scope="module")
def groups(df) -> list[str]:
    return retake.groups(df, 60.0, 10.0)


# ------------------------------------------------------------------ totals and caseload


def test_totals_never_divide_summed_minutes_by_people(df):
    """Correction 1: the minutes total is site-recorded (sum of Table 3's minutes, 29,120 by
    hand from the published column) and no total divides it by OTs or participants."""
    t = retake.totals(df)
    assert t["site_recorded_minutes"] == df["mentoring_minutes"].sum() == 29120
    assert not {k for k in t if "per_ot" in k and "minutes" in k}
    assert not {k for k in t if "per_participant" in k}
    assert "total_minutes" not in t
    rows = pd.DataFrame(retake.table3_rows(df))
    assert not rows["quantity"].isin(
        ["overall_minutes_per_participant", "overall_minutes_per_ot", "total_minutes"]
    ).any()


def test_caseload_measures_and_turnover_evidence(df):
    """Correction 8: participants per site-month (site 6: 30/24 = 1.25, site 1: 26/25 =
    1.04, Table 3 by hand) are the top two, as are participants per site (30, 26); per OT
    the top two are 9 (22/2) and 3 (21/2). Correction 5: sites with > 2 OTs are 7, with
    9 OTs beyond two (hand count of Table 3's OTs column)."""
    ppm = df.set_index("site")["participants_per_month"]
    assert ppm.nlargest(2).index.tolist() == ["6", "1"]
    assert ppm["6"] == pytest.approx(30 / 24) and ppm["1"] == pytest.approx(26 / 25)
    assert df.set_index("site")["participants"].nlargest(2).index.tolist() == ["6", "1"]
    assert set(df.set_index("site")["ppo"].nlargest(2).index) == {"9", "3"}
    rows = {r["quantity"]: r["estimate"] for r in retake.turnover_rows(df)}
    assert rows["n_sites_beyond_recruited"] == 7 and rows["n_ots_beyond_recruited"] == 9


def test_phone_share_correlation_is_scipy_spearman(df):
    """The rank correlation of minutes per month with the phone/Teams share equals
    scipy.stats.spearmanr on the same columns (a textbook formula), and is strong."""
    cors = retake.correlations(df, seed=1, n_resamples=2000)
    rho = sps.spearmanr(df["pct_phone_teams"], df["mpm"]).statistic
    assert cors["pct_phone_teams"].statistic == pytest.approx(rho)
    assert rho < -0.6
    assert cors["participants_per_month"].statistic == pytest.approx(
        sps.spearmanr(df["participants_per_month"], df["mpm"]).statistic
    )


# ------------------------------------------------------------------ the reasons, described


def test_low_competency_ratios_by_hand(df):
    """Issue 19, item 4: the two estimands, by hand from Table 3 (sites 1, 4, 5, 7, 11, 15,
    16 have low competency scores, 001 Results). Ratio of mean site rates: the mean of
    minutes / months over those 7 sites over the mean over the other 9 (1.34 in the review);
    ratio of pooled rates: their minutes summed over their months summed, over the same for
    the other 9 (1.37 in the review). Plain Python sums, not the package's code."""
    rows = list(zip(df["site"], df["mentoring_minutes"], df["months_in_study"], strict=True))
    low = {"1", "4", "5", "7", "11", "15", "16"}
    with_ = [(float(m), float(t)) for s, m, t in rows if s in low]
    without = [(float(m), float(t)) for s, m, t in rows if s not in low]
    assert len(with_) == 7 and len(without) == 9
    mean_ratio = (sum(m / t for m, t in with_) / 7) / (sum(m / t for m, t in without) / 9)
    pooled_ratio = (sum(m for m, _ in with_) / sum(t for _, t in with_)) / (
        sum(m for m, _ in without) / sum(t for _, t in without)
    )
    r = retake.reason_ratios(df, FACTORS).set_index("factor").loc["low_competency"]
    assert r["ratio_mean_rates"] == pytest.approx(mean_ratio)
    assert r["ratio_pooled_rates"] == pytest.approx(pooled_ratio)
    assert round(mean_ratio, 2) == 1.34 and round(pooled_ratio, 2) == 1.37


@pytest.mark.parametrize("factor", FACTORS)
def test_pooled_ratio_is_the_poisson_rate_ratio(df, factor):
    """Second implementation: the ratio of pooled rates is the maximum-likelihood rate
    ratio of a Poisson GLM of minutes on the factor with log(months) as offset (statsmodels;
    with one binary covariate the fitted group rates are the pooled rates)."""
    import statsmodels.api as sm

    X = sm.add_constant(df[factor].astype(float).to_numpy())
    fit = sm.GLM(df["mentoring_minutes"].astype(float).to_numpy(), X,
                 family=sm.families.Poisson(),
                 offset=np.log(df["months_in_study"].astype(float).to_numpy())).fit()  # fmt: skip
    r = retake.reason_ratios(df, FACTORS).set_index("factor").loc[factor]
    assert r["ratio_pooled_rates"] == pytest.approx(math.exp(fit.params[1]), rel=1e-8)


def test_reason_ratios_carry_no_interval_or_p(df, groups):
    """The reason comparisons are descriptions: no row of either analysis has an interval or
    a p-value, and no Holm adjustment is written (the reasons exist only for the 12
    above-expected sites, so no reference distribution exists)."""
    ratios = retake.reason_ratios(df, FACTORS)
    more = retake.reason_ratios(df[[g == "more" for g in groups]], FACTORS)
    rows = pd.DataFrame(retake.reason_ratio_rows(ratios, "retake_reason_ratios")
                        + retake.reason_ratio_rows(more, "retake_reason_ratios_more"))  # fmt: skip
    assert rows[["ci_low", "ci_high", "p_value"]].isna().all().all()
    assert not rows["quantity"].str.contains("holm|p_").any()
    assert (more["n"] == 12).all()
    reasons = {r["quantity"]: r["estimate"] for r in retake.reasons_rows(df, groups, FACTORS)}
    assert reasons["n_with_reason_more"] == reasons["n_sites_more"] == 12
    assert reasons["n_with_reason_close"] == reasons["n_with_reason_less"] == 0


def test_article_and_notebook_have_no_retake_reason_tests():
    """The RETAKE section quotes no permutation p, Holm p or rate-model interval, names both
    estimands and says why there is no test; no negative binomial set remains."""
    text = _article()
    retake_sec = text[text.index("## RETAKE"):text.index("## Cross-case")]
    assert "retake_permutation" not in text and "retake_rates." not in text
    assert "tbl-retake-permutation" not in text
    flat = re.sub(r"\s+", " ", retake_sec)
    assert "ratio of mean site rates" in flat and "ratio of pooled rates" in flat
    assert "no valid reference distribution" in flat
    assert not (paths.PARAMS_DIR / "mentoring_time" / "negbin.yaml").exists()
    nb = (paths.NOTEBOOKS_DIR / "mentoring_time.ipynb").read_text(encoding="utf-8")
    assert "permutation_tests" not in nb and "p_holm" not in nb and "rate_family" not in nb


# ------------------------------------------------------------------ theory mapping, matrices


def test_theory_matrix_by_hand(df):
    """From reason_theory_map.csv: site 3 has only 'less confident' -> Positive reinforcement
    (paper) and Increased mentee confidence (judgement); site 2 (no factor) gets its own
    reasons: Managing research and clinical duties and Timely support (both judgement: no
    sentence names site 2 in either link);
    sites 9, 10, 13 (close to expected) touch nothing."""
    m = cross_case.theory_matrix(df, loaders.load_reason_map())
    col3 = {e: v for e, v in m["3"].items() if v}
    assert col3 == {"Positive reinforcement (M)": "paper",
                    "Increased mentee confidence (O)": "judgement"}  # fmt: skip
    col2 = {e: v for e, v in m["2"].items() if v}
    assert col2 == {"Managing research and clinical duties (M)": "judgement",
                    "Timely support (M)": "judgement"}  # fmt: skip
    for s in ("9", "10", "13"):
        assert (m[s] == "").all()
    rows = {r["quantity"]: r["estimate"] for r in
            cross_case.mapping_rows(loaders.load_reason_map(), m)}  # fmt: skip
    assert (rows["n_mappings"], rows["n_paper"], rows["n_judgement"]) == (14, 4, 10)
    shown = cc_tables.theory_matrix(m)
    assert set(shown.drop(columns="Programme-theory element").to_numpy().ravel()) <= {"P", "J", ""}


def test_cross_case_matrices_one_row_per_site(df, groups):
    """RETAKE: 16 rows, reasons summed per site (site 1: turnover, low competency, larger
    caseload = 3, from retake_site_factors.csv); ENRICH: 7 rows, site 6 engaged 6/20 = 30%
    with its Clopper-Pearson interval from scipy's beta quantiles."""
    m = cross_case.theory_matrix(df, loaders.load_reason_map())
    rm = cross_case.retake_matrix(df, groups, FACTORS, m)
    assert len(rm) == 16 and rm.set_index("site").loc["1", "n_reasons"] == 3
    e = enrich.prepare(loaders.load_enrich())
    from casereport.trialdata import trials

    ENRICH_CUTOFFS = trials.get("enrich").parameters

    em = cross_case.enrich_matrix(e, enrich.cases(e, ENRICH_CUTOFFS)).set_index("site")
    assert len(em) == 7 and em.loc["6", "engagement_pct"] == pytest.approx(30.0)
    lo, hi = sps.beta.ppf(0.025, 6, 15), sps.beta.ppf(0.975, 7, 14)
    assert em.loc["6", "engagement_low"] == pytest.approx(100 * lo)
    assert em.loc["6", "engagement_high"] == pytest.approx(100 * hi)
    shown = cc_tables.retake_matrix(rm, FACTORS)
    assert shown.iloc[1]["Group"] == "less"


def test_demographics_percentages():
    """Table 1: 1/19 = 5.263%, 18/19 = 94.737%, 6/6 = 100% (hand division)."""
    rows = {r["quantity"]: r["estimate"] for r in
            retake.demographics_rows(loaders.load_demographics())}  # fmt: skip
    assert sorted(round(v, 3) for k, v in rows.items() if k.startswith("pct_")) == [
        5.263, 94.737, 100.0]  # fmt: skip
    assert rows["n_ots"] == 19 and rows["n_mentors"] == 6


# ------------------------------------------------------------------ rounding in display


def test_no_retake_table_or_result_divides_site_minutes_by_people(df, groups):
    """Issue 19, item 1: site minutes include sessions shared by two sites and the OT count
    includes everyone who ever held the post, so no RETAKE result or table divides them by
    participants or OTs. Oracle: brute force, every site's minutes / participants and
    minutes / OTs computed from Table 3's columns; none may appear as a result estimate
    (except where it equals a site's minutes per month, as at site 9 with 22 participants
    in 22 months), and no column of the site table is named per participant or per OT."""
    per_person, per_month = set(), set()
    for r in df.itertuples(index=False):
        per_month.add(round(r.mentoring_minutes / r.months_in_study, 6))
        for people in (r.participants, r.ots):
            if people:
                per_person.add(round(r.mentoring_minutes / people, 6))
    per_person -= per_month
    res = pd.DataFrame(retake.table3_rows(df))
    est = {round(float(v), 6) for v in res["estimate"].dropna()}
    assert not est & per_person
    assert not res["quantity"].str.contains("minutes_per_(?:participant|ot)").any()
    t = mt_tables.sites(df, groups)
    assert not [c for c in t.columns if "per participant" in c.lower() or "per ot" in c.lower()]
    assert set(t.columns) == {"Site", "Months", "Minutes", "Phone (%)", "Partic.", "OTs",
                              "Min/month", "Recomp.", "Partic./OT", "Recomp. ", "Group"}
    # the longest header fits a narrow PDF column (issue 19, item 14: "PhoneParticipants")
    assert max(len(c) for c in t.columns) <= 10


def test_no_half_even_formatting_in_display_code():
    """Every displayed number goes through casereport.primitives.format (half up): no f-string or
    str.format precision (`:.1f`, `:,.0f`), no built-in round() and no '%.1f' in the modules
    that make tables, figures, fragments or variables (Python's float formatting and round()
    are half-even on the binary value)."""
    src = paths.ROOT / "src" / "casereport"
    display = sorted(str(p.relative_to(src)) for p in src.glob("**/*.py")
                     if p.parent.name == "display" or p.stem in ("tables", "figures"))
    display += ["report/fragments.py", "report/variables.py", "report/preview.py",
                "analyses/case_profile/analysis.py"]
    bad = []
    for rel in display:
        text = (paths.ROOT / "src" / "casereport" / rel).read_text(encoding="utf-8")
        for i, line in enumerate(text.splitlines(), 1):
            if re.search(r"\{[^{}]*:[^{}]*\.\d+[fge%]\}|%\.\d+f|(?<![\w.])round\(", line):
                bad.append(f"{rel}:{i}: {line.strip()}")
    assert bad == []


# ------------------------------------------------------------------ the article's text


def _article() -> str:
    return shortcodes.article_source(paths.ROOT / "index.qmd")


def test_article_has_no_summed_minutes_divided_by_people():
    """Correction 1: the old total, minutes per participant/OT overall, never quoted."""
    text = _article()
    for key in ("total_minutes", "overall_minutes_per_participant", "overall_minutes_per_ot",
                "overall_minutes_per_month"):  # fmt: skip
        assert f"retake_table3.{key} " not in text
    assert "site-recorded" in text


def test_article_does_not_present_the_circular_rate_ratio_as_a_finding():
    """Correction 2: the summary has no rate ratio, the RETAKE section says the comparison
    is by construction, and no sentence around a rate ratio says 'finding' or 'went with'."""
    text = _article()
    summary = text[text.index("## Summary"):text.index("## Data and methods")]
    assert "retake_reason_ratios" not in summary and "retake_permutation" not in summary
    retake_sec = text[text.index("## RETAKE"):text.index("## Cross-case")]
    flat = re.sub(r"\s+", " ", retake_sec)
    assert "by construction" in flat and "not an association the data reveal" in flat
    for para in re.split(r"\n\s*\n", retake_sec):
        if "retake_reason_ratios" in para:
            assert not re.search(r"\bfinding|went with|associated with", para), para


def test_article_uses_programme_theory_only_with_the_mapping():
    """Corrections 3 and 4: the cross-case section shows the mapping table when it speaks of
    the programme theory, does not say the synthesis uses it, and does not speak of
    fidelity in both trials."""
    text = _article()
    cc = text[text.index("## Cross-case"):text.index("## Limitations")]
    assert "#tbl-theory-map >}}" in cc
    assert 'ref="tbl-matrix-retake"' in cc  # issue 22: the RETAKE matrix is in the supplement
    assert "#tbl-matrix-enrich >}}" in cc
    flat = re.sub(r"\s+", " ", cc)
    assert "site-level findings against it" not in flat
    assert "does not use the programme theory" in flat
    assert "no measure of delivery" in flat  # issue 19, item 7: RETAKE measures no delivery
    assert "Both trials measure two things" not in flat


def test_theory_map_counts_are_four_paper_and_ten_judgement_links_and_quoted_as_variables():
    """Issue 19, item 6: the expected counts come from the review's reading of the papers
    (only four links rest on a sentence that names the reason in the theme's own section:
    less confident -> Positive reinforcement and site-specific issues -> three elements);
    the article quotes them through the build's variables, never as typed numbers."""
    rm = loaders.load_reason_map()
    paper = set(zip(rm.loc[rm["basis"] == "paper", "reason"],
                    rm.loc[rm["basis"] == "paper", "theme"], strict=True))  # fmt: skip
    assert paper == {
        ("less_confident", "Positive reinforcement"),
        ("site_specific_issues", "Trial set-up"),
        ("site_specific_issues", "Managing research and clinical duties"),
        ("site_specific_issues", "Facilitation strategy"),
    }
    m = cross_case.theory_matrix(retake.prepare(loaders.load_retake(), loaders.load_factors()), rm)
    rows = {r["quantity"]: r["estimate"] for r in cross_case.mapping_rows(rm, m)}
    assert (rows["n_paper"], rows["n_judgement"]) == (4, 10)
    flat = re.sub(r"\s+", " ", _article())
    i = flat.index("rest on a sentence of the papers")
    sentence = flat[i - 200 : i + 200]
    n_paper, n_judgement = (shortcodes.var_shortcode(f"theory_mapping.{q}")
                            for q in ("n_paper", "n_judgement"))  # fmt: skip
    assert f"{n_paper} rest on a sentence" in sentence
    assert f"{n_judgement} are the report's own reading" in sentence
