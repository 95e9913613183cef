"""Find and run Quarto (https://quarto.org), which renders the manuscript project.

Quarto is not a Python package: users install it with conda-forge (``quarto``) or its
installer, CI with ``quarto-dev/quarto-actions/setup``. When it is absent the build writes
the pandoc preview instead (:mod:`casereport.report.preview`) and says so.
"""

from __future__ import annotations

import os
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
    """Quarto ran and failed; the message carries the end of its output."""


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


def render(output_dir: Path, timeout: float = 1800) -> None:
    """``quarto render`` the project into ``output_dir`` (HTML article + notebook views,
    Typst PDF). Call it after the build folder has been swapped in as ``build/``: the
    article embeds ``build/runs/*.ipynb`` and includes ``build/fragments/*.md``.

    Raises FileNotFoundError (with :data:`NOT_FOUND`) when Quarto is absent and
    :class:`QuartoError` when it fails."""
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
    if res.returncode != 0:
        tail = "\n".join((res.stdout + "\n" + res.stderr).strip().splitlines()[-40:])
        raise QuartoError(f"quarto render failed (exit {res.returncode}):\n{tail}")
