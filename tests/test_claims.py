"""Claims as code: judging, the article's marks, labels as text, and the diff of verdicts.

Unit tier: small tidy-results frames written by hand, so each expected verdict is a hand
calculation on the numbers in the test.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from casereport.analyses import claim_rules
from casereport.analyses.claim_rules import FAILS, HOLDS, NOT_EVALUABLE, Claim
from casereport.analyses.claims_registry import BY_ID, CLAIMS
from casereport.diff import compare
from casereport.primitives import results
from casereport.primitives.paths import ROOT
from casereport.report import claims_judged, shortcodes, variables


def _frame(*rows: dict) -> pd.DataFrame:
    return results.to_frame(list(rows), "primary")


WEAKER = Claim("t-weaker", "rho below r", {"r": "a.r", "rho": "a.rho"},
               lambda v: abs(v["rho"]) < abs(v["r"]))


def test_claim_holds_fails_and_not_evaluable_by_hand():
    """|0.71| < |0.82| holds; |0.43| < |0.32| fails; a missing rho is not evaluable (never
    true by default)."""
    ok = _frame(results.row("a", "r", 0.82), results.row("a", "rho", 0.71))
    bad = _frame(results.row("a", "r", 0.32), results.row("a", "rho", 0.43))
    none = _frame(results.row("a", "r", 0.32), results.row("a", "rho", math.nan))
    assert claim_rules.judge(WEAKER, ok).status == HOLDS
    verdict = claim_rules.judge(WEAKER, bad)
    assert verdict.status == FAILS and verdict.values == {"r": 0.32, "rho": 0.43}
    assert claim_rules.now_text(verdict) == "r = 0.32; rho = 0.43"
    assert claim_rules.judge(WEAKER, none).status == NOT_EVALUABLE


def test_claim_reads_other_columns_and_text_labels():
    """``:ci_low`` reads the interval end (−1.2 < 0, so "excludes zero" fails) and a label
    read compares site ids as text ("B" == "B")."""
    df = _frame(results.row("a", "slope", 3.0, -1.2, 7.0),
                results.label_row("a", "max_site", "B"), results.label_row("a", "lev_site", "B"))
    excl = Claim("t-excl", "interval above 0", {"lo": "a.slope:ci_low"}, lambda v: v["lo"] > 0)
    same = Claim("t-same", "same site", {"x": "a.max_site:label", "y": "a.lev_site:label"},
                 lambda v: v["x"] == v["y"], texts=("x", "y"))
    assert claim_rules.judge(excl, df).status == FAILS
    assert claim_rules.judge(same, df).status == HOLDS
    assert claim_rules.judge(same, df).values == {"x": "B", "y": "B"}


def test_label_survives_csv_and_is_quoted_as_text(tmp_path):
    """A site id written as a label reads back as the same text ("007", not 7.0) and is the
    value ``_variables.yml`` quotes; an ordinary number keeps an empty label."""
    rows = [results.label_row("a", "site", "007"), results.row("a", "x", 1.5)]
    path = results.write_results(rows, tmp_path, "nb--primary")
    df = results.read_results(path)
    assert results.lookup(df, "a", "site", "label") == "007"
    assert results.lookup(df, "a", "x", "label") == ""
    assert variables.variables_from_results(df)["a"] == {"site": "007", "x": "1.5"}


def test_marked_sentences_nested_brackets_and_repeats():
    """The span text is everything back to the matching '[' (a link inside is kept), and a
    second mark with ``of=`` keeps the first sentence as the claim's sentence."""
    text = ("Before [the [Table 2](#t) ranks were weaker]{#c-one .claim} after. "
            "Later [it is weaker again]{.claim of=\"c-one\"}.\n\n"
            "::: {#c-div .claim}\nA whole paragraph.\n:::\n")
    got = claims_judged.marked_sentences(text)
    assert got == {"c-one": "the [Table 2](#t) ranks were weaker", "c-div": "A whole paragraph."}


def test_judge_article_problems_name_claim_and_var():
    """A failed marked claim, an undeclared id and an unknown var are each one problem."""
    df = results.to_frame([], "primary")
    judged = claims_judged.judge_article(
        "[x]{#no-such-claim .claim} and {{<var missing.quantity>}}", df, {})
    assert any("no-such-claim" in p and "declared by no analysis" in p for p in judged.problems)
    assert any("var missing.quantity" in p for p in judged.problems)
    lines: list[str] = []
    assert judged.report(True, lines.append) == 1 and len(lines) >= 3
    assert judged.report(False, [].append) == 0


def test_every_declared_claim_is_marked_and_every_mark_declared():
    """The registry and ``index.qmd`` agree: each claim id is marked in the article exactly
    once as an id, and the article marks no id the registry lacks."""
    text = shortcodes.article_source(ROOT / "index.qmd")
    marked = claims_judged.marked_sentences(text)
    assert set(marked) == set(BY_ID), set(marked) ^ set(BY_ID)
    for c in CLAIMS:
        assert text.count(f"{{#{c.id} .claim}}") == 1, c.id


def test_diff_lists_changed_verdicts_as_conclusions():
    """holds -> fails is a conclusion naming the claim and its sentence; an unchanged
    verdict is not listed."""
    base = [{"id": "a", "status": "holds", "sentence": "S"}, {"id": "b", "status": "holds"}]
    head = [{"id": "a", "status": "fails", "sentence": "S", "now": "r = 0.3"},
            {"id": "b", "status": "holds"}]
    out = compare.compare_claims(base, head)
    assert len(out) == 1 and out[0].section == "claims" and "claim a" in out[0].where
    assert out[0].old == "holds" and out[0].new.startswith("fails")


def test_claim_reads_another_parameter_set():
    """``set@analysis.quantity`` reads that set's row: 15.5 > 12.3 holds; a set that did not
    run makes the claim not evaluable."""
    df = pd.concat([_frame(results.row("a", "slope", 12.3)),
                    results.to_frame([results.row("a", "slope", 15.5)], "without_x")])
    rose = Claim("t-rose", "slope rose", {"full": "a.slope", "w": "without_x@a.slope"},
                 lambda v: v["w"] > v["full"])
    gone = Claim("t-gone", "slope rose", {"full": "a.slope", "w": "without_y@a.slope"},
                 lambda v: v["w"] > v["full"])
    assert claim_rules.judge(rose, df).status == HOLDS
    assert claim_rules.judge(gone, df).status == NOT_EVALUABLE


# ----------------------------------------------------------------- nothing judged unmarked

#: Words that make a sentence a data-dependent judgment (issue 18's list).
JUDGMENT = (
    "weaker stronger higher lower highest lowest most least more fewer larger smaller only "
    "all none agree agrees disagree similar consistent contradicts reproduce reproduces "
    "fragile clear robust depends leans carries weakens strengthens drives"
).split()

#: Sentences with a judgment word that are true whatever the data, each with its reason.
#: A key is a fragment of the sentence; the test fails on a key that no longer matches.
TRUE_BY_DEFINITION = {
    "reported that sites with higher fidelity": "reports what the paper said, not our data",
    "with the factors the text lists for sites that needed more mentoring": "describes the "
    "paper's table and text",
    "an unweighted least-squares line": "names a method",
    "how much any one site drives the result": "describes what a method shows",
    "ignores that sites vary more than binomially": "describes the binomial model",
    "the paper states none": "a fact of the paper",
    "(at most {{<var enrich_stratum.fidelity_max_outside>}}": "the numbers are computed; "
    "the comparison is the claim enrich-voluntary-lowest just before",
    "Two therapists were recruited per site": "checked by the audit "
    "(retake_ots_beyond_recruited, @sec-audit), whose statuses are computed",
    "at the site with the least mentoring one therapist left": "a reading of the paper's "
    "text and footnote, checked by the audit",
    'The two sites the paper names for "larger caseloads"': "checked by the audit "
    "(not comparable / depends on reading), whose statuses are computed",
    "The paper lists reasons only for the sites that received more": "a fact of the paper",
    "its conditions are reasons the paper gives only for sites with above-expected": "a "
    "fact of the paper",
    "a site is urban only when its location is recorded exactly as urban": "states the "
    "calibration rule",
    "Only a share of {{<var qca_enrich_minimisation.diversity>}}": "the share is computed; "
    "any share below one is 'only' a share",
    "Fidelity was rated once": "describes how fidelity was measured",
    "the cut-offs that reproduce them were chosen to do so": "restates the claim "
    "enrich-cutoffs-reproduce in the limits; the cut-offs are parameters",
    "the absence of a clear association is not evidence": "a general statement of inference",
    "A site with higher fidelity that also engaged more participants": "a general statement "
    "of inference",
    "None is a confirmatory test": "describes the design of the analyses",
    "The reasons describe the paper's explanations, not what drives mentoring": "says what a "
    "comparison can show (argued in @sec-retake)",
    "The paper gives reasons only for the sites that received more mentoring than expected":
    "a fact of the paper",
    "it is not evidence about what drives mentoring": "says what a comparison can show",
    "sites have more than two, with": "the count is computed over exactly those sites",
    "One dispersion rule holds in every table": "states the method (issue 19, item 3)",
    "{{<var audit.reproduced>}} reproduce": "the counts are computed; 'reproduce' names "
    "the audit status",
    "values above one mean the sites vary more than binomial": "defines the dispersion",
    "it uses the published counts, weights each": "describes the primary estimand's method",
    "showing how far the answer depends on the method": "describes the design of the "
    "sensitivity analyses",
    "read for how far the answer depends on the method": "describes the design of the "
    "sensitivity analyses",
    "distinct sensitivity tests that allow the sites to vary more": "defines a class of "
    "tests; the counts are computed",
    "those bounds cover the missing data only": "says what a worst-case bound is",
    "the lower confidence limit of the smallest slope": "defines the interval; the claim "
    "enrich-bounds-include-zero follows it",
    "Adjusted for the employer across all sites": "'all sites' names the comparison",
    "such sites have at least one, and of the": "the counts are computed; the sentence "
    "ends in the claim retake-reasons-only-above",
}

_CLAIM_SPAN_END = re.compile(r"\]\{(?:#[\w-]+\s+\.claim|\.claim\s+of=\"[\w-]+\")\}")


def _unmarked_text(text: str) -> str:
    """The article's prose with every claim span replaced by CLAIM, code, embeds, front
    matter, headings and fragment divs removed."""
    text = shortcodes.strip_front_matter(text)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\{\{< embed [^>]*>\}\}", "", text)
    while m := _CLAIM_SPAN_END.search(text):
        depth, i = 0, m.start() - 1
        while i >= 0 and not (text[i] == "[" and depth == 0):
            depth += {"]": 1, "[": -1}.get(text[i], 0)
            i -= 1
        text = text[:i] + "CLAIM" + text[m.end():]
    return text


def _sentences(text: str) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", text):
        if not para.strip() or para.lstrip().startswith((":::", "#", "|")):
            continue
        flat = " ".join(para.split())
        out += re.split(r"(?<=[.;:])\s+(?=[A-Z*@(\[{])", flat)
    return out


def test_no_judgment_word_left_unmarked():
    """Every sentence of the article with a judgment word is a claim, has the word computed,
    or is listed above as true by definition with its reason (oracle: the list is the
    reviewed reading of each such sentence; a new unmarked judgment fails here)."""
    text = _unmarked_text(shortcodes.article_source(ROOT / "index.qmd"))
    flagged = []
    used = set()
    for s in _sentences(text):
        words = re.sub(r"\{\{<.*?>\}\}", "VAR", s)
        # a reference to the supplement names a label, not a judgment ("sec-audit-all")
        words = re.sub(r'\[\]\{\.supp ref="[^"]*"\}', "SUPP", words)
        if not any(re.search(rf"\b{w}\b", words, re.I) for w in JUDGMENT):
            continue
        keys = [k for k in TRUE_BY_DEFINITION if k in s]
        used.update(keys)
        if not keys:
            flagged.append(s[:200])
    assert not flagged, "judgment words outside claims:\n" + "\n".join(flagged)
    assert not set(TRUE_BY_DEFINITION) - used, set(TRUE_BY_DEFINITION) - used
