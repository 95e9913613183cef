"""The one place that knows where things live.

Every path is derived from the project root, so notebooks, the CLI and the
tests agree whatever the working directory is (JupyterLab starts kernels in
notebooks/, papermill and CI from the root). Set CASEREPORT_ROOT to point the
package at another checkout (the build does this for isolated test copies).
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def _find_root() -> Path:
    env = os.environ.get("CASEREPORT_ROOT")
    if env:
        return Path(env).resolve()
    # src/casereport/primitives/paths.py -> project root (editable install keeps this layout)
    return Path(__file__).resolve().parents[3]


ROOT: Path = _find_root()

DATA_DIR = ROOT / "data"
NOTEBOOKS_DIR = ROOT / "notebooks"
PARAMS_DIR = ROOT / "params"
SRC_DIR = ROOT / "src" / "casereport"
TESTS_DIR = ROOT / "tests"
BUILD_DIR = ROOT / "build"
CACHE_DIR = ROOT / ".casereport-cache"
LAST_BUILD = CACHE_DIR / "last-build.json"  # the last build's runs and their status

# data/ holds one folder per trial (casereport.trialdata.trials). The shapes' default
# trials' files, the loaders' defaults (a notebook passes its own paths as parameters):
ENRICH_CSV = DATA_DIR / "enrich" / "enrich_sites.csv"
RETAKE_CSV = DATA_DIR / "retake" / "retake_sites.csv"
FACTORS_CSV = DATA_DIR / "retake" / "retake_site_factors.csv"
THEORY_CSV = DATA_DIR / "retake" / "programme_theory.csv"
DEMOGRAPHICS_CSV = DATA_DIR / "retake" / "retake_demographics.csv"
REASON_MAP_CSV = DATA_DIR / "retake" / "reason_theory_map.csv"

QUARTO_VARIABLES = ROOT / "_variables.yml"

KERNEL_NAME = "casereport"

#: What a private copy of the project needs to build and render it (the tests' and the
#: benchmarks' copies); in ``supplement/`` the outputs of a render are left out
#: (``COPY_IGNORE``), so a copy renders from its own build.
PROJECT_SOURCES = ["data", "notebooks", "params", "src", "requirements", "index.qmd",
                   "sections", "references.bib", "_quarto.yml", "_quarto", "supplement",
                   "pyproject.toml"]  # fmt: skip
COPY_IGNORE = ("__pycache__", ".ipynb_checkpoints", "_output", "build", ".quarto")


def resolve(path: str | os.PathLike[str]) -> Path:
    """Resolve a user-supplied path: absolute as given, relative to the project root.

    Notebook parameters hold root-relative defaults such as ``data/enrich/enrich_sites.csv``
    so that the same value works from JupyterLab (cwd notebooks/) and papermill.
    A relative path that exists from the current directory wins, so
    ``casereport validate --data-dir my_trial`` means what the user typed.
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if p.exists():
        return p.resolve()
    return (ROOT / p).resolve()


def safe_name(text: object) -> str:
    """File-name-safe form of a run, parameter-set or site name (site ids come from data):
    runs of other characters become ``_`` (``"<b>x"`` -> ``"b_x"``), case is kept, and
    ``-`` and ``.`` survive (``"enrich-3"``). Run ids and results file names use it."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"
