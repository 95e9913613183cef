"""Quine–McCluskey minimisation against the published R QCA solutions for the Lipset crisp
data and against brute-force enumeration of all sum-of-products covers.

Published: the R package QCA's testthat snapshots for ``minimize`` (QCA 3.x,
tests/testthat/_snaps/minimize.md) print, for the LC data and its truth table
``truthTable(LC, "SURV")`` (incl.cut = 1):

    minimize(ttLC)                       M1: DEV*~URB*LIT*STB + DEV*LIT*IND*STB <-> SURV
        inclS 1, 1; covS 0.500, 0.750; covU 0.250, 0.500; solution cov 1.000
    minimize(ttLC, include = "?")        M1: DEV*STB <-> SURV   (cov 1.000)
    minimize(ttLCn)            (~SURV)   M1: ~DEV*~URB*~IND + DEV*LIT*IND*~STB <-> ~SURV
    minimize(ttLCn, include = "?")       M1: ~DEV + ~STB <-> ~SURV
        covS 0.800, 0.700; covU 0.300, 0.200

(The parsimonious "DEV*~IND + URB*STB" quoted in the brief is not the LC result; the
snapshot above shows DEV*STB.)
"""

import itertools

import numpy as np
import pandas as pd
import pytest

from casereport.stats import minimize, prime_implicants, term_string
from tests.test_stats_qca import CONDS, _lc


def _terms(sol):
    return sorted(sol.expression.split(" + "))


def test_lipset_conservative_matches_published():
    """Published conservative solution and its term measures (module docstring)."""
    sol = minimize(_lc(), CONDS, "SURV")
    assert _terms(sol) == sorted(["DEV*~URB*LIT*STB", "DEV*LIT*IND*STB"])
    assert len(sol.solutions) == 1
    t = sol.terms.set_index("term")
    assert t.loc["DEV*~URB*LIT*STB", "cov"] == pytest.approx(0.5)
    assert t.loc["DEV*~URB*LIT*STB", "covU"] == pytest.approx(0.25)
    assert t.loc["DEV*LIT*IND*STB", "cov"] == pytest.approx(0.75)
    assert t.loc["DEV*LIT*IND*STB", "covU"] == pytest.approx(0.5)
    assert (t["incl"] == 1).all() and sol.incl == 1 and sol.cov == pytest.approx(1.0)
    assert sol.n_positive == 3 and sol.n_negative == 6 and sol.n_remainders == 23
    assert sol.diversity == pytest.approx(9 / 32)


def test_lipset_parsimonious_and_negated_match_published():
    """Published parsimonious solution DEV*STB; for ~SURV the conservative
    ~DEV*~URB*~IND + DEV*LIT*IND*~STB and parsimonious ~DEV + ~STB with covS 0.8, 0.7 and
    covU 0.3, 0.2 (module docstring)."""
    par = minimize(_lc(), CONDS, "SURV", remainders=True)
    assert par.expression == "DEV*STB" and par.cov == pytest.approx(1.0)
    neg = minimize(_lc(), CONDS, "SURV", negate=True)
    assert neg.outcome == "~SURV"
    assert _terms(neg) == sorted(["~DEV*~URB*~IND", "DEV*LIT*IND*~STB"])
    negp = minimize(_lc(), CONDS, "SURV", negate=True, remainders=True)
    assert _terms(negp) == ["~DEV", "~STB"]
    t = negp.terms.set_index("term")
    assert t.loc["~DEV", "cov"] == pytest.approx(0.8) and t.loc["~STB", "cov"] == pytest.approx(0.7)
    assert t.loc["~DEV", "covU"] == pytest.approx(0.3)
    assert t.loc["~STB", "covU"] == pytest.approx(0.2)
    rows = negp.rows("qca")
    assert rows[0]["estimate"] == 1.0 and len(rows) == 3


def _brute_force(pos, neg, rem, k, remainders):
    """Independent oracle: every cube in {0, 1, -}^k; an implicant covers no negative
    minterm (and, for the conservative solution, no remainder) and at least one positive;
    primes are implicants contained in no other implicant; the minimal covers are the
    smallest sets of implicants covering all positives, found by trying every subset."""
    allowed = set(pos) | (set(rem) if remainders else set())

    def points(cube):
        return {
            m
            for m in range(2**k)
            if all(c == 2 or c == (m >> (k - 1 - j)) & 1 for j, c in enumerate(cube))
        }

    cubes = list(itertools.product([0, 1, 2], repeat=k))
    imps = [c for c in cubes if points(c) <= allowed and points(c) & set(pos)]
    primes = [a for a in imps if not any(points(a) < points(b) for b in imps)]
    for size in range(1, len(imps) + 1):
        covers = [
            s
            for s in itertools.combinations(imps, size)
            if set().union(*(points(c) for c in s)) >= set(pos)
        ]
        if covers:
            return primes, size, covers
    raise AssertionError("no cover")


@pytest.mark.parametrize("seed", range(12))
def test_random_truth_tables_against_brute_force(seed):
    """Random 3- and 4-condition truth tables (rows positive, negative or remainder): the
    prime implicants, the minimal number of terms and the set of minimal prime covers equal
    the brute-force enumeration, for both conservative and parsimonious solutions."""
    rng = np.random.default_rng(seed)
    k = 3 + seed % 2
    kinds = rng.choice(["pos", "neg", "rem"], size=2**k, p=[0.35, 0.35, 0.3])
    if not (kinds == "pos").any():
        kinds[0] = "pos"
    pos = [m for m in range(2**k) if kinds[m] == "pos"]
    neg = [m for m in range(2**k) if kinds[m] == "neg"]
    rem = [m for m in range(2**k) if kinds[m] == "rem"]
    conds = list("ABCD"[:k])
    cases = [[(m >> (k - 1 - j)) & 1 for j in range(k)] + [1 if m in pos else 0] for m in pos + neg]
    df = pd.DataFrame(cases, columns=conds + ["Y"])
    for remainders in (False, True):
        primes, size, covers = _brute_force(pos, neg, rem, k, remainders)
        sol = minimize(df, conds, "Y", remainders=remainders)
        assert sorted(sol.prime_implicants) == sorted(term_string(p, conds) for p in primes)
        assert all(len(s) == size for s in sol.solutions)
        prime_covers = {
            tuple(sorted(term_string(c, conds) for c in cov))
            for cov in covers
            if all(c in primes for c in cov)
        }
        assert {tuple(s) for s in sol.solutions} == prime_covers
        assert sol.incl == 1.0 and sol.cov == pytest.approx(1.0)


def test_prime_implicants_textbook_example():
    """Hand calculation (McCluskey 1956 style): f(A,B,C) = Σm(0, 1, 2, 5, 6, 7) has the six
    prime implicants ~A~B, ~A~C, ~BC, B~C, AC, AB (the cyclic example)."""
    pis = {term_string(p, "ABC") for p in prime_implicants([0, 1, 2, 5, 6, 7], 3)}
    assert pis == {"~A*~B", "~A*~C", "~B*C", "B*~C", "A*C", "A*B"}


def test_no_positive_row_raises():
    """An outcome absent everywhere has nothing to minimise."""
    df = pd.DataFrame({"A": [0, 1], "B": [1, 0], "Y": [0, 0]})
    with pytest.raises(ValueError, match="no truth-table row"):
        minimize(df, ["A", "B"], "Y")
