"""``build/claims.json``: every claim the article marks, judged on the build's results.

The article marks a data-dependent sentence as ``[text]{#claim-id .claim}`` (or a div
``::: {#claim-id .claim}``); the claim itself is declared next to its analysis
(``casereport.analyses.claims_registry``). :func:`write_claims` judges every declared
claim, records the marked sentence with its numbers filled in, and lists the problems
that ``casereport build --strict`` fails on: a claim that fails, an id the article marks
but no analysis declares, and a ``{{< var >}}`` with no value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.markup import escape as rich_escape

from casereport.analyses import claim_rules
from casereport.analyses.claims_registry import CLAIMS
from casereport.primitives import atomic
from casereport.report import shortcodes

_SPAN_ATTR = re.compile(r"\]\{#([A-Za-z][\w-]*)((?:\s+\.[\w-]+)*)\s+\.claim\b[^}]*\}")
# a second sentence resting on the same claim: [...]{.claim of="claim-id"} (ids are unique)
_SPAN_OF = re.compile(r"\]\{\.claim\s+of=\"([A-Za-z][\w-]*)\"\}")
_DIV = re.compile(r"^:::+\s*\{#([A-Za-z][\w-]*)[^}]*\.claim\b[^}]*\}\s*\n(.*?)^:::+\s*$",
                  re.M | re.S)


def marked_sentences(text: str) -> dict[str, str]:
    """``claim id -> marked text`` for every ``[...]{#id .claim}`` span and claim div (the
    first sentence when ``[...]{.claim of="id"}`` marks another resting on the same claim)."""
    out: dict[str, str] = {}
    for m in [*_SPAN_ATTR.finditer(text), *_SPAN_OF.finditer(text)]:
        end, depth, i = m.start(), 0, m.start() - 1
        while i >= 0:  # walk back to the matching '['
            if text[i] == "]":
                depth += 1
            elif text[i] == "[":
                if depth == 0:
                    break
                depth -= 1
            i -= 1
        out.setdefault(m.group(1), " ".join(text[i + 1 : end].split()))
    for m in _DIV.finditer(text):
        out[m.group(1)] = " ".join(m.group(2).split())
    return out


@dataclass
class Judged:
    """What the build learnt about the article's claims."""

    verdicts: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what --strict fails on

    @property
    def failed(self) -> list[dict]:
        return [v for v in self.verdicts if v["status"] == claim_rules.FAILS]

    def report(self, strict: bool, say: Callable[[str], object]) -> int:
        """Print one line per problem; the exit code: 1 under ``strict`` when any."""
        n = {s: sum(v["status"] == s for v in self.verdicts)
             for s in (claim_rules.HOLDS, claim_rules.FAILS, claim_rules.NOT_EVALUABLE)}
        say(f"claims    {n[claim_rules.HOLDS]} hold, {n[claim_rules.FAILS]} fail, "
            f"{n[claim_rules.NOT_EVALUABLE]} not evaluable -> build/claims.json")
        for p in self.problems:
            say(f"{'error' if strict else 'warning'}   {rich_escape(p)}")
        if self.problems and strict:
            say(f"build failed (--strict): {len(self.problems)} claim or variable problem(s); "
                "the report marks each failed claim")
            return 1
        return 0


def judge_article(article_text: str, results: pd.DataFrame, variables: dict) -> Judged:
    """Judge every declared claim; the sentences are the article's, numbers filled in."""
    marked = marked_sentences(article_text)
    out = Judged()
    for verdict in claim_rules.judge_all(CLAIMS, results):
        sentence = marked.get(verdict.id, "")
        if sentence:
            sentence = shortcodes.substitute_vars(sentence, variables, [])
        entry = verdict.as_json(sentence)
        entry["in_article"] = verdict.id in marked
        entry["now"] = claim_rules.now_text(verdict)
        out.verdicts.append(entry)
        if verdict.status == claim_rules.FAILS and entry["in_article"]:
            out.problems.append(
                f"claim {verdict.id} fails: \u201c{sentence}\u201d needs {verdict.asserts}; "
                f"judged on {entry['now']}"
            )
    declared = {c.id for c in CLAIMS}
    for cid in marked.keys() - declared:
        out.problems.append(f"claim {cid}: marked in the article but declared by no analysis")
    for key in dict.fromkeys(shortcodes.var_keys(article_text)):
        try:
            shortcodes.lookup_var(variables, key)
        except KeyError:
            out.problems.append(f"var {key} has no value in _variables.yml (unresolved)")
    return out


def article_text(article: Path, build_dir: Path) -> str:
    """The article's text without front matter, its includes resolved."""
    return shortcodes.resolve_includes(
        shortcodes.strip_front_matter(Path(article).read_text(encoding="utf-8")),
        Path(article).parent,
        Path(build_dir),
    )


def judge_file(article: Path, build_dir: Path, results: pd.DataFrame, variables: dict) -> Judged:
    """Judge the claims of ``article`` (includes resolved) and write ``claims.json`` in
    ``build_dir``."""
    judged = judge_article(article_text(article, build_dir), results, variables)
    write_claims(Path(build_dir) / "claims.json", judged)
    return judged


def write_claims(path: Path, judged: Judged) -> None:
    """``claims.json``: every verdict, and the problems --strict fails on (atomic)."""
    counts = {s: sum(v["status"] == s for v in judged.verdicts)
              for s in (claim_rules.HOLDS, claim_rules.FAILS, claim_rules.NOT_EVALUABLE)}
    doc = {"counts": counts, "claims": judged.verdicts, "problems": judged.problems}
    atomic.write_text(Path(path), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def read_claims(path: Path) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        return []
    return json.loads(p.read_text(encoding="utf-8")).get("claims", [])
