"""Find a notebook cell the way Quarto's ``{{< embed nb.ipynb#ident >}}`` does.

Quarto's "Specifying Cells" rules (https://quarto.org/docs/authoring/notebook-embed.html):
the identifier matches first a cell ``id``, then a cell whose ``#| label:`` option matches,
then cell(s) carrying the identifier as a tag. The preview and the static checks both use
:func:`find_cells`, so they agree with each other and with Quarto.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import nbformat

from casereport.primitives import yamltext

OPTION_PREFIX = "#|"


def cell_options(cell: Any) -> dict[str, Any]:
    """The leading ``#| key: value`` lines of a code cell, parsed as YAML (``{}`` if none)."""
    if cell.get("cell_type") != "code":
        return {}
    lines = []
    for line in str(cell.get("source", "")).splitlines():
        stripped = line.strip()
        if not stripped.startswith(OPTION_PREFIX):
            break
        lines.append(stripped[len(OPTION_PREFIX) :].removeprefix(" "))
    if not lines:
        return {}
    try:
        parsed = yamltext.load("\n".join(lines))
    except yamltext.YAMLError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def cell_label(cell: Any) -> str | None:
    label = cell_options(cell).get("label")
    return str(label) if label is not None else None


def find_cells(nb: Any, ident: str) -> list[Any]:
    """Cells matching ``ident``: by cell id, else by ``#| label:``, else by tag."""
    cells = nb.get("cells", [])
    by_id = [c for c in cells if c.get("id") == ident]
    if by_id:
        return by_id[:1]
    by_label = [c for c in cells if cell_label(c) == ident]
    if by_label:
        return by_label[:1]
    return [c for c in cells if ident in (c.get("metadata", {}).get("tags") or [])]


def labels(nb: Any) -> list[str]:
    """Every ``#| label:`` in the notebook, in order."""
    return [lab for c in nb.get("cells", []) if (lab := cell_label(c))]


@functools.lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int, size: int) -> Any:
    return nbformat.read(path, as_version=4)


def read_notebook(path: Path) -> Any:
    """Read (and cache by path, mtime and size) an executed notebook."""
    st = os.stat(path)
    return _read(str(path), st.st_mtime_ns, st.st_size)
