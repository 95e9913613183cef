"""The article's section for a trial that has no hand-written one (issue 20, item 3).

A trial whose code has no ``sections/<code>.qmd`` gets a section written by the build from
its shape's template, ``sections/templates/<shape>.md`` (Quarto renders only the files of
``_quarto.yml``'s ``render:`` list, so a template is never a page of its own). The
sections go to ``build/fragments/trial-sections.md``, which ``index.qmd`` pulls in with a
``casereport-fragment`` div after the hand-written trial sections; the figures' images go
to ``build/fragments/trial-sections/``. With every trial written by hand the fragment is
empty and the article is as before.

A template is Markdown with placeholders, filled from the trial's ``trial.yaml`` and from
the results of its primary run (``<shape>--<code>-primary``):

- ``${name}``, ``${code}``, ``${shape}``, ``${run_id}``, ``${citations}`` (the trial's
  citation keys as ``@key; @key``);
- ``${analysis.quantity}``: that result's estimate as :func:`casereport.primitives.format.number`
  writes it; ``${analysis.quantity:ci}`` its interval, ``:estimate`` the estimate at its
  interval's precision, ``:p`` its p-value (``p = 0.094``), ``:n`` its n and ``:label``
  its text label;
- the computed words of the shape, when it has any (:data:`SHAPE_WORDS`);
- ``::: {.embed cell="<notebook cell label>" label="<tbl-|fig-...>" alt="..."}``, a div
  whose one paragraph is the caption: the cell's output from the executed notebook (a
  table's Markdown, a figure's image) under the new label and caption, so a second trial's
  floats never take the default trial's labels and can be cross-referenced.

A paragraph that reads a quantity of an analysis the data could not support (its results
hold a ``not_estimable`` row, ``analyses/estimability.py``) is replaced by one sentence
giving the results' reason, and so is an embed whose cell shows a note instead of a table
or image; a reference to such a float reads "the note below". A shape without a template
gets one sentence saying so.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from casereport.analyses.engagement_fidelity.claims import null_value
from casereport.primitives import atomic, paths
from casereport.primitives import format as fmt
from casereport.primitives.labels import CASE_LABELS, CASE_TYPES, PRIMARY
from casereport.primitives.results import slug
from casereport.report import cells
from casereport.trialdata import trials

NAME = "trial-sections"
SECTIONS_DIR = paths.ROOT / "sections"
TEMPLATES_DIR = SECTIONS_DIR / "templates"

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_EMBED = re.compile(
    r'^::: *\{\.embed +cell="(?P<cell>[^"]+)" +label="(?P<label>(?:tbl|fig)-[\w-]+)"'
    r'(?: +alt="(?P<alt>[^"]*)")? *\}\n(?P<caption>.*?)\n::: *$',
    re.M | re.S,
)


class NotEstimableHere(Exception):
    """A placeholder read an analysis whose results say it is not estimable."""


def needs_section(trial: trials.Trial, sections_dir: Path = SECTIONS_DIR) -> bool:
    """True when the trial has no hand-written section, ``sections/<code>.qmd``."""
    return not (Path(sections_dir) / f"{trial.code}.qmd").is_file()


def primary_set(trial: trials.Trial) -> str:
    """The parameter set of the trial's primary run (``<code>-primary``; a trial that is
    not its shape's default trial gets its code in the set's name, pipeline/plan.py)."""
    return f"{trial.code}-{PRIMARY}"


# ------------------------------------------------------------------ computed words


def _value(results: pd.DataFrame, key: str, column: str = "estimate") -> Any:
    analysis, _, quantity = key.partition(".")
    rows = results[results["analysis"] == analysis]
    hit = rows[rows["quantity"] == quantity]
    if len(hit) == 1:
        return hit.iloc[0][column]
    reason = rows[rows["quantity"] == "not_estimable"]
    if len(reason):
        raise NotEstimableHere(str(reason.iloc[0]["label"]))
    raise KeyError(f"{key}: not in the results")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def engagement_words(results: pd.DataFrame, trial: trials.Trial) -> dict[str, Callable[[], str]]:
    """The engagement-fidelity template's computed words: ``null_wording`` (does the primary
    interval include no association: 1 for an odds ratio, 0 for a slope, as the claims
    judge it) and ``case_selection`` (each case type with its count and sites)."""

    def null_wording() -> str:
        key = str(_value(results, "enrich_primary.key", "label"))
        null = null_value(key)
        lo = float(_value(results, "enrich_primary.estimate", "ci_low"))
        hi = float(_value(results, "enrich_primary.estimate", "ci_high"))
        scale = "an odds ratio of 1" if null == 1 else "a value of 0"
        verb = "includes" if lo <= null <= hi else "excludes"
        return f"its interval {verb} no association ({scale})"

    def case_selection() -> str:
        names = _site_names(trial)
        parts = []
        for case in CASE_TYPES:
            n = int(float(_value(results, f"enrich_cases.n_{slug(case)}")))
            prefix = f"{slug(case)}_site_"
            rows = results[(results["analysis"] == "enrich_cases")
                           & results["quantity"].str.startswith(prefix)
                           & (results["estimate"] == 1)]  # fmt: skip
            sites = [names.get(q[len(prefix):], q[len(prefix):]) for q in rows["quantity"]]
            word = "site" if n == 1 else "sites"
            listed = f" ({_join(sites)})" if sites and case != CASE_TYPES[-1] else ""
            parts.append(f"{fmt.number(n)} {word} {CASE_LABELS[case]}{listed}")
        return _join(parts)

    return {"null_wording": null_wording, "case_selection": case_selection}


#: Shape -> its template's computed words (a shape without an entry has only the
#: placeholders every template has).
SHAPE_WORDS: dict[str, Callable[[pd.DataFrame, trials.Trial], dict[str, Callable[[], str]]]] = {
    "engagement_fidelity": engagement_words,
}


def _site_names(trial: trials.Trial) -> dict[str, str]:
    """slug -> the site id as the trial's site table writes it."""
    column = str(trial.roles.get("site", "site"))
    try:
        sites = pd.read_csv(trial.file("sites"), dtype=str)[column]
    except (KeyError, FileNotFoundError, ValueError):
        return {}
    return {slug(s): str(s) for s in sites}


# ------------------------------------------------------------------ filling


def _placeholder(results: pd.DataFrame, fixed: Mapping[str, str],
                 words: Mapping[str, Callable[[], str]], key: str) -> str:
    key = key.strip()
    if key in fixed:
        return fixed[key]
    if key in words:
        return words[key]()
    ref, _, form = key.partition(":")
    if "." not in ref:
        raise KeyError(f"template placeholder ${{{key}}}: unknown")
    if form == "":
        return fmt.number(_value(results, ref))
    if form in ("estimate", "ci"):
        ends = [_value(results, ref, c) for c in ("ci_low", "ci_high")]
        est, lo, hi = fmt.estimate(_value(results, ref), *ends)
        if form == "estimate":
            return est
        return f"{lo} to {hi}" if lo and hi else fmt.DASH
    if form == "p":
        return fmt.p_relation(_value(results, ref, "p_value"))
    if form == "n":
        return fmt.integer(_value(results, ref, "n"))
    if form == "label":
        return str(_value(results, ref, "label"))
    raise KeyError(f"template placeholder ${{{key}}}: unknown form {form!r}")


def fill(template: str, results: pd.DataFrame, trial: trials.Trial,
         fixed: Mapping[str, str] | None = None) -> str:
    """The template's placeholders filled, paragraph by paragraph: a paragraph that reads a
    not-estimable analysis becomes one sentence with the results' reason."""
    fixed = {"name": trial.name, "code": trial.code, "shape": trial.shape,
             "citations": "; ".join(f"@{c}" for c in trial.citations), **(fixed or {})}
    maker = SHAPE_WORDS.get(trial.shape)
    words = maker(results, trial) if maker else {}
    out = []
    for para in re.split(r"\n{2,}", template.strip()):
        try:
            out.append(_PLACEHOLDER.sub(lambda m: _placeholder(results, fixed, words, m.group(1)),
                                        para))  # fmt: skip
        except NotEstimableHere as e:
            out.append(f"Not estimable for {trial.name}: {e}.")
    return "\n\n".join(out) + "\n"


# ------------------------------------------------------------------ embeds


def _outputs(cell: Any) -> tuple[bytes | None, str]:
    """(PNG bytes or None, Markdown text) of a cell's display outputs."""
    image, texts = None, []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data and image is None:
            raw = data["image/png"]
            image = base64.b64decode("".join(raw) if isinstance(raw, list) else raw)
        elif "text/markdown" in data:
            raw = data["text/markdown"]
            texts.append(("".join(raw) if isinstance(raw, list) else str(raw)).strip())
    return image, "\n\n".join(texts)


def _attr(text: str) -> str:
    return " ".join(text.split()).replace('"', "'")


def embed(text: str, notebook: Any, images: Path, image_ref: str) -> str:
    """Every ``.embed`` div of ``text`` replaced by its cell's output under its label and
    caption: a table as a captioned pipe table, a figure as a captioned image (its file
    written to ``images``, referred to as ``image_ref/<label>.png``). A cell that shows a
    note (not estimable) gives the note, and references to its label read "the note below"."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        label, caption = m.group("label"), " ".join(m.group("caption").split())
        found = cells.find_cells(notebook, m.group("cell")) if notebook is not None else []
        image, body = _outputs(found[0]) if found else (None, "")
        if label.startswith("fig-") and image is not None:
            images.mkdir(parents=True, exist_ok=True)
            (images / f"{label}.png").write_bytes(image)
            alt = _attr(m.group("alt") or caption)
            return f'![{caption}]({image_ref}/{label}.png){{#{label} fig-alt="{alt}"}}'
        if label.startswith("tbl-") and body.lstrip().startswith("|"):
            return f"{body}\n\n: {caption} {{#{label}}}"
        missing.append(label)
        note = body or "The notebook shows no output here."
        return f"{note}"

    out = _EMBED.sub(repl, text)
    for label in missing:
        out = re.sub(rf"@{re.escape(label)}(?![\w-])", "the note below", out)
    return out


# ------------------------------------------------------------------ the fragment


def template_path(shape: str, templates_dir: Path = TEMPLATES_DIR) -> Path:
    return Path(templates_dir) / f"{shape}.md"


def section_md(trial: trials.Trial, results: pd.DataFrame | None, build_dir: Path,
               templates_dir: Path = TEMPLATES_DIR) -> str:
    """The section of ``trial`` from its shape's template and its primary run's results
    and executed notebook under ``build_dir``."""
    template = template_path(trial.shape, templates_dir)
    run_id = f"{trial.shape}--{primary_set(trial)}"
    if not template.is_file():
        return (f"## {trial.name} {{#sec-{trial.code}}}\n\nThe {trial.name} trial has no "
                f"section of its own and its shape, {trial.shape}, has no template "
                f"(`sections/templates/{trial.shape}.md`), so its results are in the "
                f"notebook run `{run_id}` only.\n")
    mine = results[results["parameter_set"] == primary_set(trial)] \
        if results is not None and len(results) else pd.DataFrame()
    if not len(mine):
        return (f"## {trial.name} {{#sec-{trial.code}}}\n\nThe {trial.name} trial's primary "
                f"run, `{run_id}`, has no results in this build.\n")
    text = fill(template.read_text(encoding="utf-8"), mine, trial, {"run_id": run_id})
    nb_path = Path(build_dir) / "runs" / f"{run_id}.ipynb"
    notebook = cells.read_notebook(nb_path) if nb_path.is_file() else None
    return embed(text, notebook, Path(build_dir) / "fragments" / NAME,
                 f"{paths.BUILD_DIR.name}/fragments/{NAME}")


def trial_sections_md(build_dir: Path, results: pd.DataFrame | None,
                      data_dir: Path | None = None, sections_dir: Path = SECTIONS_DIR,
                      templates_dir: Path = TEMPLATES_DIR) -> str:
    """The sections of every trial of ``data_dir`` without a hand-written one, in folder
    order; '' when there is none. The trials are those ``trials.check`` reads (a data
    folder of another layout, such as the report tests' demo, has none; validation reports
    its problems, not this fragment)."""
    found, _ = trials.check(data_dir or paths.DATA_DIR)
    parts = [section_md(t, results, build_dir, templates_dir)
             for t in found.values() if needs_section(t, sections_dir)]
    return "\n\n".join(parts)


def write(build_dir: Path, results: pd.DataFrame | None, data_dir: Path | None = None) -> Path:
    """Write ``build_dir/fragments/trial-sections.md`` (and its images); returns its path."""
    out = Path(build_dir) / "fragments" / f"{NAME}.md"
    text = trial_sections_md(Path(build_dir), results, data_dir)
    atomic.write_text(out, text if text.endswith("\n") or not text else text + "\n")
    return out
