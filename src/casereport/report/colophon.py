"""The colophon: software versions, data file hashes, every run with its parameters, and
the source version the report was built from."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from casereport.primitives import markdown as md
from casereport.primitives import paths
from casereport.report.manifest_runs import runs_from_manifest

KEY_PACKAGES = (
    "casereport",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbformat",
    "nbclient",
    "ipykernel",
    "frictionless",
    "pypandoc-binary",
)



def package_versions(names: Iterable[str] = KEY_PACKAGES) -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for name in names:
        try:
            out.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    try:
        import pypandoc

        out.append(("pandoc (pypandoc-binary)", pypandoc.get_pandoc_version()))
    except (ImportError, OSError):
        pass
    return out


def data_hashes(data_dir: Path) -> list[tuple[str, str]]:
    out = []
    for p in sorted(Path(data_dir).iterdir()):
        if p.is_file() and not p.name.startswith("."):
            out.append((p.name, hashlib.sha256(p.read_bytes()).hexdigest()))
    return out


def git_commit(root: Path = paths.ROOT) -> str:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    if res.returncode != 0:
        return "not a git checkout"
    commit = res.stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=10,
    )
    if dirty.returncode == 0 and dirty.stdout.strip():
        commit += " (with uncommitted changes)"
    return commit


def _value_md(value: Any) -> str:
    if value is None:
        return ""
    return md.code(value if isinstance(value, str) else json.dumps(value, default=str))


def _runs_md(runs: list[dict[str, Any]]) -> str:
    """Per notebook: the parameters shared by all its runs, then a table of those that vary."""
    parts = []
    by_nb: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_nb.setdefault(r["notebook"], []).append(r)
    for nb, recs in by_nb.items():
        params = [dict(r.get("parameters") or {}) for r in recs]
        names: list[str] = []
        for p in params:
            names += [k for k in p if k not in names]
        missing = object()
        common = [
            k
            for k in names
            if len({json.dumps(p.get(k, missing), default=str) for p in params}) == 1
        ]
        varying = [k for k in names if k not in common]
        text = f"#### {md.code(nb)} {{.unnumbered}}\n\n"
        if common:
            shared = "; ".join(f"{md.code(k)} = {_value_md(params[0].get(k))}" for k in common)
            label = "All runs" if len(recs) > 1 else "Parameters"
            text += f"{label}: {shared}.\n\n"
        if len(recs) > 1 or varying:
            rows = [
                [md.code(r["run_id"])] + [_value_md(p.get(k)) for k in varying]
                for r, p in zip(recs, params, strict=True)
            ]
            text += md.table(["run", *varying], rows, raw=[True] * (1 + len(varying)))
        parts.append(text)
    return "\n".join(parts)


def _input_hashes(manifest: Mapping[str, Any] | None, data_dir: Path) -> list[tuple[str, str]]:
    """Data files the runs read (manifest ``inputs``), else every file in ``data_dir``."""
    found: dict[str, str] = {}
    for r in runs_from_manifest(manifest):
        inputs = r.get("inputs") or {}
        if isinstance(inputs, Mapping):
            found.update({str(k): str(v) for k, v in inputs.items()})
    found.update({str(k): str(v) for k, v in ((manifest or {}).get("data_files") or {}).items()})
    if found:
        return sorted(found.items())
    return data_hashes(data_dir) if data_dir.is_dir() else []


def colophon_md(manifest: Mapping[str, Any] | None, data_dir: Path | None = None) -> str:
    """Package versions, data-file hashes, every run's parameters and the git commit."""
    data_dir = Path((manifest or {}).get("data_dir") or data_dir or paths.DATA_DIR)
    runs = runs_from_manifest(manifest)
    hashes = _input_hashes(manifest, data_dir)
    parts = [
        "### Software {.unnumbered}\n",
        md.table(["package", "version"], package_versions()),
        "\n### Data {.unnumbered}\n",
        "SHA-256 of every data file the notebook runs read.\n",
        md.table(
            ["file", "SHA-256"], [(md.code(n), md.code(h)) for n, h in hashes], raw=[True, True]
        ),
        "\n### Runs and parameters {.unnumbered}\n",
        f"{len(runs)} notebook runs, each with the parameters it ran with.\n",
        _runs_md(runs) if runs else "_(no runs)_\n",
        "\n### Source {.unnumbered}\n",
        f"Git commit: {md.code(git_commit())}.",
    ]
    created = (manifest or {}).get("created")
    if created:
        parts.append(f" Built {md.escape(created)}.")
    return "\n".join(parts) + "\n"
