"""Notebook parameters as the analyses need them: lists of ids from any spelling."""

from __future__ import annotations

from typing import Any

from casereport.primitives import yamltext


def site_list(values: Any) -> list[str]:
    """Site ids from a parameter: a list, one id (``-p exclude_sites 2`` gives the int 2),
    a comma-separated string (``"2,4"``) or a YAML/JSON list string (``'["2"]'``)."""
    if values is None:
        return []
    if isinstance(values, str):
        text = values.strip()
        if text.startswith("["):
            values = yamltext.load(text) or []
        else:
            values = [v for v in (t.strip() for t in text.split(",")) if v]
    elif not isinstance(values, list | tuple | set):
        values = [values]
    return [str(v) for v in values]
