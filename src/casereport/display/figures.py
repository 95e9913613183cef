"""Figures for the notebooks (seaborn/matplotlib, colour-blind-safe palette): the backend,
:func:`show`, and the helpers every room's figures use (colours, markers, point labels).

Each builder (in each analysis room's ``figures`` module) returns one
``matplotlib.figure.Figure``; a figure cell calls :func:`show`, which displays it once and
closes it. Site labels come from the data (``Site <id>``).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from casereport.analyses.estimability import NotEstimable
from casereport.display.setup import PALETTE, in_kernel

if not in_kernel():  # plain Python / tests: never open a window
    matplotlib.use("Agg")


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]


def show(fig: plt.Figure | NotEstimable) -> None:
    """Display ``fig`` once (in a kernel: the PNG of :func:`png` at twice the figure's dpi,
    marked for half that size, as the inline backend's "retina" format shows it) and close
    it. An analysis the data cannot support is drawn as a small figure stating the reason,
    so the figure's label, caption and alt text still resolve."""
    if isinstance(fig, NotEstimable):
        note = str(fig)
        fig, ax = plt.subplots(figsize=(6.0, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, note, ha="center", va="center")
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            data, (width, height) = png(fig, 2 * fig.dpi)
            display({"text/plain": repr(fig), "image/png": data}, raw=True,
                    metadata={"image/png": {"width": width // 2, "height": height // 2}})
    finally:
        plt.close(fig)


def png(fig: plt.Figure, dpi: float) -> tuple[bytes, tuple[int, int]]:
    """``fig`` as PNG bytes at ``dpi``, cropped to its contents with ``savefig.pad_inches``
    around them (what ``savefig(bbox_inches="tight")`` gives), and the image's (width,
    height) in pixels.

    Drawn once: savefig's "tight" draws the figure twice, once to measure its contents
    (with rasterising off, but every artist laid out) and once shifted onto a canvas of
    their size; drawn once (and written by :func:`_encode`), a figure's PNG is made
    1.39-1.52 times as fast (benchmarks/results.md, section "figures"). Here the figure is
    drawn on its own canvas, measured, and the pixels inside the padded box are kept;
    padding beyond the canvas is the figure's face colour, as in savefig's shifted figure.
    When the contents themselves reach beyond the canvas (a legend placed outside it), they
    would be clipped, so savefig draws it instead. The image may sit a fraction of a pixel
    from savefig's."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba

    canvas, old_dpi = fig.canvas, fig.dpi
    try:
        fig.set_dpi(dpi)
        agg = FigureCanvasAgg(fig)
        agg.draw()
        tight = fig.get_tightbbox(agg.get_renderer())
        width, height = agg.get_width_height()
        if tight.x0 < 0 or tight.y0 < 0 or tight.x1 * dpi > width or tight.y1 * dpi > height:
            out = io.BytesIO()
            fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight")
            data = out.getvalue()
            return data, _png_size(data)
        box = tight.padded(matplotlib.rcParams["savefig.pad_inches"])
        # savefig's canvas: the box's size truncated to whole pixels, its top-left corner
        # at the box's top-left corner (rows of the buffer run from the top)
        w, h = int(box.width * dpi), int(box.height * dpi)
        left, top = _pixel(box.x0 * dpi), height - _pixel(box.y1 * dpi)
        # PNG scanlines: a filter-type byte (0) before each row's RGBA pixels
        lines = np.empty((h, 1 + 4 * w), np.uint8)
        lines[:, 0] = 0
        image = lines[:, 1:].reshape(h, w, 4)
        r0, r1 = max(top, 0), min(top + h, height)
        c0, c1 = max(left, 0), min(left + w, width)
        if (r1 - r0, c1 - c0) != (h, w):  # the padding reaches beyond the canvas
            image[:] = np.floor(np.array(to_rgba(fig.get_facecolor())) * 255 + 0.5)
        image[r0 - top:r1 - top, c0 - left:c1 - left] = np.asarray(agg.buffer_rgba())[r0:r1, c0:c1]
        return _encode(lines, w, h, dpi), (w, h)
    finally:
        fig.set_dpi(old_dpi)
        fig.set_canvas(canvas)


def _encode(lines: np.ndarray, width: int, height: int, dpi: float) -> bytes:
    """A PNG of 8-bit RGBA scanlines (each led by its filter byte) with the chunks
    matplotlib's ``imsave`` writes beside the pixels: its Software text and the dpi.

    Unfiltered rows, deflated at zlib's default level. Pillow (what ``imsave`` and savefig
    use) picks a filter for every row by trying up to four; unfiltered, a case-profile PNG
    is written in about half its time (28 ms against 53 ms) and, a figure's colours being
    flat, is about a fifth smaller. The same pixels either way."""
    software = f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"
    ppm = int(dpi / 0.0254 + 0.5)  # pixels per metre, as Pillow rounds them
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),
        _chunk(b"tEXt", b"Software\0" + software.encode("latin-1")),
        _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
        _chunk(b"IDAT", zlib.compress(lines, 6)),
        _chunk(b"IEND", b""),
    ])  # fmt: skip


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _pixel(x: float) -> int:
    """The pixel boundary nearest ``x`` (halves up)."""
    return int(np.floor(x + 0.5))


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk (bytes 16-24, big-endian)."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def plain(text: Any) -> str:
    """Data text shown literally: a ``$`` would otherwise start matplotlib mathtext."""
    return str(text).replace("$", r"\$")


def colours(levels: Sequence[Any]) -> dict[Any, Any]:
    """A colour per level from the colour-blind palette, in the given order."""
    pal = sns.color_palette(PALETTE, max(len(levels), 1))
    return {lev: pal[i % len(pal)] for i, lev in enumerate(levels)}


def label_points(ax, xs, ys, labels, xtol: float, ytol: float) -> None:
    """Label each point; a label goes to the left when a neighbour sits to its right."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    for i, lab in enumerate(labels):
        lab = plain(lab)
        near = (np.abs(ys - ys[i]) < ytol) & (xs > xs[i]) & (xs - xs[i] < xtol)
        left = bool(near.any())
        ax.annotate(
            lab,
            (xs[i], ys[i]),
            xytext=(-7 if left else 7, 5),
            textcoords="offset points",
            ha="right" if left else "left",
            va="bottom",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "lw": 0.6},
        )
