"""Layer 3's shortcut (trialdata/cells.py) against frictionless, its oracle: a file the
shortcut passes is one frictionless passes, and every other file gets frictionless's own
problems, word for word."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from casereport.primitives import paths
from casereport.trialdata import codebook, validate
from casereport.trialdata.cells import plainly_valid

E = "enrich_sites"


def _files():
    pkg = codebook.load_package(paths.DATA_DIR)
    return [(paths.DATA_DIR / r["path"], r) for r in pkg["resources"]]


def _shortcut(text: str, res: dict) -> bool:
    header, _ = validate.parse_rows(text)
    keep = [f for f in res["schema"]["fields"] if f["name"] in header]
    pk = res["schema"].get("primaryKey", [])
    return plainly_valid(text, keep, pk if all(k in header for k in pk) else [], header)


def _both(path, text: str, res: dict, monkeypatch) -> tuple[list, list]:
    """check_cells as it runs, and with frictionless alone (the shortcut turned off)."""
    header, _ = validate.parse_rows(text)
    mine = validate.check_cells(path, text, res, header)
    with monkeypatch.context() as m:
        m.setattr(validate, "plainly_valid", lambda *a: False)
        theirs = validate.check_cells(path, text, res, header)
    return mine, theirs


def test_every_trial_file_is_plain_and_frictionless_is_not_imported():
    """The real files and the synthetic fixture's all take the shortcut; validating the data
    folder and loading every table imports no frictionless (a fresh interpreter)."""
    for path, res in _files():
        assert _shortcut(codebook.read_text(path, []), res), path
    code = ("import sys; from casereport.trialdata import loaders, validate; "
            "assert validate.validate_dir().ok; loaders.load_enrich(); loaders.load_retake(); "
            "loaders.load_factors(); loaders.load_programme_theory(); "
            "print('frictionless' in sys.modules)")
    env = {k: v for k, v in __import__("os").environ.items() if k != "CASEREPORT_VALIDATED"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)  # fmt: skip
    assert out.stdout.strip() == "False", out.stderr


# (resource, cell column, cell value): each must leave the decision to frictionless
UNSURE = [
    ("total_participants", " 181"), ("total_participants", "1_000"),
    ("total_participants", "181.0"), ("total_participants", "١٨١"),
    ("fidelity_score", "NaN"), ("fidelity_score", "Infinity"), ("fidelity_score", "10,4"),
    ("fidelity_score", ""), ("fidelity_score", "12.5"), ("employer", "Vol"), ("site", "3 "),
    ("site", "2"),  # a second site 2: not unique
]  # frictionless passes some (int() reads " 181", "1_000" and "١٨١"), reports the others


@pytest.mark.parametrize(("column", "value"), UNSURE)
def test_cells_frictionless_might_read_otherwise_are_left_to_it(column, value, monkeypatch):
    path = paths.ENRICH_CSV
    res = codebook.resource(E, codebook.load_package(codebook.package_of(path)))
    lines = codebook.read_text(path, []).splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")  # site 3
    cells[header.index(column)] = value
    text = "\n".join([*lines[:3], ",".join(cells), *lines[4:]]) + "\n"
    assert not _shortcut(text, res)
    mine, theirs = _both(path, text, res, monkeypatch)
    assert mine == theirs


def test_rows_and_codebooks_it_does_not_model_are_left_to_frictionless():
    path = paths.ENRICH_CSV
    res = codebook.resource(E, codebook.load_package(codebook.package_of(path)))
    text = codebook.read_text(path, [])
    lines = text.splitlines()
    assert _shortcut(text, res)
    for bad in ([*lines[:3], "", *lines[3:]],  # a blank line
                [*lines[:3], "," * lines[0].count(","), *lines[3:]],  # a row of blanks
                [*lines[:3], lines[3] + ",", *lines[4:]],  # one cell too many
                [lines[0] + ",notes", *[ln + ",x" for ln in lines[1:]]]):  # unknown column
        assert not _shortcut("\n".join(bad) + "\n", res)
    for change in ({"format": "email"}, {"missingValues": ["", "NA"]}, {"example": 3},
                   {"constraints": {"minimum": 0.0}}, {"constraints": {"exclusiveMinimum": 0}},
                   {"type": "boolean"}):
        fields = [{**f, **change} if f["name"] == "engaged" else f
                  for f in res["schema"]["fields"]]  # fmt: skip
        assert not _shortcut(text, {**res, "schema": {**res["schema"], "fields": fields}})


def _mutate(text: str, rng: random.Random) -> str:
    """One to three random edits: a cell replaced, a blank, short, long or repeated row, the
    header shuffled or mislabelled, spaces after commas, CRLF line ends."""
    pool = ["", " ", "1", "01", "+1", "-0", "1.0", "1.", ".5", "1e3", "nan", "inf", "1_000",
            " 5", "5 ", "abc", '"a,b"', '""', '"7"', "'x'", "١٢", "100", "100.5", "-5", "NHS",
            "Voluntary", "Vol", "ot_turnover", "zzz", "12", "3 ", "S1", '" 5"', "é", "10,4"]
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        op, i = rng.random(), rng.randrange(1, max(2, len(lines) - 1))
        if op < 0.6 and lines[i]:
            cells = lines[i].split(",")  # may cut a quoted cell: also a case
            cells[rng.randrange(len(cells))] = rng.choice(pool + lines[1].split(","))
            lines[i] = ",".join(cells)
        elif op < 0.7:
            lines.insert(i, rng.choice(["", ",,,", " ", lines[rng.randrange(1, len(lines))]]))
        elif op < 0.76:
            lines[i] += rng.choice([",", ",x"])
        elif op < 0.84:
            head = lines[0].split(",")
            rng.shuffle(head)
            if rng.random() < 0.4:
                head[rng.randrange(len(head))] = rng.choice(["notes", head[0], " " + head[-1]])
            lines[0] = ",".join(head)
        elif op < 0.92:
            lines = [ln.replace(",", ", ") if rng.random() < 0.5 else ln for ln in lines]
        else:
            return "\r\n".join(lines)
    return "\n".join(lines)


def test_shortcut_agrees_with_frictionless_on_mutated_files(monkeypatch):
    """Oracle: frictionless alone. 160 seeded random edits of the six real files (about a
    fifth take the shortcut; 6,600 more were compared when it was written) and quoted
    cells after ", " (csv.Sniffer then skips the spaces)."""
    rng = random.Random(20261204)
    files = _files()
    taken = 0
    for _ in range(160):
        path, res = rng.choice(files)
        text = _mutate(codebook.read_text(path, []), rng)
        header, rows = validate.parse_rows(text)
        if not header or not rows:
            continue
        taken += _shortcut(text, res)
        mine, theirs = _both(path, text, res, monkeypatch)
        assert mine == theirs, text[:400]
    assert taken > 15
    path = paths.ENRICH_CSV
    res = codebook.resource(E, codebook.load_package(codebook.package_of(path)))
    lines = codebook.read_text(path, []).splitlines()
    for quoted in ('"NHS"', '"Voluntary"', '"Vol"'):
        rows = [ln.replace(",NHS,", f', {quoted},').replace(",Voluntary,", f', {quoted},')
                for ln in lines[1:]]  # fmt: skip
        mine, theirs = _both(path, "\n".join([lines[0], *rows]) + "\n", res, monkeypatch)
        assert mine == theirs
