"""Regenerate the bad-input corpus from the good files in data/.

Each case is a folder holding only the file(s) that differ from data/; the tests copy
data/ to a temporary folder and lay the case on top. The verdict for each case (error or
tolerated variant) and the problem it must produce are in tests/test_validate_corpus.py.

    .venv/bin/python tests/bad_inputs/make_corpus.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data"
# Paths inside data/ (one folder per trial).
E, R, F, C = (
    "enrich/enrich_sites.csv",
    "retake/retake_sites.csv",
    "retake/retake_site_factors.csv",
    "retake/published_claims.yaml",
)


def lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


def cell_edit(name: str, line: int, column: str, value: str) -> str:
    """The file with one cell replaced (line counts the header as 1; no quoted commas)."""
    rows = lines(name)
    header = rows[0].split(",")
    cells = rows[line - 1].split(",")
    cells[header.index(column)] = value
    rows[line - 1] = ",".join(cells)
    return "\n".join(rows) + "\n"


def drop_column(name: str, column: str) -> str:
    rows = [r.split(",") for r in lines(name)]
    i = rows[0].index(column)
    return "\n".join(",".join(r[:i] + r[i + 1 :]) for r in rows) + "\n"


def text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def build() -> dict[str, dict[str, bytes]]:
    enrich = lines(E)
    cases: dict[str, dict[str, str | bytes]] = {
        # ---- errors
        "missing_column": {E: drop_column(E, "fidelity_score")},
        "extra_unknown_column": {
            E: "\n".join(r + ("," + ("notes" if i == 0 else "")) for i, r in enumerate(enrich))
            + "\n"
        },
        "duplicate_column_name": {E: "\n".join(r + "," + (r.split(",")[5]) for r in enrich) + "\n"},
        "wrong_type": {E: cell_edit(E, 3, "total_participants", "abc")},
        "decimal_in_integer_column": {E: cell_edit(E, 2, "total_participants", "181.0")},
        "decimal_comma": {E: cell_edit(E, 2, "fidelity_score", '"10,4"')},
        "blank_cell": {E: cell_edit(E, 5, "fidelity_score", "")},
        "duplicate_site": {E: cell_edit(E, 4, "site", "2")},
        "negative_count": {E: cell_edit(E, 6, "engaged", "-1")},
        "engaged_above_denominator": {E: cell_edit(E, 3, "engaged", "99")},
        "offered_above_total": {E: cell_edit(E, 2, "offered_peer_support", "200")},
        "percentage_140": {E: cell_edit(E, 4, "pct_engaged", "140")},
        "fidelity_out_of_range": {E: cell_edit(E, 7, "fidelity_score", "12.5")},
        "employer_not_in_codebook": {E: cell_edit(E, 5, "employer", "Vol")},
        "empty_file": {E: ""},
        "header_only": {E: enrich[0] + "\n"},
        "wrong_delimiter": {E: "\n".join(r.replace(",", ";") for r in enrich) + "\n"},
        "non_utf8_bytes": {E: text(E).replace("Town/rural", "Town/rural Côte").encode("cp1252")},
        "trailing_whitespace_in_id": {E: cell_edit(E, 4, "site", "3 ")},
        "ragged_row": {E: text(E).replace("16,80,10.9,NHS,Urban", "16,80,10.9,NHS,Urban,99", 1)},
        "months_zero": {R: cell_edit(R, 9, "months_in_study", "0")},
        "minutes_negative": {R: cell_edit(R, 3, "mentoring_minutes", "-5")},
        "pct_phone_above_100": {R: cell_edit(R, 10, "pct_phone_teams", "100.5")},
        "factor_site_not_in_site_table": {
            F: text(F) + '17,ot_turnover,1,"OT turnover at site 17."\n'
        },
        "factor_not_in_codebook": {F: text(F).replace("1,less_confident,0,", "1,morale,0,", 1)},
        "present_not_0_or_1": {F: text(F).replace("2,ot_turnover,0,", "2,ot_turnover,2,", 1)},
        "present_without_sentence": {F: text(F).replace("2,ot_turnover,0,", "2,ot_turnover,1,", 1)},
        "missing_factor_row": {F: text(F).replace("3,larger_caseload,0,\n", "", 1)},
        "claims_not_yaml": {C: "claims:\n  - id: x\n    published: [1, 2\n"},
        "claims_missing_keys": {C: "claims:\n  - id: only_an_id\n"},
        # ---- tolerated variants
        "bom": {E: b"\xef\xbb\xbf" + text(E).encode("utf-8")},
        "crlf_line_endings": {E: text(E).replace("\n", "\r\n")},
        "columns_reordered": {
            E: "\n".join(",".join(reversed(r.split(","))) for r in enrich) + "\n"
        },
        "trailing_blank_lines": {E: text(E) + "\n\n"},
        "blank_line_between_rows": {E: text(E).replace("\n3,", "\n\n3,", 1)},
        "quoted_cells": {E: text(E).replace("181,93", '"181","93"', 1)},
        "non_numeric_site_ids": {
            E: "\n".join(r if i == 0 else "S" + r for i, r in enumerate(enrich)) + "\n"
        },
        "no_claims_file": {},
    }
    # several problems in one file: wrong type, percentage 140 and a rule, all on other lines
    several = cell_edit(E, 3, "total_participants", "abc").splitlines()
    several[3] = several[3].replace(",100,27,79,", ",140,27,79,")
    several[5] = several[5].replace(",20,95,16,80,", ",20,95,26,80,")
    cases["several_problems_at_once"] = {E: "\n".join(several) + "\n"}
    return {
        name: {f: (c if isinstance(c, bytes) else c.encode("utf-8")) for f, c in files.items()}
        for name, files in cases.items()
    }


def main() -> None:
    for old in HERE.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    for name, files in build().items():
        folder = HERE / name
        folder.mkdir()
        for fname, content in files.items():
            (folder / fname).parent.mkdir(parents=True, exist_ok=True)
            (folder / fname).write_bytes(content)
        if not files:  # keep empty cases in git; the README-like marker says what is removed
            (folder / "REMOVE").write_text(f"{C}\n", encoding="utf-8")
    print(f"wrote {len(build())} cases to {HERE}")


if __name__ == "__main__":
    main()
