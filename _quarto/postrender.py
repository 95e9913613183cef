"""Quarto's post-render step: put the rendered supplement beside the article.

The supplement is a Quarto project of its own (``supplement/``), rendered before the
article (by ``casereport build``, or by the pre-render step under ``quarto render``) into
``supplement/_output/``, because the article's references to it need its numbers. This
copies that folder into the manuscript's output folder as ``supplement/``, so the article's
links ``supplement/index.html#tbl-x`` resolve. Standard library only: Quarto runs it with
its own Python. https://quarto.org/docs/projects/scripts.html
"""

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    if os.environ.get("CASEREPORT_SKIP_POSTRENDER"):
        # `casereport build` renders the supplement beside the article and runs this
        # script itself once both are done (src/casereport/report/quarto.py: render)
        sys.exit(0)
    src = ROOT / "supplement" / "_output"
    if not (src / "index.html").is_file():
        sys.exit(f"casereport post-render: {src} holds no rendered supplement; run "
                 "`casereport build` (or `quarto render`, whose pre-render step renders it)")
    out = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR") or "_manuscript")
    out = out if out.is_absolute() else ROOT / out
    dest = out / "supplement"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
