"""The supplement (``supplement/``): where it lives, what its render reads, and the
numbers it gives its tables, figures and sections, which the article cites.

Quarto's manuscript projects have no supplement (quarto-dev discussion 14665), so the
supplement is a Quarto project of its own beside the article, rendered first
(:func:`casereport.report.quarto.render_supplement`). The article refers to it with an
empty span, ``[]{.supp ref="tbl-x"}`` (a table's or figure's label, or a section id of the
supplement), which becomes "Table S3" or "Supplement section S2": in Quarto through
``_quarto/supplement-refs.lua`` and the numbers read from the rendered supplement
(:func:`supplement_numbers`), in the no-Quarto preview through :func:`resolve_refs` and
the preview's own numbering of the supplement (:func:`number_sections`).
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from casereport.primitives import paths
from casereport.report import shortcodes

SUPPLEMENT = "supplement"  # the folder of the supplement's project, under the root
SUPPLEMENT_OUTPUT = "_output"  # its output-dir (supplement/_quarto.yml)
NUMBERS = "numbers.json"  # label -> "Table S3", in its output folder
#: What the supplement calls a section in the article's text.
SECTION_WORDS = "Supplement section"

_FLOAT = re.compile(r'<div id="((?:tbl|fig)-[\w-]+)" class="(?:[^"]* )?quarto-float[ "]')
_CAPTION = re.compile(r"<figcaption[^>]*>(.*?)</figcaption>", re.S)
_SECTION = re.compile(
    r'<section id="(sec-[\w-]+)"[^>]*>\s*<h2[^>]*>\s*<span class="supp-number">(S\d+)</span>'
)


def supplement_dir(root: Path | None = None) -> Path:
    return Path(root or paths.ROOT) / SUPPLEMENT


def supplement_numbers(page: str) -> dict[str, str]:
    """Label -> its number as the rendered supplement HTML ``page`` shows it: each float
    ``<div id="tbl-x" class="quarto-float ...">`` by the start of its caption ("Table S3"),
    each top-level section by the number ``_quarto/supplement.lua`` put in its heading
    ("Supplement section S2")."""
    out: dict[str, str] = {}
    for m in _FLOAT.finditer(page):
        cap = _CAPTION.search(page, m.end())
        text = html.unescape(re.sub(r"<[^>]+>", "", cap.group(1))) if cap else ""
        num = re.match(r"\s*(Table|Figure)\s*(S\d+)\b", text.replace("\xa0", " "))
        if num:
            out[m.group(1)] = f"{num.group(1)} {num.group(2)}"
    for m in _SECTION.finditer(page):
        out[m.group(1)] = f"{SECTION_WORDS} {m.group(2)}"
    return out


def stage_supplement(root: Path | None = None, build_dir: Path | None = None) -> Path:
    """Copy what the supplement reads into ``supplement/build/``: Quarto embeds only
    notebooks inside the project being rendered, so the executed notebooks its
    ``{{< embed build/runs/... >}}`` name, and ``build/fragments/`` for its fragment divs
    (``_quarto/fragments.lua`` reads them under the project). Returns that folder."""
    sup = supplement_dir(root)
    build_dir = Path(build_dir) if build_dir is not None else Path(root or paths.ROOT) / "build"
    stage = sup / "build"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(build_dir / "fragments", stage / "fragments")
    body = shortcodes.strip_front_matter((sup / "index.qmd").read_text(encoding="utf-8"))
    for emb in shortcodes.find_embeds(body):
        src = shortcodes.map_path(emb.path, sup, build_dir)
        dst = shortcodes.map_path(emb.path, sup, stage)
        if src.is_file() and not dst.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return stage


_HEADING2 = re.compile(r"^##[ \t]+(.+?)[ \t]*(\{[^}\n]*\})?[ \t]*$", re.M)
SUPP_REF = re.compile(r'\[\]\{\.supp ref="([^"]*)"\}')
def number_sections(text: str) -> tuple[str, dict[str, str]]:
    """The supplement's top-level (``##``) headings numbered "S1 ", "S2 ", ... in their
    text, as ``_quarto/supplement.lua`` does in Quarto (``.unnumbered`` ones skipped);
    (text, ``sec-`` label -> "Supplement section S2")."""
    fenced = [(m.start(), m.end()) for m in
              re.finditer(r"^(```+|~~~+).*?^\1\s*$", text, flags=re.S | re.M)]  # fmt: skip
    numbers: dict[str, str] = {}
    count = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal count
        attrs = m.group(2) or ""
        if any(a <= m.start() < b for a, b in fenced) or ".unnumbered" in attrs:
            return m.group(0)
        count += 1
        ident = re.search(r"#(sec-[\w-]+)", attrs)
        if ident:
            numbers[ident.group(1)] = f"{SECTION_WORDS} S{count}"
        return f"## S{count} {m.group(1)} {attrs}".rstrip()

    return _HEADING2.sub(repl, text), numbers


def resolve_refs(text: str, numbers: Mapping[str, str], href: str, problems: list[str]) -> str:
    """``[]{.supp ref="label"}`` -> a link "Table S3" to ``href#label`` (the preview);
    an unknown label is a problem and shows as "?supp:label"."""

    def repl(m: re.Match[str]) -> str:
        label = m.group(1)
        found = numbers.get(label)
        if found is None:
            problems.append(f"supplement reference {label}: the supplement has no table, "
                            "figure or section with that label")  # fmt: skip
            return f"**?supp:{label}**"
        return f"[{found}](<{href}#{label}>){{.supp-ref}}"

    return SUPP_REF.sub(repl, text)
