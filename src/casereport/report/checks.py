"""Static checks of the article, run with or without Quarto.

- :func:`check_embeds`: every ``{{< embed nb#ident >}}`` (in the article and the fragments
  it includes) names an executed notebook that exists and a cell in it (Quarto's rules:
  id, then ``#| label:``, then tag) that has outputs and no error; ``fig-``/``tbl-`` cells
  also need their ``fig-cap``/``tbl-cap`` (Quarto numbers only captioned floats), and each
  include must stand alone on its line between blank lines.
- :func:`check_crossrefs`: every ``@fig-``/``@tbl-``/``@sec-`` reference has exactly one
  definition (an embedded labelled cell, or a ``{#fig-x}``-style id in the text), and no
  label is defined twice.
- :func:`check_citations`: every citation key is in the bibliography.

Each returns a list of human-readable problems (empty when all is well).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from casereport.primitives import paths
from casereport.report import cells, shortcodes

CROSSREF_KINDS = ("fig", "tbl", "sec", "eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def")
_KINDS = "|".join(CROSSREF_KINDS)
# A pandoc citation/cross-ref key: '@' not preceded by a word char (so not an e-mail).
_AT_KEY = re.compile(r"(?<![\w\\])@\{?([A-Za-z0-9_][\w:.#$%&\-+?<>~/]*)")
_ATTR_ID = re.compile(r"\{#((?:" + _KINDS + r")-[\w-]+)[^}]*\}")
_LABEL_OPT = re.compile(r"^#\|\s*label:\s*((?:" + _KINDS + r")-[\w-]+)\s*$", re.M)
_FENCED = re.compile(r"^(```+|~~~+).*?^\1\s*$", re.S | re.M)
_INLINE_CODE = re.compile(r"(`+).+?\1", re.S)
_BIB_KEY = re.compile(r"@\s*(\w+)\s*\{\s*([^,\s]+)\s*,")


def _expanded(article: Path, build_dir: Path | None) -> str:
    """The article body with includes resolved (build/ mapped to build_dir)."""
    article = Path(article)
    text = article.read_text(encoding="utf-8")
    bdir = build_dir if build_dir is not None else article.parent / "build"
    return shortcodes.resolve_includes(shortcodes.strip_front_matter(text), article.parent, bdir)


def _prose(text: str) -> str:
    """Text without code and shortcodes (where '@' is not a citation)."""
    text = _FENCED.sub("", text)
    text = _INLINE_CODE.sub("", text)
    return re.sub(r"\{\{<.*?>\}\}", "", text, flags=re.S)


def _include_layout(text: str) -> list[str]:
    """Quarto: an include "need[s] to appear by itself in a line ... surrounded by empty
    lines" (https://quarto.org/docs/authoring/includes.html)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        for m in shortcodes.INCLUDE_RE.finditer(line):
            alone = line.strip() == m.group(0)
            before = i == 0 or not lines[i - 1].strip()
            after = i == len(lines) - 1 or not lines[i + 1].strip()
            if not (alone and before and after):
                out.append(
                    f"include {m.group('arg')}: must be alone on its line, between blank lines"
                )
    return out


def _shortcodes_in_fragments(text: str, base_dir: Path, build_dir: Path) -> list[str]:
    """Quarto resolves embeds and includes before the fragment filter runs, so a
    fragment that holds one would show it as raw text."""
    out = []
    for m in shortcodes.FRAGMENT_RE.finditer(text):
        target = shortcodes.fragment_path(m.group("arg"), base_dir, build_dir)
        if target.is_file() and re.search(r"\{\{<\s*(embed|include)\b", target.read_text("utf-8")):
            out.append(f"fragment {m.group('arg')}: holds an embed or include, which Quarto "
                       "would not resolve there")
    return out


def check_embeds(article: Path, build_dir: Path | None = None) -> list[str]:
    """Problems with the article's embeds (notebook missing, label missing, no output)."""
    article = Path(article)
    bdir = Path(build_dir) if build_dir is not None else article.parent / "build"
    problems: list[str] = []
    text = article.read_text(encoding="utf-8")
    shortcodes.resolve_includes(shortcodes.strip_front_matter(text), article.parent, bdir, problems)
    problems += _include_layout(shortcodes.strip_front_matter(text))
    problems += _shortcodes_in_fragments(text, article.parent, bdir)
    body = _expanded(article, bdir)
    for emb in shortcodes.find_embeds(body):
        if not emb.ident:
            problems.append(f"embed {emb.path}: no cell identifier (#label)")
            continue
        nb_path = shortcodes.map_path(emb.path, article.parent, bdir)
        if not nb_path.is_file():
            problems.append(f"embed {emb.target}: notebook not found ({nb_path})")
            continue
        try:
            nb = cells.read_notebook(nb_path)
        except Exception as exc:  # nbformat raises several types for unreadable files
            problems.append(f"embed {emb.target}: cannot read notebook ({exc})")
            continue
        found = cells.find_cells(nb, emb.ident)
        if not found:
            problems.append(f"embed {emb.target}: no cell with that id, label or tag")
            continue
        kind = emb.ident.split("-", 1)[0]
        if kind in {"fig", "tbl"} and not cells.cell_options(found[0]).get(f"{kind}-cap"):
            # Quarto numbers (and so cross-references) only captioned figures and tables.
            problems.append(f"embed {emb.target}: the cell has no {kind}-cap option")
        for cell in found:
            outs = cell.get("outputs", [])
            if any(o.get("output_type") == "error" for o in outs):
                problems.append(f"embed {emb.target}: the cell ended in an error")
            elif not any(o.get("output_type") in {"display_data", "execute_result"} for o in outs):
                problems.append(f"embed {emb.target}: the cell has no display output")
    return problems


def definitions(article: Path, build_dir: Path | None = None) -> Counter[str]:
    """How many times each cross-reference label is defined in the expanded article."""
    body = _expanded(article, build_dir)
    found: Counter[str] = Counter()
    for emb in shortcodes.find_embeds(body):
        if re.match(rf"(?:{_KINDS})-", emb.ident):
            found[emb.ident] += 1
    no_embeds = shortcodes.EMBED_RE.sub("", body)
    for m in _ATTR_ID.finditer(no_embeds):
        found[m.group(1)] += 1
    for m in _LABEL_OPT.finditer(no_embeds):
        found[m.group(1)] += 1
    return found


def references(article: Path, build_dir: Path | None = None) -> list[str]:
    """Cross-reference labels used with ``@`` in the prose, in order."""
    body = _prose(_expanded(article, build_dir))
    return [
        k.rstrip(".:,;")
        for k in _AT_KEY.findall(body)
        if re.match(rf"(?:{_KINDS})-", k.rstrip(".:,;"))
    ]


def check_crossrefs(article: Path, build_dir: Path | None = None) -> list[str]:
    """Problems: a reference to an undefined label, or a label defined more than once."""
    defs = definitions(article, build_dir)
    problems = [
        f"cross-reference label {lab} is defined {n} times" for lab, n in defs.items() if n > 1
    ]
    for ref in dict.fromkeys(references(article, build_dir)):
        if defs[ref] == 0:
            problems.append(f"cross-reference @{ref} has no definition")
    return problems


def citation_keys(article: Path, build_dir: Path | None = None) -> list[str]:
    body = _prose(_expanded(article, build_dir))
    keys = []
    for k in _AT_KEY.findall(body):
        k = k.rstrip(".:,;}")
        if not re.match(rf"(?:{_KINDS})-", k):
            keys.append(k)
    return list(dict.fromkeys(keys))


def bib_keys(bib: Path) -> list[str]:
    text = Path(bib).read_text(encoding="utf-8")
    return [
        key
        for kind, key in _BIB_KEY.findall(text)
        if kind.lower() not in {"comment", "string", "preamble"}
    ]


def check_citations(
    article: Path, bib: Path | None = None, build_dir: Path | None = None
) -> list[str]:
    """Problems: a cited key missing from the bibliography, or a key defined twice there."""
    bib = Path(bib) if bib is not None else paths.ROOT / "references.bib"
    if not bib.is_file():
        return [f"bibliography {bib} not found"]
    known = bib_keys(bib)
    problems = [
        f"bibliography key {k} is defined {n} times" for k, n in Counter(known).items() if n > 1
    ]
    for key in citation_keys(article, build_dir):
        if key not in known:
            problems.append(f"citation @{key} is not in {bib.name}")
    return problems


def check_all(article: Path, build_dir: Path | None = None, bib: Path | None = None) -> list[str]:
    return (
        check_embeds(article, build_dir)
        + check_crossrefs(article, build_dir)
        + check_citations(article, bib, build_dir)
    )


def check_embed_sources(article: Path, notebooks_dir: Path | None = None) -> list[str]:
    """Before any build: every embed of ``build/runs/<nb>--<set>.ipynb#label`` names a
    source notebook ``notebooks/<nb>.ipynb`` that has a cell with that label (or tag)."""
    notebooks_dir = Path(notebooks_dir) if notebooks_dir is not None else paths.NOTEBOOKS_DIR
    body = shortcodes.strip_front_matter(shortcodes.article_source(article))
    problems = []
    for emb in shortcodes.find_embeds(body):
        stem = Path(emb.path).stem.split("--", 1)[0]
        src = notebooks_dir / f"{stem}.ipynb"
        if not src.is_file():
            problems.append(f"embed {emb.target}: no source notebook {src.name} in {notebooks_dir}")
        elif not cells.find_cells(cells.read_notebook(src), emb.ident):
            problems.append(f"embed {emb.target}: {src.name} has no cell labelled {emb.ident}")
    return problems


def check_vars(article: Path, variables: dict, build_dir: Path | None = None) -> list[str]:
    """Problems: a ``{{< var key >}}`` in the article (or its fragments) with no value."""
    problems = []
    for key in dict.fromkeys(shortcodes.var_keys(_expanded(article, build_dir))):
        try:
            shortcodes.lookup_var(variables, key)
        except KeyError:
            problems.append(f"var {key} is not in _variables.yml")
    return problems


def build_variables(build_dir: Path) -> dict | None:
    """The variables write_variables makes from a build's results and audit (or None)."""
    import tempfile

    import pandas as pd

    from casereport.report import variables

    results = Path(build_dir) / "results" / "all_results.csv"
    if not results.is_file():
        return None
    audit_csv = Path(build_dir) / "audit.csv"
    audit = pd.read_csv(audit_csv, dtype=str) if audit_csv.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        df = pd.read_csv(results, dtype={"label": str})
        return variables.write_variables(df, Path(tmp) / "v.yml", audit=audit)


def main() -> int:  # pragma: no cover - thin CLI: python -m casereport.report.checks
    """Print every problem of index.qmd against the notebooks and build/; exit 1 if any."""
    article = paths.ROOT / "index.qmd"
    problems = check_embed_sources(article) + check_crossrefs(article)
    problems += check_citations(article)
    if (paths.BUILD_DIR / "runs").is_dir():
        problems += check_embeds(article, paths.BUILD_DIR)
        values = build_variables(paths.BUILD_DIR)
        if values is not None:
            problems += check_vars(article, values, paths.BUILD_DIR)
    else:
        print("no build/ yet: embeds checked against notebooks/ only")
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
