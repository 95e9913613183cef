"""Boolean minimisation of a QCA truth table by Quine–McCluskey: conservative and
parsimonious solutions, prime implicants, minimal covers, their consistency and coverage,
and the limited-diversity share.

Procedure (Quine 1952; McCluskey 1956; for QCA, Ragin 1987 ch. 6 and Dusa 2019, QCA with
R, ch. 8):

1. From :func:`~casereport.stats.truth_table` (``complete=True``) rows with OUT = 1 and at
   least ``n_cut`` cases are the positive minterms, rows with OUT = 0 and at least
   ``n_cut`` cases the negative ones, and the others (no or too few cases) remainders.
2. Quine–McCluskey: starting from the positive minterms (conservative solution) or the
   positive minterms and the remainders as don't-cares (parsimonious solution), implicants
   that differ in exactly one fixed position (with the same eliminated positions) are
   merged, repeatedly; the implicants never merged are the prime implicants. Only prime
   implicants covering at least one positive minterm are kept. (Negative minterms are
   never merged in, so no prime implicant covers one.)
3. Minimal cover: an exhaustive search over sets of prime implicants in increasing size
   returns *every* cover of the positive minterms with the fewest prime implicants (the
   same models as Petrick's method restricted to its minimum-size products). They are
   ordered by total literals, then alphabetically; the first is ``expression``.
4. Each term's and each solution's inclusion (consistency), PRI and coverage use the
   cases' fuzzy or crisp memberships (term = min over its literals, solution = max over
   its terms; :func:`~casereport.stats.set_measures`); unique coverage covU of a term =
   coverage of the solution − coverage of the solution without that term.

Limited diversity: observed configurations / 2^k; with 7 or 16 cases and k >= 3 most rows
are remainders, so a parsimonious solution rests mainly on simplifying assumptions about
configurations never observed; ``diversity`` is reported so a reader can be warned.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .qca import set_measures, truth_table

__all__ = ["QCASolution", "minimize", "prime_implicants", "term_string"]

DASH = 2  # an eliminated position in an implicant
_MAX_COVER_CHECKS = 2_000_000


def prime_implicants(minterms: Sequence[int], k: int) -> list[tuple[int, ...]]:
    """Prime implicants of the Boolean function whose true (or don't-care) points are the
    ``minterms`` (integers, first condition the most significant bit) in k variables, by
    Quine–McCluskey merging. Implicants are tuples with 0, 1 or ``DASH`` (2) per variable."""
    current = {tuple((m >> (k - 1 - j)) & 1 for j in range(k)) for m in set(minterms)}
    primes: set[tuple[int, ...]] = set()
    while current:
        merged: set[tuple[int, ...]] = set()
        used: set[tuple[int, ...]] = set()
        groups: dict[tuple, list] = {}
        for imp in current:  # only implicants with the same dash pattern can merge
            groups.setdefault(tuple(v == DASH for v in imp), []).append(imp)
        for members in groups.values():
            for a, b in itertools.combinations(members, 2):
                diff = [j for j in range(k) if a[j] != b[j]]
                if len(diff) == 1:
                    new = list(a)
                    new[diff[0]] = DASH
                    merged.add(tuple(new))
                    used.update((a, b))
        primes |= current - used
        current = merged
    return sorted(primes)


def _covers(imp: tuple[int, ...], m: int, k: int) -> bool:
    return all(v == DASH or v == (m >> (k - 1 - j)) & 1 for j, v in enumerate(imp))


def term_string(imp: tuple[int, ...], conditions: Sequence[str]) -> str:
    """ "A*~B" style: presence as the name, absence as ~name, eliminated positions left out;
    an implicant with no literal is "1"."""
    lits = [c if v == 1 else f"~{c}" for c, v in zip(conditions, imp, strict=True) if v != DASH]
    return "*".join(lits) or "1"


@dataclass
class QCASolution:
    """Result of :func:`minimize`.

    ``expression``: the first minimal solution, "T1 + T2"; ``solutions``: all minimal
    solutions (lists of term strings); ``prime_implicants``: all relevant PIs; ``terms``:
    per term of the first solution ``term, incl, PRI, cov, covU``; ``incl, PRI, cov``: of
    the first solution; ``diversity``: observed configurations / 2^k;
    ``n_positive, n_negative, n_remainders``: truth-table rows of each kind.
    """

    outcome: str
    conditions: list[str]
    remainders_used: bool
    expression: str
    solutions: list[list[str]]
    prime_implicants: list[str]
    incl: float
    PRI: float
    cov: float
    diversity: float
    n_positive: int
    n_negative: int
    n_remainders: int
    n: int
    terms: pd.DataFrame = field(repr=False)

    @property
    def estimate(self) -> float:
        return self.incl

    def rows(self, analysis: str = "qca_minimize") -> list[dict]:
        kind = "parsimonious" if self.remainders_used else "conservative"
        base = {"analysis": analysis, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
        out = [
            {
                **base,
                "quantity": f"{kind} solution {self.expression} -> {self.outcome}: consistency",
                "estimate": self.incl,
                "n": self.n,
                "coverage": self.cov,
                "PRI": self.PRI,
                "diversity": self.diversity,
            }
        ]
        for t in self.terms.itertuples(index=False):
            out.append(
                {
                    **base,
                    "quantity": f"{kind} term {t.term}: consistency",
                    "estimate": t.incl,
                    "n": self.n,
                    "coverage": t.cov,
                    "unique_coverage": t.covU,
                    "PRI": t.PRI,
                }
            )
        return out


def _membership(imp, X) -> np.ndarray:
    cols = [X[:, j] if v == 1 else 1 - X[:, j] for j, v in enumerate(imp) if v != DASH]
    return np.minimum.reduce(cols) if cols else np.ones(X.shape[0])


def _minimal_covers(pis, positives, k) -> list[tuple[int, ...]]:
    table = [frozenset(m for m in positives if _covers(p, m, k)) for p in pis]
    target = frozenset(positives)
    checked = 0
    for size in range(1, len(pis) + 1):
        found = []
        for combo in itertools.combinations(range(len(pis)), size):
            checked += 1
            if checked > _MAX_COVER_CHECKS:
                raise ValueError("too many prime implicants for an exhaustive cover search")
            if frozenset().union(*(table[i] for i in combo)) == target:
                found.append(combo)
        if found:
            return found
    return []


def minimize(
    df: pd.DataFrame,
    conditions: Sequence[str],
    outcome: str,
    remainders: bool = False,
    incl_cut: float = 1.0,
    n_cut: int = 1,
    negate: bool = False,
    case_col: str | None = None,
) -> QCASolution:
    """Minimise the truth table of ``outcome`` (or of ~outcome with ``negate=True``) on
    ``conditions`` (memberships in [0, 1]); ``remainders=False`` gives the conservative
    (complex) solution, ``True`` the parsimonious one (module docstring). A row is positive
    when its inclusion >= ``incl_cut`` and it has >= ``n_cut`` cases. Raises ValueError
    when no row is positive."""
    conditions = list(conditions)
    k = len(conditions)
    d = df.dropna(subset=conditions + [outcome])
    label = f"~{outcome}" if negate else outcome
    if negate:
        d = d.assign(**{label: 1.0 - d[outcome].astype(float)})
    tt = truth_table(d, conditions, label, case_col=case_col, incl_cut=incl_cut, complete=True)
    row = tt["row"].to_numpy() - 1
    enough = tt["n"].to_numpy() >= n_cut
    out1 = (tt["OUT"] == 1).to_numpy()
    positives = [int(r) for r in row[enough & out1]]
    negatives = row[enough & ~out1]
    rem = [int(r) for r in row[~enough]]
    if not positives:
        raise ValueError(f"no truth-table row is sufficient for {label} at incl_cut={incl_cut}")
    pis = [
        p
        for p in prime_implicants(positives + (rem if remainders else []), k)
        if any(_covers(p, m, k) for m in positives)
    ]
    covers = _minimal_covers(pis, positives, k)

    def sort_key(combo):
        terms = [pis[i] for i in combo]
        return (sum(v != DASH for t in terms for v in t), " + ".join(_names(terms)))

    def _names(terms):
        return sorted(term_string(t, conditions) for t in terms)

    covers.sort(key=sort_key)
    X = d[conditions].to_numpy(float)
    Y = d[label].to_numpy(float)
    first = [pis[i] for i in covers[0]]
    mem = {term_string(t, conditions): _membership(t, X) for t in first}
    union = np.maximum.reduce(list(mem.values()))
    sol = set_measures(union, Y)
    term_rows = []
    for name, m in sorted(mem.items()):
        others = [v for n2, v in mem.items() if n2 != name]
        cov_without = set_measures(np.maximum.reduce(others), Y)["cov"] if others else 0.0
        meas = set_measures(m, Y)
        term_rows.append(
            {
                "term": name,
                "incl": meas["incl"],
                "PRI": meas["pri"],
                "cov": meas["cov"],
                "covU": sol["cov"] - cov_without,
            }
        )
    return QCASolution(
        outcome=label,
        conditions=conditions,
        remainders_used=remainders,
        expression=" + ".join(_names(first)),
        solutions=[_names([pis[i] for i in c]) for c in covers],
        prime_implicants=sorted(term_string(p, conditions) for p in pis),
        incl=sol["incl"],
        PRI=sol["pri"],
        cov=sol["cov"],
        diversity=int((tt["n"] > 0).sum()) / 2**k,
        n_positive=len(positives),
        n_negative=int(len(negatives)),
        n_remainders=len(rem),
        n=len(d),
        terms=pd.DataFrame(term_rows),
    )
