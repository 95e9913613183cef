"""The page the no-Quarto preview writes (:mod:`casereport.report.preview`): its
stylesheet, the banner that says it is a preview (with the problems met), and the pandoc
call that turns the resolved Markdown into one self-contained HTML file, atomically."""

from __future__ import annotations

import html
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pypandoc

from casereport.primitives import paths, yamltext

log = logging.getLogger("casereport.report.preview")

READER = "markdown-raw_html-raw_attribute-raw_tex"
BANNER = "Preview: rendered without Quarto"
CLAIMS_FILTER = paths.ROOT / "_quarto" / "claims.lua"

CSS = """
body { max-width: 54rem; margin: 0 auto; padding: 1rem 1.5rem 4rem;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; }
h1, h2, h3 { line-height: 1.25; }
.preview-banner { position: sticky; top: 0; z-index: 10; background: #fff4c2;
  border: 1px solid #d9b600; border-radius: 4px; padding: .6rem .9rem; margin: .5rem 0 1rem; }
.preview-problems { background: #fde8e8; border: 1px solid #c53030; padding: .5rem .9rem; }
figure { margin: 1.5rem 0; } figure img, .preview-embed img { max-width: 100%; height: auto; }
figcaption, .preview-caption { font-size: .92rem; color: #333; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; display: block;
  overflow-x: auto; }
th, td { border-bottom: 1px solid #ccc; padding: .25rem .6rem; vertical-align: top; }
thead th { border-bottom: 2px solid #555; }
.preview-source { font-size: .8rem; color: #666; }
.callout, [class^="callout-"], [class*=" callout-"] { border-left: 4px solid #3a7bd5;
  background: #f3f7fd; padding: .4rem .9rem; margin: 1rem 0; }
nav#TOC { font-size: .9rem; border: 1px solid #ddd; padding: .25rem 1rem; }
code { font-size: .88em; }
.claim-failed, .claim-not-evaluable { background: #ffd6d6; outline: 2px solid #b00020; }
.claim-not-evaluable { background: #fff1c2; outline-color: #9a6b00; }
"""


def _banner(problems: list[str], name: str = "index.qmd") -> str:
    version = pypandoc.get_pandoc_version()
    text = (
        f'<div class="preview-banner" role="note"><strong>{BANNER}.</strong> '
        "Quarto was not found, so casereport rendered this single-file preview of "
        f"<code>{html.escape(name)}</code> with pandoc {html.escape(version)}. Figures and tables "
        "are embedded from the executed notebooks and numbers come from the same build, "
        "but layout and numbering may differ from the Quarto manuscript, and there is no "
        "PDF or notebook view. Install Quarto to render the manuscript.</div>\n"
    )
    if problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
        text += (
            f'<div class="preview-problems" role="alert"><strong>{len(problems)} '
            f"problem(s) while rendering the preview:</strong><ul>{items}</ul></div>\n"
        )
    return text


def write_html(
    meta: dict[str, Any],
    body: str,
    problems: list[str],
    out_html: Path,
    tdir: Path,
    article: Path,
    build_dir: Path,
    number_sections: bool = True,
    name: str | None = None,
) -> None:
    """pandoc: the Markdown ``body`` to a standalone HTML file at ``out_html``, atomically."""
    for p in problems:
        log.warning("preview: %s", p)
    (tdir / "preview.css").write_text(CSS, encoding="utf-8")
    (tdir / "banner.html").write_text(_banner(problems, name or article.name), encoding="utf-8")
    front = "---\n" + yamltext.dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n"
    args = [
        "--standalone",
        "--embed-resources",
        "--toc",
        "--toc-depth=2",
        "--wrap=none",
        *(["--number-sections"] if number_sections else []),  # as _quarto.yml
        f"--css={tdir / 'preview.css'}",
        f"--include-before-body={tdir / 'banner.html'}",
        f"--resource-path={tdir}{os.pathsep}{article.parent}",
    ]
    claims = Path(build_dir) / "claims.json"
    if claims.is_file():  # one filter marks failed claims here and in Quarto
        args += [f"--lua-filter={CLAIMS_FILTER}", f"--metadata=casereport-claims:{claims}"]
    bib = article.parent / "references.bib"
    if bib.is_file():
        args += ["--citeproc", f"--bibliography={bib}"]
    fd, tmp_out = tempfile.mkstemp(prefix=f".{out_html.name}.", suffix=".tmp", dir=out_html.parent)
    os.close(fd)
    try:
        pypandoc.convert_text(
            front + body,
            "html5",
            format=READER,
            extra_args=args,
            outputfile=tmp_out,
            cworkdir=str(tdir),
        )
        os.chmod(tmp_out, 0o644)
        os.replace(tmp_out, out_html)
    except BaseException:
        Path(tmp_out).unlink(missing_ok=True)
        raise
