"""The no-Quarto preview: ``index.qmd`` as one self-contained HTML file, rendered by pandoc.

When Quarto is not installed the build still shows the article: this module resolves the
three shortcodes the article uses (``include``, ``var``, ``embed``), turns ``@fig-x`` and
``@tbl-x`` into numbered links, and hands the Markdown to pandoc (shipped by the
``pypandoc-binary`` wheel) with ``--citeproc`` for the citations and ``--embed-resources
--standalone`` so images are inlined. A banner says it is a preview.

The supplement (``supplement/index.qmd`` beside the article) is rendered the same way,
first, into ``<name>-supplement.html`` beside the preview: its tables and figures numbered
"Table S1", ..., its top-level sections "S1", ... (as ``_quarto/supplement.lua`` numbers
them in Quarto), and the article's ``[]{.supp ref="label"}`` become links to it with those
numbers (as ``_quarto/supplement-refs.lua`` does in Quarto); an unknown label is a problem.

It is deliberately small: no layouts, callout styling, notebook views or PDF. Safety:
the whole document is read as ``markdown-raw_html-raw_attribute``, so no raw HTML from
the article, fragments or notebook outputs reaches the page (it shows as text); HTML
table outputs are first converted to Markdown by pandoc's HTML reader, which drops
``<script>`` and ``<style>`` and keeps cell text as text.
"""

from __future__ import annotations

import base64
import datetime as _dt
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypandoc

from casereport.primitives import paths, yamltext
from casereport.report import cells, shortcodes
from casereport.report.preview_page import BANNER as BANNER  # re-exported: the banner text
from casereport.report.preview_page import write_html
from casereport.report.supplement import SECTION_WORDS, SUPPLEMENT, number_sections, resolve_refs
from casereport.report.variables import read_variables

log = logging.getLogger(__name__)

KIND_NAMES = {"fig": "Figure", "tbl": "Table"}
_TABLE_CAPTION = re.compile(r"^: (?P<cap>.+?) \{#(?P<label>tbl-[\w-]+)\}[ \t]*$", re.M)
# A captioned image of a fragment (report/trial_sections.py): ![caption](src){#fig-x ...}.
_FIGURE = re.compile(r"^!\[(?P<cap>[^\]\n]+)\]\((?P<src>[^)\s]+)\)"
                     r"\{#(?P<label>fig-[\w-]+)(?P<rest>[^}\n]*)\}[ \t]*$", re.M)
_XREF = re.compile(r"(?<![\w\\])\[?-?@((fig|tbl|sec)-[A-Za-z0-9_-]*[A-Za-z0-9_])\]?")



@dataclass
class _State:
    build_dir: Path
    base_dir: Path
    assets: Path
    problems: list[str] = field(default_factory=list)
    numbers: dict[str, str] = field(default_factory=dict)  # label -> "Figure 2"
    counters: dict[str, int] = field(default_factory=dict)
    n_assets: int = 0
    link_base: Path | None = None  # folder of the output file, for notebook links
    prefix: str = ""  # "S" in the supplement: "Table S1"
    supplement: Mapping[str, str] | None = None  # label -> "Table S3", for the article
    supplement_href: str = ""  # the supplement preview's file name, for links


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    m = shortcodes.FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text
    try:
        meta = yamltext.load(m.group(0).strip().strip("-")) or {}
    except yamltext.YAMLError:
        meta = {}
    return (meta if isinstance(meta, dict) else {}), text[m.end() :]


def _names(authors: Any) -> list[str]:
    if authors is None:
        return []
    items = authors if isinstance(authors, list) else [authors]
    out = []
    for a in items:
        if isinstance(a, Mapping):
            name = a.get("name")
            if isinstance(name, Mapping):
                name = (
                    name.get("literal")
                    or " ".join(str(name.get(k, "")) for k in ("given", "family")).strip()
                )
            if name:
                out.append(str(name))
        elif a:
            out.append(str(a))
    return out


def _metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The article's front matter reduced to what pandoc's HTML template shows."""
    out: dict[str, Any] = {}
    for key in ("title", "subtitle", "abstract"):
        if meta.get(key):
            out[key] = str(meta[key])
    names = _names(meta.get("author") or meta.get("authors"))
    if names:
        out["author"] = names
    date = meta.get("date")
    if date in ("today", "now", "last-modified") or date is None:
        date = _dt.date.today().isoformat()
    out["date"] = str(date)
    out["pagetitle"] = out.get("title", "casereport preview")
    out["link-citations"] = True
    return out


# ------------------------------------------------------------------ embeds


def _asset(state: _State, data: str, ext: str) -> str:
    state.n_assets += 1
    p = state.assets / f"embed-{state.n_assets}.{ext}"
    if ext == "svg":
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(base64.b64decode(data))
    return p.name


def _html_to_markdown(fragment: str) -> str:
    return pypandoc.convert_text(
        fragment, "markdown-raw_html-raw_attribute-native_divs-native_spans", format="html"
    ).strip()


def _as_text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_blocks(state: _State, outputs: list[Any]) -> tuple[list[str], list[str]]:
    """(image file names, Markdown blocks) from a cell's display outputs."""
    images, blocks = [], []
    for out in outputs:
        if out.get("output_type") not in {"display_data", "execute_result"}:
            continue
        data = out.get("data", {})
        if "image/png" in data:
            images.append(_asset(state, _as_text(data["image/png"]), "png"))
        elif "image/svg+xml" in data:
            images.append(_asset(state, _as_text(data["image/svg+xml"]), "svg"))
        elif "image/jpeg" in data:
            images.append(_asset(state, _as_text(data["image/jpeg"]), "jpg"))
        elif "text/markdown" in data:
            blocks.append(_as_text(data["text/markdown"]).strip())
        elif "text/html" in data:
            blocks.append(_html_to_markdown(_as_text(data["text/html"])))
        elif "text/plain" in data:
            text = _as_text(data["text/plain"])
            fence = "```"
            while fence in text:
                fence += "`"
            blocks.append(f"{fence}\n{text}\n{fence}")
    return images, blocks


def _attr(text: Any) -> str:
    return " ".join(str(text).split()).replace("\\", "/").replace('"', "'")


def _caption(opts: Mapping[str, Any], kind: str | None) -> str:
    cap = opts.get(f"{kind}-cap") if kind else None
    cap = cap or opts.get("fig-cap") or opts.get("tbl-cap") or ""
    if isinstance(cap, list):
        cap = "; ".join(map(str, cap))
    return " ".join(str(cap).split())


def _number(state: _State, label: str) -> str | None:
    kind = label.split("-", 1)[0]
    if kind not in KIND_NAMES or "-" not in label:
        return None
    if label not in state.numbers:
        state.counters[kind] = state.counters.get(kind, 0) + 1
        state.numbers[label] = f"{KIND_NAMES[kind]} {state.prefix}{state.counters[kind]}"
    return state.numbers[label]


def _missing(state: _State, target: str, why: str) -> str:
    state.problems.append(f"embed {target}: {why}")
    return f"::: {{.preview-problems}}\n**Missing embed** `{target}`: {why}\n:::"


def _embed(state: _State, emb: shortcodes.Embed) -> str:
    nb_path = shortcodes.map_path(emb.path, state.base_dir, state.build_dir)
    if not nb_path.is_file():
        return _missing(state, emb.target, "notebook not found")
    nb = cells.read_notebook(nb_path)
    found = cells.find_cells(nb, emb.ident)
    if not found:
        return _missing(state, emb.target, "no cell with that id, label or tag")
    outputs = [o for c in found for o in c.get("outputs", [])]
    opts = cells.cell_options(found[0])
    label = str(opts.get("label") or emb.ident)
    kind = label.split("-", 1)[0] if label.split("-", 1)[0] in KIND_NAMES else None
    number = _number(state, label) if kind else None
    cap = _caption(opts, kind)
    images, blocks = _output_blocks(state, outputs)
    if not images and not blocks:
        return _missing(state, emb.target, "the cell has no display output")
    target = f"`{nb_path.name}`"
    if state.link_base is not None:
        rel = Path(os.path.relpath(nb_path.resolve(), state.link_base)).as_posix()
        target = f"[{target}](<{rel}>)"
    source = f"[Source: {target}]{{.preview-source}}"
    caption = f"{number}: {cap}" if number and cap else (number or cap)
    alt = _attr(opts.get("fig-alt") or cap or label)
    parts: list[str] = []
    if kind == "fig" and len(images) == 1 and not blocks:
        return f'![{caption}]({images[0]}){{#{label} alt="{alt}"}}\n\n{source}'
    if kind == "tbl" and caption:
        parts.append(f"[**{caption}**]{{.preview-caption}}")
    parts += [f'![]({img}){{alt="{alt}"}}' for img in images]
    parts += blocks
    if kind != "tbl" and caption:
        parts.append(f"[{caption}]{{.preview-caption}}")
    ident = f"#{label} " if kind else ""
    body = "\n\n".join(parts)
    return f"::: {{{ident}.preview-embed}}\n\n{body}\n\n{source}\n\n:::"


# ------------------------------------------------------------------ cross-references


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*(\{[^}]*\})?\s*$", re.M)


def _section_numbers(text: str) -> dict[str, str]:
    """``sec-`` label -> "Section 3.2", numbered the way pandoc's --number-sections does
    (top level = the shallowest heading; ``.unnumbered`` / ``-`` headings skipped)."""
    text = re.sub(r"^(```+|~~~+).*?^\1\s*$", "", text, flags=re.S | re.M)
    heads = [(len(m.group(1)), m.group(3) or "") for m in _HEADING.finditer(text)]
    if not heads:
        return {}
    top = min(level for level, _ in heads)
    counters = [0] * 7
    out = {}
    for level, attrs in heads:
        if ".unnumbered" in attrs or re.search(r"(^|\s)-(\s|\})", attrs.strip("{")):
            continue
        depth = level - top
        counters[depth] += 1
        for i in range(depth + 1, 7):
            counters[i] = 0
        ident = re.search(r"#(sec-[\w-]+)", attrs)
        if ident:
            out[ident.group(1)] = "Section " + ".".join(str(c) for c in counters[: depth + 1])
    return out


def _crossrefs(state: _State, text: str, sections: Mapping[str, str] | None = None) -> str:
    if sections is None:
        sections = _section_numbers(text)

    def repl(m: re.Match[str]) -> str:
        label, kind = m.group(1), m.group(2)
        if kind == "sec" and label in sections:
            return f"[{sections[label]}](#{label})"
        if label in state.numbers:
            return f"[{state.numbers[label]}](#{label})"
        state.problems.append(f"cross-reference @{label} has no target in the preview")
        return f"**?\\@{label}**"

    return _XREF.sub(repl, text)


# ------------------------------------------------------------------ callouts

_CALLOUT = re.compile(r"^(:{3,})\s*\{([^}\n]*\.callout-[^}\n]*)\}\s*$", re.M)


def _callout_titles(text: str) -> str:
    """Quarto callouts are plain divs to pandoc: show a ``title="..."`` as a bold line."""

    def repl(m: re.Match[str]) -> str:
        title = re.search(r'title="([^"]*)"', m.group(2))
        head = f"{m.group(1)} {{{m.group(2)}}}"
        return f"{head}\n\n**{title.group(1)}**\n" if title else head

    return _CALLOUT.sub(repl, text)


# ------------------------------------------------------------------ main


def render_markdown(
    build_dir: Path,
    article: Path,
    variables: Mapping[str, Any] | None,
    assets: Path,
    link_base: Path | None = None,
    *,
    supplement: Mapping[str, str] | None = None,
    supplement_href: str = "",
) -> tuple[dict[str, Any], str, list[str]]:
    """(pandoc metadata, Markdown body, problems) for the article, images under ``assets``;
    ``supplement`` (label -> "Table S3", from :func:`render_supplement_markdown`) resolves
    its references to the supplement, linked to ``supplement_href``."""
    meta, body, problems, _ = _render(build_dir, article, variables, assets, link_base,
                                      supplement=supplement, supplement_href=supplement_href)
    return meta, body, problems


def render_supplement_markdown(
    build_dir: Path,
    supplement: Path,
    variables: Mapping[str, Any] | None,
    assets: Path,
    link_base: Path | None = None,
) -> tuple[dict[str, Any], str, list[str], dict[str, str]]:
    """(metadata, Markdown body, problems, numbers) for the supplement: floats numbered
    "Table S1", ..., top-level sections "S1", ...; ``numbers`` maps each label to the text
    the article cites it by."""
    return _render(build_dir, supplement, variables, assets, link_base, prefix="S")


def _render(
    build_dir: Path,
    article: Path,
    variables: Mapping[str, Any] | None,
    assets: Path,
    link_base: Path | None,
    *,
    prefix: str = "",
    supplement: Mapping[str, str] | None = None,
    supplement_href: str = "",
) -> tuple[dict[str, Any], str, list[str], dict[str, str]]:
    article = Path(article)
    meta, body = _split_front_matter(article.read_text(encoding="utf-8"))
    state = _State(Path(build_dir), article.parent, assets, link_base=link_base, prefix=prefix,
                   supplement=supplement, supplement_href=supplement_href)  # fmt: skip
    if variables is None:
        variables = read_variables(article.parent / paths.QUARTO_VARIABLES.name)
    body = shortcodes.resolve_includes(body, article.parent, state.build_dir, state.problems)
    body = shortcodes.substitute_vars(body, variables, state.problems)
    body = _callout_titles(body)
    body = resolve_refs(body, state.supplement or {}, state.supplement_href, state.problems)
    sections: dict[str, str] | None = None
    if prefix:
        body, sections = number_sections(body)
    embeds = shortcodes.find_embeds(body)
    # Floats are numbered in reading order: embedded cells and captioned tables of the
    # fragments (``: caption {#tbl-x}``), as Quarto numbers them.
    captions = sorted([*_TABLE_CAPTION.finditer(body), *_FIGURE.finditer(body)],
                      key=lambda m: m.start())
    order = sorted([(e.start, i) for i, e in enumerate(embeds)]
                   + [(m.start(), -1 - j) for j, m in enumerate(captions)])  # fmt: skip
    rendered: dict[int, str] = {}
    for _, i in order:
        if i >= 0:
            rendered[i] = _embed(state, embeds[i])
        else:
            _number(state, captions[-1 - i].group("label"))
    body = _TABLE_CAPTION.sub(
        lambda m: f": {state.numbers[m.group('label')]}: {m.group('cap')}\n\n"
        f"[]{{#{m.group('label')}}}",
        body,
    )
    body = _FIGURE.sub(
        lambda m: f"![{state.numbers[m.group('label')]}: {m.group('cap')}]"
        f"({shortcodes.map_path(m.group('src'), state.base_dir, state.build_dir).as_posix()})"
        f"{{#{m.group('label')}{m.group('rest').replace(' fig-alt=', ' alt=')}}}",
        body,
    )
    embeds = shortcodes.find_embeds(body)
    pieces, last = [], 0
    for i, e in enumerate(embeds):
        pieces += [body[last : e.start], f"\x00EMBED{i}\x00"]
        last = e.end
    pieces.append(body[last:])
    within = {k: v.replace(SECTION_WORDS, "Section") for k, v in sections.items()} \
        if sections is not None else None
    body = _crossrefs(state, "".join(pieces), within)
    body = re.sub("\x00EMBED(\\d+)\x00", lambda m: rendered[int(m.group(1))], body)
    numbers = {**state.numbers, **(sections or {})}
    return _metadata(meta), body, list(dict.fromkeys(state.problems)), numbers


def supplement_preview(out_html: Path) -> Path:
    """Where the supplement's preview goes: ``report-preview-supplement.html`` beside
    ``report-preview.html``."""
    out_html = Path(out_html)
    return out_html.with_name(f"{out_html.stem}-supplement{out_html.suffix}")


def render_preview(
    build_dir: Path,
    out_html: Path,
    *,
    article: Path = paths.ROOT / "index.qmd",
    variables: dict | None = None,
    supplement: Path | None = None,
) -> Path:
    """Render ``article`` to one self-contained HTML file at ``out_html`` (atomically),
    and first the supplement (``supplement``, by default ``supplement/index.qmd`` beside
    the article, when it exists) to :func:`supplement_preview` of ``out_html``.

    ``build/`` paths in the article are read from ``build_dir``; ``variables`` defaults to
    the ``_variables.yml`` next to the article. Problems (a missing embed, an unknown var
    or cross-reference) are listed at the top of the page and logged; they do not raise."""
    out_html = Path(out_html)
    article = Path(article)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    if variables is None:
        variables = read_variables(article.parent / paths.QUARTO_VARIABLES.name)
    sup = Path(supplement) if supplement is not None else article.parent / SUPPLEMENT / "index.qmd"
    numbers: dict[str, str] | None = None
    sup_out = supplement_preview(out_html)
    if sup.is_file():
        with tempfile.TemporaryDirectory(prefix="casereport-preview-") as tmp:
            tdir = Path(tmp)
            meta, body, problems, numbers = render_supplement_markdown(
                Path(build_dir), sup, variables, tdir, link_base=out_html.parent.resolve()
            )
            write_html(meta, body, problems, sup_out, tdir, sup, Path(build_dir),
                        number_sections=False, name=f"{sup.parent.name}/{sup.name}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="casereport-preview-") as tmp:
        tdir = Path(tmp)
        meta, body, problems = render_markdown(
            Path(build_dir), article, variables, tdir, link_base=out_html.parent.resolve(),
            supplement=numbers, supplement_href=sup_out.name,
        )
        write_html(meta, body, problems, out_html, tdir, article, Path(build_dir))
    return out_html
