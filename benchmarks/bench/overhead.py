"""Section `overhead`: per-run fixed costs (Python start, imports, a kernel start with an empty
notebook, the papermill and nbconvert command lines).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .common import BIN, KERNEL, WORK, median, timed


def section_overhead(repeats: int) -> dict[str, Any]:
    """Fixed per-run costs, each measured on its own."""
    import nbformat

    nbdir = WORK / "overhead"
    nbdir.mkdir(parents=True, exist_ok=True)
    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("pass")]
    empty.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    imports = nbformat.v4.new_notebook(metadata=empty.metadata)
    imports.cells = [nbformat.v4.new_code_cell(
        "import pandas, numpy, scipy.stats, statsmodels.api, statsmodels.formula.api\n"
        "import matplotlib.pyplot, seaborn\n"
        "import casereport, casereport.trialdata.loaders, casereport.stats\n"
        "import casereport.primitives.results\n"
        "from casereport.display import setup\nsetup.setup()\n"
        "import casereport.analyses.engagement_fidelity.figures\n"
        "import casereport.analyses.engagement_fidelity.tables\n"
        "import casereport.analyses.case_profile.analysis\n")]
    nbformat.write(empty, nbdir / "empty.ipynb")
    nbformat.write(imports, nbdir / "imports.ipynb")
    probes = {
        "python_start": [sys.executable, "-c", "pass"],
        "import_papermill": [sys.executable, "-c", "import papermill"],
        "import_nbformat": [sys.executable, "-c", "import nbformat"],
        "import_casereport_runs": [sys.executable, "-c", "import casereport.pipeline.plan"],
        "import_notebook_stack": [sys.executable, "-c",
                                  "import pandas, statsmodels.api, statsmodels.formula.api, "
                                  "seaborn, matplotlib.pyplot, casereport.stats, "
                                  "casereport.trialdata.loaders"],
        "papermill_cli_empty": [str(BIN / "papermill"), str(nbdir / "empty.ipynb"),
                                str(nbdir / "empty.out.ipynb"), "-k", KERNEL],
        "papermill_cli_imports": [str(BIN / "papermill"), str(nbdir / "imports.ipynb"),
                                  str(nbdir / "imports.out.ipynb"), "-k", KERNEL],
        "nbconvert_cli_empty": [str(BIN / "jupyter"), "nbconvert", "--to", "notebook",
                                "--execute", f"--ExecutePreprocessor.kernel_name={KERNEL}",
                                "--output", "empty.nbconvert", str(nbdir / "empty.ipynb")],
    }
    samples: dict[str, list[float]] = {k: [] for k in probes}
    samples["papermill_api_empty"] = []
    samples["papermill_api_imports"] = []
    import papermill

    for _ in range(repeats):
        for name, cmd in probes.items():
            samples[name].append(timed(cmd, cwd=nbdir)[0])
        for name in ("empty", "imports"):
            start = time.perf_counter()
            papermill.execute_notebook(str(nbdir / f"{name}.ipynb"), str(nbdir / "api.ipynb"),
                                       kernel_name=KERNEL, progress_bar=False)
            samples[f"papermill_api_{name}"].append(time.perf_counter() - start)
    med = {k: median(v) for k, v in samples.items()}
    derived = {
        "kernel_start_stop": med["papermill_api_empty"],
        "kernel_imports": med["papermill_api_imports"] - med["papermill_api_empty"],
        "papermill_cli_process": med["papermill_cli_empty"] - med["papermill_api_empty"],
    }
    return {"samples": samples, "median": med, "derived": derived}
