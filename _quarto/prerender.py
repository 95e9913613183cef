"""Quarto's pre-render step: run the casereport pipeline with the project's Python, then
render the supplement (``supplement/``, a project of its own), whose numbers the article's
references to it need.

Quarto runs a ``.py`` pre-render script with its Python (``QUARTO_PYTHON``, else
``python3`` on PATH). If that Python has casereport, it runs the pipeline; otherwise
the project's ``.venv`` (made by ``make setup``) is used, so ``quarto render`` works
without activating anything once the environment exists.
https://quarto.org/docs/projects/scripts.html
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python() -> str:
    if importlib.util.find_spec("casereport") is not None:
        return sys.executable
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.is_file():
        return str(venv)
    sys.exit(
        "casereport pre-render: the Python Quarto found (" + sys.executable + ") has no "
        "casereport package and there is no .venv. Run `make setup` (or `conda activate "
        "casereport`), then `quarto render` again."
    )


if __name__ == "__main__":
    if os.environ.get("CASEREPORT_SKIP_PRERENDER"):
        # `casereport build` has just run the pipeline and renders the supplement itself;
        # say so without starting Python with casereport again (about a second per render).
        print("casereport prerender: skipped (called from casereport build)", file=sys.stderr)
        sys.exit(0)
    # The pipeline builds this project, whichever checkout the package was installed from.
    env = {**os.environ, "CASEREPORT_ROOT": os.environ.get("CASEREPORT_ROOT", str(ROOT))}
    code = subprocess.call([python(), "-m", "casereport", "prerender"], cwd=ROOT, env=env)
    if code == 0:
        code = subprocess.call([python(), "-m", "casereport.report.quarto", "supplement"],
                               cwd=ROOT, env=env)
    sys.exit(code)
