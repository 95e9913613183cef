"""Find and run Quarto (https://quarto.org), which renders the manuscript project.

Quarto is not a Python package: users install it with conda-forge (``quarto``) or its
installer, CI with ``quarto-dev/quarto-actions/setup``. When it is absent the build writes
the pandoc preview instead (:mod:`casereport.report.preview`) and says so.

The supplement (``supplement/``) is a Quarto project of its own, rendered first
(:func:`render_supplement`): the article's references to it (``[]{.supp ref="tbl-x"}``,
``_quarto/supplement-refs.lua``) read the numbers its render gave each table, figure and
section, collected from its HTML into ``supplement/_output/numbers.json``
(:func:`supplement_numbers`). The article's post-render step (``_quarto/postrender.py``)
copies the rendered supplement into the manuscript as ``supplement/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from casereport.primitives import atomic, paths
from casereport.report import views
from casereport.report.supplement import (
    NUMBERS,
    SUPPLEMENT_OUTPUT,
    stage_supplement,
    supplement_dir,
    supplement_numbers,
)

MIN_VERSION = (1, 5)  # pre-render may write _variables.yml: metadata re-read since 1.5
SKIP_PRERENDER_ENV = "CASEREPORT_SKIP_PRERENDER"
# Set for the article's renders: the build copies the supplement in itself (render).
SKIP_POSTRENDER_ENV = "CASEREPORT_SKIP_POSTRENDER"
# Where _quarto/supplement-refs.lua reads the supplement's numbers, when not its _output.
NUMBERS_ENV = "CASEREPORT_SUPPLEMENT_NUMBERS"
NOT_FOUND = (
    "Quarto was not found on PATH, so the manuscript (HTML + Typst PDF) was not rendered. "
    "Install Quarto >= 1.5 (conda install -c conda-forge quarto, or https://quarto.org/"
    "docs/get-started/) and run `casereport build` again; meanwhile open the preview."
)


class QuartoError(RuntimeError):
    """Quarto ran and failed (or warned, when strict); the message carries its output."""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def warnings(log: str) -> list[str]:
    """Quarto's WARN/WARNING messages in a render log, each with its continuation lines
    (Quarto prints the detail of a warning on the lines after it, up to a blank line or
    the next message), and a filter's ``quarto.log.warning``, which prints "(W) ..."."""
    out: list[str] = []
    current: list[str] | None = None
    for line in _ANSI.sub("", log).splitlines():
        if re.match(r"^\s*(WARN\b|WARNING\b|\(W\) )", line):
            if current:
                out.append("\n".join(current).strip())
            current = [line.strip()]
        elif current is not None:
            if not line.strip() or re.match(r"^\s*(\[|Output created|ERROR)", line):
                out.append("\n".join(current).strip())
                current = None
            else:
                current.append(line.rstrip())
    if current:
        out.append("\n".join(current).strip())
    return out


def find_quarto() -> str | None:
    """The quarto executable: ``$QUARTO_PATH`` if it names one, else ``quarto`` on PATH."""
    env = os.environ.get("QUARTO_PATH")
    if env and Path(env).is_file() and os.access(env, os.X_OK):
        return env
    return shutil.which("quarto")


def version(quarto: str | None = None) -> tuple[int, ...] | None:
    quarto = quarto or find_quarto()
    if quarto is None:
        return None
    try:
        out = subprocess.run(
            [quarto, "--version"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return tuple(int(x) for x in out.split(".")[:3])
    except ValueError:
        return None


def command(output_dir: Path | None = None, quarto: str | None = None,
            target: str | None = None) -> list[str]:  # fmt: skip
    """The render command: the whole project, every format in ``_quarto.yml``; or one of
    its files, ``target`` (project-relative), with the project's settings."""
    cmd = [quarto or find_quarto() or "quarto", "render",
           str(paths.ROOT / target if target else paths.ROOT)]  # fmt: skip
    if output_dir is not None:
        cmd += ["--output-dir", str(output_dir)]
    return cmd


def environment() -> dict[str, str]:
    """Environment for Quarto: skip our own pre-render (the build calling Quarto has just
    run the pipeline) and point Quarto at this Python, whose Jupyter reads the notebooks."""
    env = dict(os.environ)
    env[SKIP_PRERENDER_ENV] = "1"
    env.setdefault("QUARTO_PYTHON", sys.executable)
    return env


# ------------------------------------------------------------------ the supplement


def _child_environment() -> dict[str, str]:
    """:func:`environment`, without the variables Quarto sets for the scripts it runs
    (``QUARTO_PROJECT_*``): the supplement is another project."""
    return {k: v for k, v in environment().items() if not k.startswith("QUARTO_PROJECT")}


def render_supplement(timeout: float = 1800, strict: bool = False,
                      root: Path | None = None) -> list[str]:  # fmt: skip
    """Render the supplement (HTML and Typst PDF) into ``supplement/_output/`` and write
    the numbers it gave each float and section to ``supplement/_output/numbers.json``.

    Returns Quarto's warnings; raises like :func:`render`."""
    quarto = find_quarto()
    if quarto is None:
        raise FileNotFoundError(NOT_FOUND)
    sup = supplement_dir(root)
    stage_supplement(root)
    out = sup / SUPPLEMENT_OUTPUT
    shutil.rmtree(out, ignore_errors=True)
    res = subprocess.run([quarto, "render", str(sup)], cwd=sup, env=_child_environment(),
                         capture_output=True, text=True, timeout=timeout)  # fmt: skip
    log = res.stdout + "\n" + res.stderr
    if res.returncode != 0:
        tail = "\n".join(_ANSI.sub("", log).strip().splitlines()[-40:])
        raise QuartoError(
            f"quarto render of the supplement failed (exit {res.returncode}):\n{tail}"
        )
    for name in ("index.html", "index.pdf"):
        if not (out / name).is_file():
            raise QuartoError(f"quarto render of the supplement wrote no {out / name}")
    numbers = supplement_numbers((out / "index.html").read_text(encoding="utf-8"))
    atomic.write_text(out / NUMBERS, json.dumps(numbers, indent=2, ensure_ascii=False) + "\n")
    found = [f"supplement: {w}" for w in warnings(log)]
    if strict and found:
        raise QuartoError(
            f"quarto render warned {len(found)} time(s) (--strict):\n" + "\n".join(found)
        )
    return found


def _render_article(output_dir: Path, quarto: str, timeout: float,
                    extra_env: dict[str, str] | None = None,
                    target: str | None = None) -> str:  # fmt: skip
    """``quarto render`` the article's project (or its file ``target``: the article or a
    notebook's view) into ``output_dir``; returns its log. Its post-render step is
    skipped: :func:`render` runs it once the supplement is rendered."""
    res = subprocess.run(
        command(Path(output_dir), quarto, target),
        cwd=paths.ROOT,
        env={**environment(), SKIP_POSTRENDER_ENV: "1", **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = res.stdout + "\n" + res.stderr
    if res.returncode != 0:
        tail = "\n".join(_ANSI.sub("", log).strip().splitlines()[-40:])
        what = f" of {target}" if target else ""
        raise QuartoError(f"quarto render{what} failed (exit {res.returncode}):\n{tail}")
    return log


def _numbers(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def render(output_dir: Path, timeout: float = 1800, strict: bool = False,
           previous: Path | None = None,
           say: Callable[[str], None] | None = None) -> list[str]:  # fmt: skip
    """``quarto render`` the supplement (:func:`render_supplement`) and the project into
    ``output_dir`` (HTML article + notebook views, Typst PDF), then copy the supplement in
    as ``output_dir/supplement`` (``_quarto/postrender.py``). A project without
    ``supplement/`` renders the article alone. Call it after the build folder has been
    swapped in as ``build/``: the article embeds ``build/runs/*.ipynb`` and includes
    ``build/fragments/*.md``.

    The notebook views come first, one ``quarto render`` each, and only those whose key
    changed since ``previous`` (the last rendered manuscript): the others are copied from
    it (:mod:`casereport.report.views`). Then the article, which reuses the views. When
    more than half the views changed, the whole project renders in one ``quarto render``
    instead. The supplement renders meanwhile, in a second process.

    The article's references to the supplement need the numbers the supplement's render
    gives its tables. When ``previous`` holds those numbers, the article does not wait
    for the supplement and reads the previous numbers; if the new supplement numbered
    anything differently, the article is rendered again with the new numbers, so the
    result is always that of rendering one after the other. Without them it waits.

    ``say`` is told, in one line, which views are rendered and which copied.

    Returns Quarto's warnings (:func:`warnings`). Raises FileNotFoundError (with
    :data:`NOT_FOUND`) when Quarto is absent and :class:`QuartoError` when it fails, or,
    with ``strict``, when it warned."""
    quarto = find_quarto()
    if quarto is None:
        raise FileNotFoundError(NOT_FOUND)
    v = version(quarto)
    if v is not None and v[:2] < MIN_VERSION:
        raise QuartoError(
            f"Quarto {'.'.join(map(str, v))} is too old: the manuscript needs >= "
            f"{'.'.join(map(str, MIN_VERSION))}"
        )
    output_dir = Path(output_dir)
    has_supplement = (supplement_dir() / "_quarto.yml").is_file()
    prior = _numbers(previous / "supplement" / NUMBERS) if previous is not None else None
    listed = views.manuscript()
    if listed is None:  # no notebook list: the whole project in one render, as Quarto does
        plan = _Plan(None, [], None)
    else:
        article, notebooks = listed
        new_keys = views.keys(notebooks, v)
        output_dir.mkdir(parents=True, exist_ok=True)
        reused = views.restore(previous, output_dir, new_keys)
        todo = [nb for nb in notebooks if nb not in reused]
        # A view rendered alone costs about 1.6 times its part of one whole render (each
        # `quarto render` starts Quarto and reads the project again: benchmarks/
        # results.md, section "views"), so many changed views render with the project;
        # there Quarto still reuses the copied download notebooks.
        if len(todo) <= len(notebooks) // 2:
            plan = _Plan(article, todo, new_keys)
        else:
            plan = _Plan(None, [], new_keys)
        if say is not None:
            say(f"notebook views: {len(reused)} of {len(notebooks)} unchanged (copied from "
                f"the last manuscript), {len(todo)} to render"
                + ("" if plan.article else " (with the whole project)"))
    found_supplement, log = _render_all(output_dir, quarto, timeout, strict,
                                        prior, plan, has_supplement)  # fmt: skip
    _copy_supplement(output_dir, has_supplement)
    found = found_supplement + warnings(log)
    if strict and found:
        raise QuartoError(
            f"quarto render warned {len(found)} time(s) (--strict):\n" + "\n".join(found)
        )
    if plan.keys is not None:
        views.write_record(output_dir, plan.keys)
    return found


@dataclass
class _Plan:
    """What the article's project renders: ``article`` None means the whole project in
    one ``quarto render``; else the views of ``todo`` one by one, then the article.
    ``keys``: each view's key, recorded in the manuscript (None: no notebook list)."""

    article: str | None
    todo: list[str]
    keys: dict[str, str] | None


def _render_all(output_dir: Path, quarto: str, timeout: float, strict: bool,
                prior: dict | None, plan: _Plan,
                has_supplement: bool) -> tuple[list[str], str]:  # fmt: skip
    """The supplement in one thread, the views and the article in another (two Quarto
    processes at a time, never two in one project: both write its ``.quarto/``); the
    article reads ``prior`` numbers or waits for the supplement, and renders again if
    the supplement's numbers are not ``prior``. Returns (the supplement's warnings, the
    article's logs)."""
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import wait as wait_for

    numbers_file = output_dir.parent / f"{output_dir.name}.numbers.json"
    env: dict[str, str] = {}
    if has_supplement and prior is not None:
        atomic.write_text(numbers_file, json.dumps(prior, ensure_ascii=False))
        env = {NUMBERS_ENV: str(numbers_file)}
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            supplement = pool.submit(render_supplement, timeout, strict) \
                if has_supplement else None  # fmt: skip

            def article_lane() -> tuple[str, str]:
                logs = "\n".join(_render_article(output_dir, quarto, timeout, None, nb)
                                 for nb in plan.todo)  # fmt: skip
                if supplement is not None and not env:  # it needs the new numbers
                    wait_for([supplement])
                    if supplement.exception() is not None:
                        return logs, ""
                return logs, _render_article(output_dir, quarto, timeout, env, plan.article)

            article = pool.submit(article_lane)
            # both finish before either's error is raised: no Quarto left writing
            done = [supplement, article] if supplement is not None else [article]
            for exc in [f.exception() for f in done]:
                if exc is not None:
                    raise exc
            found = supplement.result() if supplement is not None else []
            view_logs, log = article.result()
    finally:
        numbers_file.unlink(missing_ok=True)
    if env and _numbers(supplement_dir() / SUPPLEMENT_OUTPUT / NUMBERS) != prior:
        # the supplement's numbering changed: the article again, with the new numbers
        if plan.article is None:
            shutil.rmtree(output_dir, ignore_errors=True)
        log = _render_article(output_dir, quarto, timeout, None, plan.article)
    return found, view_logs + "\n" + log


def _copy_supplement(output_dir: Path, has_supplement: bool) -> None:
    """Run the post-render step (``_quarto/postrender.py``: the rendered supplement into
    the manuscript) once the supplement's render is done; the article's own renders skip
    it, as it may still be rendering."""
    script = paths.ROOT / "_quarto" / "postrender.py"
    if not has_supplement or not script.is_file():
        return
    env = {k: v for k, v in os.environ.items() if k != SKIP_POSTRENDER_ENV}
    env["QUARTO_PROJECT_OUTPUT_DIR"] = str(Path(output_dir).resolve())
    res = subprocess.run([sys.executable, str(script)], cwd=paths.ROOT, env=env,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode != 0:
        raise QuartoError(f"the post-render step failed: {res.stderr.strip() or res.stdout}")


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - run by prerender.py
    """``python -m casereport.report.quarto supplement``: render the supplement (the
    pre-render step of a plain ``quarto render`` calls it after the pipeline). Warnings
    are printed as Quarto prints them, so the outer render shows them."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["supplement"]:
        print("usage: python -m casereport.report.quarto supplement", file=sys.stderr)
        return 2
    try:
        found = render_supplement()
    except (QuartoError, FileNotFoundError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    for w in found:
        print(f"WARNING {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
