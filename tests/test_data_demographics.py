"""Cell-for-cell regression of the Table 1 demographics and the reason -> theory map.

The expected values below come from the papers, not from the CSV files:

* Table 1 of Craven 2021 ("Demographic details of mentors and OTs interviewed") as machine
  extracted in the seed folder: 001_3ec79731858f92e3.txt lines 169-259, copied verbatim
  into TABLE_1_001 (the extraction prints one table cell per line, Mentors before OTs);
  TABLE_1_CELLS is the transcription key: which line is which cell of the table. No
  second extraction of Table 1 exists (003 is the Results section, 002 the abstract).
* The group sizes from 001's Results ("mentors (n = 6) and OTs (n = 19) interviewed").
* The reason -> programme theory links of data/retake/reason_theory_map.csv, with every quoted
  sentence checked to be verbatim in the seed it names (000 De Dios Perez 2024, 001 Craven
  2021, 003 the other layout of 001).

Seeds are read from ../shared/seeds relative to the repository root (override with
CASEREPORT_SEEDS); tests that need them skip when the folder is absent. The CSV files are
read directly, not through the package's loaders.
"""

from __future__ import annotations

import csv
import os
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEEDS = Path(os.environ.get("CASEREPORT_SEEDS", ROOT.parent / "shared" / "seeds"))

TABLE_1_FIRST_LINE = 169  # line of 001_3ec79731858f92e3.txt where TABLE_1_001 starts

TABLE_1_001 = """\
 Table 1 Demographic details of mentors and OTs interviewed
Mentors

OTs

Male

1 (5.3)

Female

6 (100)

18 (94.7%)

Years qualified as an OT

Mean: 29.3 (range: 18–40)

Mean: 18.7 (range: 6–34)

Years’ experience in:
Mentoring (or supervising)

Mean: 13.4 (range: 2–35)

Stroke rehabilitation

Mean: 13.3 (range: 2.5–22)

Mean: 10.1 (range: 0–32.3)

Vocational Rehabilitation

Mean: 17.8 (range: 9.5–25)

Mean: 3.3 (range: 0–12)

Research

Mean: 6.5 (range: 0–14)

Previous research roles
(note: multiple roles were reported by some mentors)

Employment circumstances/clinical roles during
RETAKE period (note: multiple roles were reported per
some individuals due to changes during RETAKE period)

Research Occupational Therapist (1)
Mentor (3)
Trainer for clinicians and researchers (2)
Completed PhD (2)
Research Assistant (2)
Research Fellow (2)
Retired (1)
Employed in NHS senior position (2)
Seconded from NHS to UoNa (1)
Researcher at UoN (1)
Private VR business owner (2)
Retired/moved abroad later on in study (2)

NHS band

Band 6 (12)
Band 7 (7)

Educationb

a

eUoN = University of Nottingham;

Clinical Occupational Therapist (14)
Occupational Therapy Team Leader (3)
Independent Occupational Therapist (1)
Senior Research Assistant (1)

DipCOTc (1)
Bachelor’s degree (1)
Master’s degree relating to OT (1)
Postgraduate certificate in VR (1)
PhD in VR research (2)
b

DipCOT (2)
Bachelor’s degree (16)
Master’s degree relating to OT, healthcare,
or research methods (4)

Education data missing for 3 OTs; c DipCOT = Diploma of the College of Occupational Therapists
"""  # noqa: E501 (verbatim extract)

RESULTS_N_SENTENCE = (
    "Table 1 provides demographic details for mentors (n = 6) and OTs (n = 19) interviewed."
)
GROUP_N = {"Mentors": 6, "OTs": 19}  # from RESULTS_N_SENTENCE
#: people without data for a characteristic, from Table 1's footnote b ("Education data
#: missing for 3 OTs"): the denominator of those rows is the group's N less them
MISSING = {("OTs", "Education"): 3}

MEN, OTS = "Mentors", "OTs"
YQ = "Years qualified as an OT"
YE = "Years’ experience in"
PR = "Previous research roles"
EM = "Employment circumstances/clinical roles during RETAKE period"

# Transcription key: (group, characteristic, category or None, first line in 001, lines).
# None: the category is the cell's own label ("Band 6 (12)" -> "Band 6").
TABLE_1_CELLS = [
    (OTS, "Gender", "Male", 176, 1),
    (MEN, "Gender", "Female", 180, 1),
    (OTS, "Gender", "Female", 182, 1),
    (MEN, YQ, "", 186, 1),
    (OTS, YQ, "", 188, 1),
    (MEN, YE, "Mentoring (or supervising)", 193, 1),  # one cell only: read as Mentors
    (MEN, YE, "Stroke rehabilitation", 197, 1),
    (OTS, YE, "Stroke rehabilitation", 199, 1),
    (MEN, YE, "Vocational Rehabilitation", 203, 1),
    (OTS, YE, "Vocational Rehabilitation", 205, 1),
    (MEN, YE, "Research", 209, 1),  # one cell only: read as Mentors
    *[(MEN, PR, None, line, 1) for line in range(218, 224)],
    *[(MEN, EM, None, line, 1) for line in range(224, 230)],
    *[(OTS, EM, None, line, 1) for line in range(242, 246)],
    (OTS, "NHS band", None, 233, 1),
    (OTS, "NHS band", None, 234, 1),
    *[(MEN, "Education", None, line, 1) for line in range(247, 252)],
    (OTS, "Education", None, 254, 1),
    (OTS, "Education", None, 255, 1),
    (OTS, "Education", None, 256, 2),  # "Master’s degree relating to OT, healthcare," + next line
]

# Row headings as extracted (footnote marks run in) -> characteristic in the CSV.
HEADINGS = {
    "Years qualified as an OT": YQ,
    "Years’ experience in:": YE,
    "Mentoring (or supervising)": YE,
    "Stroke rehabilitation": YE,
    "Vocational Rehabilitation": YE,
    "Research": YE,
    "Previous research roles": PR,
    "Employment circumstances/clinical roles during": EM,
    "NHS band": "NHS band",
    "Educationb": "Education",
}
FOOTNOTE_MARKS = {"DipCOTc": "DipCOT", "UoNa": "UoN"}  # marks a and c run into the cell text

COUNT_PCT = re.compile(r"(\d+) \((\d+(?:\.\d+)?)%?\)")
MEAN_RANGE = re.compile(r"Mean: (\d+(?:\.\d+)?) \(range: (\d+(?:\.\d+)?)–(\d+(?:\.\d+)?)\)")
LABEL_N = re.compile(r"(.+) \((\d+)\)")


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA / "retake" / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _extract_lines() -> list[str]:
    return TABLE_1_001.split("\n")[:-1]


def cell_text(first_line: int, n_lines: int) -> str:
    lines = _extract_lines()
    i = first_line - TABLE_1_FIRST_LINE
    return " ".join(lines[i : i + n_lines])


def expected_table_1() -> list[dict[str, str]]:
    """Every cell of Table 1 (001) as the CSV should hold it, parsed from the extract."""
    out = []
    for row, (group, char, category, line, n_lines) in enumerate(TABLE_1_CELLS, start=1):
        text = cell_text(line, n_lines)
        cell = {
            "row": str(row),
            "group": group,
            "characteristic": char,
            "n": "",
            "pct_published": "",
            "mean": "",
            "range_min": "",
            "range_max": "",
            "denominator": str(GROUP_N[group] - MISSING.get((group, char), 0)),
            "source_line": str(line),
            "source": text,
        }
        if m := COUNT_PCT.fullmatch(text):
            cell |= {"statistic": "count", "n": m[1], "pct_published": m[2], "category": category}
        elif m := MEAN_RANGE.fullmatch(text):
            cell |= {"statistic": "mean_range", "mean": m[1], "range_min": m[2]}
            cell |= {"range_max": m[3], "category": category}
        elif m := LABEL_N.fullmatch(text):
            label = m[1]
            for marked, plain in FOOTNOTE_MARKS.items():
                label = label.replace(marked, plain)
            assert category is None
            cell |= {"statistic": "count", "n": m[2], "category": label}
        else:
            raise AssertionError(f"unparsed cell {text!r}")
        out.append(cell)
    return out


# ------------------------------------------------------------------ Table 1 (demographics)


def test_demographics_match_table_1_cell_for_cell():
    """Every cell of data/retake/retake_demographics.csv equals Table 1 of Craven 2021 (001), as
    parsed from the verbatim extract above: 37 printed cells, counts, printed percentages
    (text, printed precision), means and ranges, group N from the Results."""
    want = expected_table_1()
    got = _read("retake_demographics.csv")
    assert len(got) == len(want) == 37
    for w, g in zip(want, got, strict=True):
        for col, value in w.items():
            assert g[col] == value, (w["row"], col, g[col], value)
    assert list(got[0]) == [
        "row", "group", "characteristic", "category", "statistic", "n", "pct_published",
        "mean", "range_min", "range_max", "denominator", "source_line", "source", "note",
    ]  # fmt: skip


def test_every_line_of_table_1_with_a_number_is_transcribed():
    """No numeric cell of Table 1 is left out: every extracted line holding a count or a
    mean is some row's source (a split cell counts from its first line)."""
    used = {line + k for (_, _, _, line, n) in TABLE_1_CELLS for k in range(n)}
    for offset, text in enumerate(_extract_lines()):
        line = TABLE_1_FIRST_LINE + offset
        if re.search(r"\(\d+(\.\d+)?%?\)|Mean:", text):
            assert line in used, (line, text)


def test_table_1_headings_are_the_printed_ones():
    """The characteristic names are Table 1's row headings with footnote marks dropped;
    only 'Gender' is ours (the table prints just 'Male' and 'Female')."""
    lines = _extract_lines()
    for printed in HEADINGS:
        assert printed in lines, printed
    assert "Male" in lines and "Female" in lines and "Gender" not in " ".join(lines)
    chars = {r["characteristic"] for r in _read("retake_demographics.csv")}
    assert chars == set(HEADINGS.values()) | {"Gender"}


def test_spot_cells_by_hand():
    """A few cells read off 001 Table 1 by eye, independent of the parser: OTs 1 (5.3) male,
    18 (94.7%) female, Band 6 (12) and Band 7 (7); mentors 6 (100) female, years qualified
    mean 29.3 (18-40); OTs' vocational rehabilitation mean 3.3 (0-12)."""
    rows = {
        (r["group"], r["characteristic"], r["category"]): r
        for r in _read("retake_demographics.csv")
    }

    def count(group, char, cat):
        return rows[group, char, cat]["n"], rows[group, char, cat]["pct_published"]

    assert count(OTS, "Gender", "Male") == ("1", "5.3")
    assert count(OTS, "Gender", "Female") == ("18", "94.7")
    assert count(MEN, "Gender", "Female") == ("6", "100")
    assert (MEN, "Gender", "Male") not in rows  # empty cell in the extraction
    assert (
        rows[OTS, "NHS band", "Band 6"]["n"] == "12" and rows[OTS, "NHS band", "Band 7"]["n"] == "7"
    )
    yq = rows[MEN, YQ, ""]
    assert (yq["mean"], yq["range_min"], yq["range_max"]) == ("29.3", "18", "40")
    vr = rows[OTS, YE, "Vocational Rehabilitation"]
    assert (vr["mean"], vr["range_min"], vr["range_max"]) == ("3.3", "0", "12")
    assert rows[OTS, "Education", "Bachelor’s degree"]["n"] == "16"


def test_printed_percentages_reproduce():
    """The three printed percentages of Table 1 equal n / N x 100 rounded half up to the
    printed decimals: 1/19 -> 5.3, 18/19 -> 94.7, 6/6 -> 100 (the audit's check, run here
    so a mistyped percentage is caught)."""
    for r in _read("retake_demographics.csv"):
        if not r["pct_published"]:
            continue
        p = r["pct_published"]
        places = Decimal(1).scaleb(-len(p.partition(".")[2]))
        exact = Decimal(r["n"]) * 100 / Decimal(r["denominator"])
        assert str(exact.quantize(places, rounding=ROUND_HALF_UP)) == p, r["row"]


# ------------------------------------------------------------ reason -> programme theory

KNOWN = (
    "Known reasons for additional support included larger caseloads (so more participants to"
    " be discussed) in sites 1 and 6, OTs being less confident about delivering the"
    " intervention (sites 3, 7, 8 and 15), low scores on RETAKE competency assessments (sites"
    " 1, 4, 5, 7, 11, 15, and 16), and site-specific issues related to set-up, funding,"
    " intervention delivery, and management issues (sites 7, 11, 12, and 14)."
)
TURNOVER = (
    "OT turnover at 7 sites (sites 1, 4, 5, 6, 8, 11, and 15) meant that replacement OTs"
    " required more support because they were new to the trial and intervention delivery."
)
SITE_2 = (
    "As Table 3 indicates, site 2 received the least mentoring with OTs receiving, on average,"
    " 43 min per month during the study period. In this site one OT left in August 2019 and"
    " was never replaced. The remaining OT was a manager and reportedly didn’t have time to"
    " attend mentoring sessions."
)
REASON_SENTENCE = {
    "ot_turnover": TURNOVER,
    "low_competency": KNOWN,
    "less_confident": KNOWN,
    "larger_caseload": KNOWN,
    "site_specific_issues": KNOWN,
    "site2_less_mentoring": SITE_2,
}

# The links made by a sentence of the papers (000), quoted in full.
PAPER_LINKS = {
    ("less_confident", "Positive reinforcement"): (
        "Increased confidence in the mentees meant that the mentors could plan their time to"
        " give more support to less confident mentees."
    ),
    ("site_specific_issues", "Trial set-up"): (
        "Both [Trial Manager] and mentor 3 reported that the funding in [research site] had"
        " been pulled due to changes in the excess treatment costs process."
    ),
    ("site_specific_issues", "Managing research and clinical duties"): (
        "Mentees also experienced challenges associated with their NHS line managers being"
        " unsupportive of their research role. Despite mentees being paid indirectly via Excess"
        " Treatment Costs [24] to deliver ESSVR, within site transfer of these finances into"
        " therapy services' budgets, research naivety in some NHS sites (in both line managers"
        " and research and innovation), together with local recruitment issues, often meant"
        " the OT mentees research time was not backfilled and some mentees were expected to"
        " deliver the research activity in addition to their usual clinical role."
    ),
    ("site_specific_issues", "Facilitation strategy"): (
        "For example, how to engage with managers, support recruitment or understand problems"
        " with how they were being paid to deliver the research."
    ),
}
JUDGEMENT_LINKS = [
    ("ot_turnover", "Trial set-up"),
    ("ot_turnover", "Collective understanding"),
    ("ot_turnover", "Monitoring"),
    ("low_competency", "Monitoring"),
    ("low_competency", "Intervention delivered with fidelity"),
    ("less_confident", "Increased mentee confidence"),
    ("larger_caseload", "Managing research and clinical duties"),
    ("site2_less_mentoring", "Timely support"),
    # re-marked as judgement (issue 19, item 6): the caseload sentence is about sharing
    # caseload details, not timely support, and no sentence names site 2 in the link
    ("larger_caseload", "Timely support"),
    ("site2_less_mentoring", "Managing research and clinical duties"),
]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _seed_text(name: str) -> str:
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"seed papers not available at {SEEDS}")
    return _norm(path.read_text(encoding="utf-8"))


SEED_FILES = {
    "000": "000_60d9171b093e9ba3.txt",
    "001": "001_3ec79731858f92e3.txt",
    "003": "003_6ad2808da3b40b81.txt",
}


def test_reason_map_rows_are_the_expected_links():
    """data/retake/reason_theory_map.csv holds exactly the 4 paper links and 10 judgement links
    above, each theme with its domain as in programme_theory.csv (000 Table 1), each paper
    row quoting its sentence and each judgement row quoting the theme's Table 1 definition."""
    theory = {r["theme"]: r for r in _read("programme_theory.csv")}
    rows = _read("reason_theory_map.csv")
    keys = [(r["reason"], r["theme"]) for r in rows]
    assert len(keys) == len(set(keys)) == 14
    assert set(keys) == set(PAPER_LINKS) | set(JUDGEMENT_LINKS)
    for r in rows:
        key = (r["reason"], r["theme"])
        assert r["domain"] == theory[r["theme"]]["domain"], key
        assert r["reason_sentence"] == REASON_SENTENCE[r["reason"]], key
        assert r["reason_source_file"] == "001", key
        assert r["source_file"] == "000", key
        assert r["note"], key
        if key in PAPER_LINKS:
            assert r["basis"] == "paper", key
            assert r["supporting_sentence"] == PAPER_LINKS[key], key
        else:
            assert r["basis"] == "judgement", key
            assert r["supporting_sentence"] == theory[r["theme"]]["definition"], key


def test_every_reason_maps_to_some_theme():
    """Each of the five factor codes of retake_site_factors.csv and site 2's reasons for
    less mentoring have at least one link."""
    factors = {r["factor"] for r in _read("retake_site_factors.csv")}
    reasons = {r["reason"] for r in _read("reason_theory_map.csv")}
    assert reasons == factors | {"site2_less_mentoring"}


def test_reason_sentences_match_retake_site_factors():
    """The reason sentences are the ones retake_site_factors.csv already quotes."""
    quoted = {
        r["factor"]: r["source_sentence"]
        for r in _read("retake_site_factors.csv")
        if r["source_sentence"]
    }
    for factor, sentence in quoted.items():
        assert sentence == REASON_SENTENCE[factor], factor


# ----------------------------------------------------------------- against the seed files


def test_embedded_table_1_extract_is_in_the_paper():
    """TABLE_1_001 is a verbatim slice of 001 starting at line 169 (Table 1's caption)."""
    path = SEEDS / SEED_FILES["001"]
    if not path.exists():
        pytest.skip(f"seed papers not available at {SEEDS}")
    lines = path.read_text(encoding="utf-8").splitlines()
    block = _extract_lines()
    start = TABLE_1_FIRST_LINE - 1
    assert lines[start : start + len(block)] == block


def test_group_sizes_are_in_the_paper():
    """The group N (mentors 6, OTs 19) is 001's Results sentence; 002's abstract agrees."""
    assert RESULTS_N_SENTENCE in _seed_text(SEED_FILES["001"])
    assert "mentors (n = 6) and OTs (n = 19)" in _seed_text("002_191cd029801ab780.txt")


def test_quoted_sentences_are_verbatim_in_the_seeds():
    """Every supporting sentence is in the seed named by source_file (whitespace of line
    breaks normalised); every reason sentence is in 001 (the 'Known reasons' sentence is cut
    by a table block at a page break in 001, so there it is checked in two parts and whole
    in 003)."""
    text = {k: _seed_text(v) for k, v in SEED_FILES.items()}
    for r in _read("reason_theory_map.csv"):
        assert _norm(r["supporting_sentence"]) in text[r["source_file"]], r["theme"]
    assert TURNOVER in text["001"] and SITE_2 in text["001"]
    cut = KNOWN.index("delivery, and management issues")
    assert KNOWN[:cut].strip() in text["001"] and KNOWN[cut:] in text["001"]
    assert KNOWN in text["003"]
    assert (
        SITE_2.replace("Table 3", "Table 4").replace("43 min per", "43 minutes per") in text["003"]
    )
