"""Find and run Quarto (https://quarto.org), which renders the manuscript project.

Quarto is not a Python package: users install it with conda-forge (``quarto``) or its
installer, CI with ``quarto-dev/quarto-actions/setup``. When it is absent the build writes
the pandoc preview instead (:mod:`casereport.report.preview`) and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from casereport import paths

MIN_VERSION = (1, 5)  # pre-render may write _variables.yml: metadata re-read since 1.5
SKIP_PRERENDER_ENV = "CASEREPORT_SKIP_PRERENDER"
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
    the next message)."""
    out: list[str] = []
    current: list[str] | None = None
    for line in _ANSI.sub("", log).splitlines():
        if re.match(r"^\s*(WARN|WARNING)\b", line):
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


def command(output_dir: Path | None = None, quarto: str | None = None) -> list[str]:
    """The render command: the whole project, every format in ``_quarto.yml``."""
    cmd = [quarto or find_quarto() or "quarto", "render", str(paths.ROOT)]
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


def render(output_dir: Path, timeout: float = 1800, strict: bool = False) -> list[str]:
    """``quarto render`` the project into ``output_dir`` (HTML article + notebook views,
    Typst PDF). Call it after the build folder has been swapped in as ``build/``: the
    article embeds ``build/runs/*.ipynb`` and includes ``build/fragments/*.md``.

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
    res = subprocess.run(
        command(Path(output_dir), quarto),
        cwd=paths.ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = res.stdout + "\n" + res.stderr
    if res.returncode != 0:
        tail = "\n".join(_ANSI.sub("", log).strip().splitlines()[-40:])
        raise QuartoError(f"quarto render failed (exit {res.returncode}):\n{tail}")
    found = warnings(log)
    if strict and found:
        raise QuartoError(
            f"quarto render warned {len(found)} time(s) (--strict):\n" + "\n".join(found)
        )
    return found
