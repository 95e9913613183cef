"""The run plan: which notebook runs with which parameters, and what each reads.

A run is one notebook executed with one parameter set. Parameter sets are the
YAML files under ``params/<notebook>/``; the case profile is expanded to one run
per site of each trial, read from the data, so nothing here knows how many
sites a trial has.

A parameter set that names a site the data do not have (``exclude_sites: ["6"]`` on a
trial of three sites) is *not applicable*: it is left out of the runs, with the reason
("names site 6, which data/enrich_sites.csv does not have"), and the build prints it and
records it in the manifest. A notebook parameter names sites when its comment in the
``parameters`` cell starts with "site ids"; the sites are checked against the site tables
the run reads (its file parameters with a ``site`` column), so where the YAML file lives
does not matter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from casereport import paths
from casereport.labels import CASE_PROFILE
from casereport.pipeline.state import rel

# Parameters the build sets itself; they are not part of a run's identity.
BUILD_OWNED = {"results_dir"}
# The parameter naming each trial's site table (trials as in labels.TRIALS).
SITE_TABLE_PARAMS = {"enrich": "enrich_csv", "retake": "retake_csv"}
# The data parameters a case profile of each trial reads (profile.from_files reads only
# its own trial's files), so an edit to RETAKE data does not re-run ENRICH profiles.
TRIAL_READS = {"enrich": ("enrich_csv",), "retake": ("retake_csv", "factors_csv")}


class PlanError(ValueError):
    """The run plan cannot be made (bad parameter file, unknown parameter...)."""


@dataclass(frozen=True)
class Run:
    notebook: str
    parameter_set: str
    parameters: dict[str, Any] = field(default_factory=dict)  # overrides of the defaults
    reads: tuple[str, ...] | None = None  # parameters naming the files it reads; None: all

    @property
    def run_id(self) -> str:
        return f"{self.notebook}--{paths.safe_name(self.parameter_set)}"

    @property
    def notebook_path(self) -> Path:
        return paths.NOTEBOOKS_DIR / f"{self.notebook}.ipynb"


@dataclass(frozen=True)
class NotApplicable:
    """A parameter set left out of the plan: its run and why it does not apply."""

    run: Run
    reason: str


# A parameter whose comment in the notebook's parameters cell starts so names site ids.
SITE_IDS_HELP = "site ids"


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """Default values of the notebook's `parameters` cell, as papermill reads them (read
    once per notebook version, not once per run)."""
    return dict(_inspect(notebook)[0])


def site_parameters(notebook: Path) -> tuple[str, ...]:
    """The notebook's parameters that name site ids (comment starting "site ids")."""
    return _inspect(notebook)[1]


def _inspect(notebook: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    st = Path(notebook).stat()
    return _defaults(str(notebook), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _defaults(
    notebook: str, _mtime_ns: int, _size: int
) -> tuple[dict[str, Any], tuple[str, ...]]:
    import papermill  # imported here: the no-op build path must stay fast

    try:
        inspected = papermill.inspect_notebook(str(notebook))
    except Exception as exc:  # papermill raises several types for unreadable notebooks
        raise PlanError(f"{notebook}: cannot read its parameters cell ({exc})") from exc
    defaults = {}
    for name, info in inspected.items():
        raw = info["default"]
        try:
            defaults[name] = yaml.safe_load(raw) if raw is not None else None
        except yaml.YAMLError:
            defaults[name] = raw
    sites = tuple(n for n, info in inspected.items()
                  if str(info.get("help") or "").lower().startswith(SITE_IDS_HELP))
    return defaults, sites


def _data_overrides(defaults: dict[str, Any], data_dir: Path | None) -> dict[str, Any]:
    """Point every data-file parameter (default under data/) at the same file name in data_dir."""
    if data_dir is None:
        return {}
    out = {}
    for name, value in defaults.items():
        if isinstance(value, str) and value.startswith("data/"):
            out[name] = str(Path(data_dir).resolve() / Path(value).name)
    return out


def _load_param_file(path: Path, allowed: set[str]) -> dict[str, Any]:
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(values, dict):
        raise PlanError(f"{path}: expected a mapping of parameter: value, got {type(values)}")
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise PlanError(
            f"{path}: unknown parameter(s) {', '.join(unknown)}; "
            f"the notebook's parameters are {', '.join(sorted(allowed))}"
        )
    return values


def _sites(trial: str, csv: str, tables: dict[Path, Any] | None = None) -> list[str]:
    """Site ids of a trial's table: from ``tables`` (validated by the build, by resolved
    path) when it holds the file, else read from it."""
    path = paths.resolve(csv)
    if tables and path.resolve() in tables:
        return [str(s) for s in tables[path.resolve()]["site"]]
    from casereport import data

    loader = {"enrich": data.load_enrich, "retake": data.load_retake}[trial]
    return [str(s) for s in loader(path)["site"]]


def _table_sites(path: Path, tables: dict[Path, Any] | None) -> list[str] | None:
    """The site ids of a table file (from ``tables`` when it holds it), or None when the
    file has no ``site`` column."""
    if tables and path.resolve() in tables:
        df = tables[path.resolve()]
        return [str(s) for s in df["site"]] if "site" in df.columns else None
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if "site" not in (reader.fieldnames or []):
            return None
        return [str(r["site"]) for r in reader]


def not_applicable(
    notebook: Path, params: dict[str, Any], tables: dict[Path, Any] | None = None
) -> str | None:
    """Why a parameter set does not apply to these data, or None: it names a site (in a
    parameter of :func:`site_parameters`) that no site table the run reads has."""
    from casereport.analyses.inputs import site_list

    named = {n: site_list(params[n]) for n in site_parameters(notebook) if params.get(n)}
    if not named:
        return None
    merged = {**notebook_defaults(notebook), **params}
    known: set[str] = set()
    read = []
    for f in input_files(merged):
        if f.suffix == ".csv" and (sites := _table_sites(f, tables)) is not None:
            known.update(sites)
            read.append(rel(f))
    if not read:
        return None
    for name, sites in named.items():
        missing = [s for s in sites if s not in known]
        if missing:
            which = ", ".join(missing)
            return (f"{name} names site{'s' * (len(missing) > 1)} {which}, which "
                    f"{' and '.join(read)} {'do' if len(read) > 1 else 'does'} not have")
    return None


def plan(
    data_dir: Path | None = None,
    notebooks: list[str] | None = None,
    tables: dict[Path, Any] | None = None,
    skipped: list[NotApplicable] | None = None,
) -> list[Run]:
    """Every run of the build, in a stable order. ``tables``: the build's validated tables
    by resolved file path, so the site lists are not read and checked again. A parameter
    set that does not apply to the data (:func:`not_applicable`) is left out, and added to
    ``skipped`` when given."""
    runs: list[Run] = []
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        name = nb.stem
        if notebooks is not None and name not in notebooks:
            continue
        defaults = notebook_defaults(nb)
        base = _data_overrides(defaults, data_dir)
        if name == CASE_PROFILE:
            for trial, csv_param in SITE_TABLE_PARAMS.items():
                csv = base.get(csv_param, defaults.get(csv_param))
                if csv is None:
                    raise PlanError(f"{nb}: case profile needs a parameter {csv_param!r}")
                for site in _sites(trial, csv, tables):
                    params = {**base, "trial": trial, "site": site}
                    params["parameter_set"] = f"{trial}-{site}"
                    runs.append(Run(name, f"{trial}-{site}", params, TRIAL_READS[trial]))
            continue
        files = sorted((paths.PARAMS_DIR / name).glob("*.yaml"))
        if not files:
            runs.append(Run(name, "primary", {**base, "parameter_set": "primary"}))
        for f in files:
            overrides = _load_param_file(f, set(defaults))
            params = {**base, **overrides, "parameter_set": f.stem}
            why = not_applicable(nb, params, tables)
            if why is None:
                runs.append(Run(name, f.stem, params))
            elif skipped is not None:
                skipped.append(NotApplicable(Run(name, f.stem, params), why))
    return runs


def effective_parameters(run: Run) -> dict[str, Any]:
    """Defaults merged with the run's overrides (what the notebook will see)."""
    merged = {**notebook_defaults(run.notebook_path), **run.parameters}
    return {k: v for k, v in merged.items() if k not in BUILD_OWNED}


def input_files(parameters: dict[str, Any], reads: tuple[str, ...] | None = None) -> list[Path]:
    """Data files a run reads: every string parameter (of ``reads``) naming an existing file."""
    found = set()
    for name, value in parameters.items():
        if reads is not None and name not in reads:
            continue
        candidates = value if isinstance(value, list) else [value]
        for v in candidates:
            if isinstance(v, str) and v and ("/" in v or v.endswith((".csv", ".yaml", ".json"))):
                p = paths.resolve(v)
                if p.is_file():
                    found.add(p)
    return sorted(found)
