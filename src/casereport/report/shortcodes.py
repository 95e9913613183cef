"""The Quarto shortcodes the article uses, parsed the same way by checks and preview.

- the project's own fragment div, ``::: {.casereport-fragment name="audit"}`` followed by
  ``:::``: the generated Markdown ``build/fragments/<name>.md``, filled in at render time
  by the filter ``_quarto/fragments.lua`` (not a shortcode, but resolved here alike)
- ``{{< include path >}}`` (https://quarto.org/docs/authoring/includes.html)
- ``{{<var key.sub>}}`` from ``_variables.yml`` (https://quarto.org/docs/authoring/variables.html),
  written without inner spaces (:func:`var_shortcode` says why); both spellings parse
- ``{{< embed notebook.ipynb#ident >}}`` (https://quarto.org/docs/authoring/notebook-embed.html)

A shortcode written with triple braces (``{{{< var x >}}}``) is Quarto's escape and is
left alone. Paths beginning ``build/`` are mapped to the build folder actually used,
because the build renders into a temporary folder before swapping it in as ``build/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SC = r"(?<!\{)\{\{<\s*{name}\s+(?P<arg>[^\s>]+)(?P<rest>[^>]*?)\s*>\}\}(?!\})"
EMBED_RE = re.compile(_SC.replace("{name}", "embed"))
INCLUDE_RE = re.compile(_SC.replace("{name}", "include"))
FRAGMENT_RE = re.compile(
    r'^::: *\{\.casereport-fragment +name="(?P<arg>[\w-]+)"\} *\n::: *$', re.M
)
VAR_RE = re.compile(_SC.replace("{name}", "var"))
FRONT_MATTER_RE = re.compile(r"\A---\n.*?\n---\n", re.S)
# A "<" followed by white space: what makes pandoc's markdown reader slow (var_shortcode).
SPACED_OPEN_RE = re.compile(r"<\s")


def var_shortcode(key: str) -> str:
    """How the article quotes the variable ``key``: ``{{<var key>}}``, without the spaces
    Quarto's documentation puts inside the braces (Quarto reads both).

    Why: for a Typst render Quarto runs pandoc's markdown reader over the whole article
    (``hasLevelOneHeadings``, src/core/lib/markdown-analysis/level-one-headings.ts), and with
    raw HTML enabled that reader's time grows with the square of the number of "<" followed
    by a space. With the article's 184 spaced shortcodes that read took seconds of every
    render, and a fraction of a second with none (benchmarks/results.md, section
    "Shortcode spelling", measures both)."""
    return f"{{{{<var {key}>}}}}"


@dataclass(frozen=True)
class Embed:
    path: str  # as written, e.g. build/runs/engagement_fidelity--primary.ipynb
    ident: str  # cell id, label or tag
    options: str  # anything after the target (e.g. echo=true)
    start: int
    end: int

    @property
    def target(self) -> str:
        return f"{self.path}#{self.ident}"


def map_path(path: str, base_dir: Path, build_dir: Path | None) -> Path:
    """Resolve a path written in the article: ``build/...`` goes to ``build_dir``;
    ``/x`` is project-root relative (Quarto's convention); otherwise relative to ``base_dir``."""
    p = path.strip().strip("\"'")
    if build_dir is not None and (p == "build" or p.startswith("build/")):
        return Path(build_dir) / p[len("build/") :]
    if p.startswith("/"):
        return base_dir / p.lstrip("/")
    return base_dir / p


def strip_front_matter(text: str) -> str:
    return FRONT_MATTER_RE.sub("", text, count=1)


def resolve_includes(
    text: str,
    base_dir: Path,
    build_dir: Path | None,
    problems: list[str] | None = None,
    _depth: int = 0,
) -> str:
    """Replace every include and fragment shortcode by the file's text (includes
    recursively, to depth 5; a fragment is plain Markdown, as ``fragment.lua`` reads it).

    A missing file becomes a visible marker and, if ``problems`` is given, a problem."""

    def missing(kind: str, arg: str, target: Path) -> str:
        if problems is not None:
            problems.append(f"{kind}: {arg} not found ({target})")
        return f"**[missing {kind}: {arg}]**"

    def include(m: re.Match[str]) -> str:
        target = map_path(m.group("arg"), base_dir, build_dir)
        if not target.is_file():
            return missing("include", m.group("arg"), target)
        body = target.read_text(encoding="utf-8")
        if _depth >= 5:
            return body
        return resolve_includes(body, base_dir, build_dir, problems, _depth + 1)

    def fragment(m: re.Match[str]) -> str:
        target = fragment_path(m.group("arg"), base_dir, build_dir)
        if not target.is_file():
            return missing("fragment", m.group("arg"), target)
        return target.read_text(encoding="utf-8").rstrip("\n")

    return FRAGMENT_RE.sub(fragment, INCLUDE_RE.sub(include, text))


def article_source(article: Path, _depth: int = 0) -> str:
    """The article as Quarto reads it before any build: the file with every ``{{< include >}}``
    replaced by the included file's text (recursively, to depth 5; paths relative to the
    article's folder, as Quarto resolves them: an include is a paste into the main file),
    front matter kept, fragment divs left as written. A missing file stays a visible marker.
    """
    article = Path(article)
    text = article.read_text(encoding="utf-8")
    base = article.parent

    def include(m: re.Match[str]) -> str:
        target = map_path(m.group("arg"), base, None)
        if not target.is_file():
            return f"**[missing include: {m.group('arg')}]**"
        body = target.read_text(encoding="utf-8")
        return body if _depth >= 5 else INCLUDE_RE.sub(include, body)

    return INCLUDE_RE.sub(include, text)


_SECTION_RE = re.compile(r"^## +(?P<title>.+?)\s*$", re.M)


def article_sections(article: Path) -> list[tuple[str, str]]:
    """``(heading, text)`` for each top-level (``##``) section of :func:`article_source`, in
    order, the heading without its attributes (``Summary``); what comes before the first
    heading is ``("", text)`` (the front matter with the abstract)."""
    text = article_source(article)
    heads = list(_SECTION_RE.finditer(text))
    out = [("", text[: heads[0].start()] if heads else text)]
    for h, nxt in zip(heads, [*heads[1:], None], strict=True):
        title = re.sub(r"\s*\{[^}]*\}\s*$", "", h.group("title"))
        out.append((title, text[h.start(): nxt.start() if nxt else len(text)]))
    return out


def fragment_path(name: str, base_dir: Path, build_dir: Path | None) -> Path:
    """Where the fragment div ``name`` reads from: ``build/fragments/<name>.md``."""
    return map_path(f"build/fragments/{name}.md", base_dir, build_dir)


def find_embeds(text: str) -> list[Embed]:
    out = []
    for m in EMBED_RE.finditer(text):
        path, _, ident = m.group("arg").partition("#")
        out.append(Embed(path, ident, m.group("rest").strip(), m.start(), m.end()))
    return out


def lookup_var(variables: Mapping[str, Any], key: str) -> Any:
    """``a.b.c`` in nested mappings (Quarto's dotted keys); KeyError when absent."""
    node: Any = variables
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(key)
        node = node[part]
    if isinstance(node, Mapping):
        raise KeyError(key)
    return node


def substitute_vars(
    text: str, variables: Mapping[str, Any], problems: list[str] | None = None
) -> str:
    """Replace var shortcodes; an unknown key renders as ``?var:key`` (as Quarto does)."""

    def repl(m: re.Match[str]) -> str:
        key = m.group("arg")
        try:
            return str(lookup_var(variables, key))
        except KeyError:
            if problems is not None:
                problems.append(f"var: {key} is not in _variables.yml")
            return f"**?var:{key}**"

    return VAR_RE.sub(repl, text)


def var_keys(text: str) -> list[str]:
    return [m.group("arg") for m in VAR_RE.finditer(text)]
