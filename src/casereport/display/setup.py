"""One call at the top of every notebook: backend, palette, fonts, display options.

In a Jupyter kernel (JupyterLab or papermill) figures go through the inline backend,
which renders with Agg (non-interactive) and embeds the PNG in the cell output, where
Quarto finds it. Anywhere else (plain Python, tests) the Agg backend is forced.
"""

from __future__ import annotations

import matplotlib
import pandas as pd

PALETTE = "colorblind"  # seaborn's colour-blind-safe palette (Okabe-Ito-like)

RC = {
    "figure.figsize": (7.0, 4.6),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "legend.title_fontsize": 10,
    "figure.facecolor": "white",
}


def in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, papermill, nbclient)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return False
    ip = get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def setup() -> None:
    """Set the backend, the seaborn theme with the colour-blind palette and pandas options."""
    if in_kernel():
        from IPython import get_ipython

        get_ipython().run_line_magic("matplotlib", "inline")
        try:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("retina")  # sharp PNGs at report size
        except ImportError:  # pragma: no cover
            pass
    else:
        matplotlib.use("Agg")

    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc=RC)
    pd.set_option("display.max_columns", 50)
    pd.set_option("display.width", 120)
    pd.set_option("display.precision", 3)
