"""The run plan: which notebook runs with which parameters, and what each reads.

A run is one notebook executed with one parameter set. Parameter sets are the
YAML files under ``params/<notebook>/`` (any trial) and ``data/<trial>/params/<notebook>/``
(a trial's own, e.g. those naming its sites); every run also gets the ``parameters`` of
the trial folders it analyses (their ``trial.yaml``). The case profile is expanded to one
run per site of each trial, read from the data, so nothing here knows which trials there
are or how many sites each has.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from casereport import paths, trials
from casereport.labels import CASE_PROFILE

# Parameters the build sets itself; they are not part of a run's identity.
BUILD_OWNED = {"results_dir"}
# The case-profile parameter naming a trial's site table, by the trial's shape.
SITE_TABLE_PARAMS = {"engagement_fidelity": "enrich_csv", "mentoring_time": "retake_csv"}
# The data parameters a case profile of each shape reads (profile.from_files reads only
# its own trial's files), so an edit to RETAKE data does not re-run ENRICH profiles.
TRIAL_READS = {
    "engagement_fidelity": ("enrich_csv",),
    "mentoring_time": ("retake_csv", "factors_csv"),
}


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


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """Default values of the notebook's `parameters` cell, as papermill reads them (read
    once per notebook version, not once per run)."""
    st = Path(notebook).stat()
    return dict(_defaults(str(notebook), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=64)
def _defaults(notebook: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
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
    return defaults


def _data_overrides(defaults: dict[str, Any], data_dir: Path | None) -> dict[str, Any]:
    """Point every data-file parameter (default under data/) at the same file name in data_dir."""
    if data_dir is None:
        return {}
    out = {}
    for name, value in defaults.items():
        if isinstance(value, str) and value.startswith("data/"):
            out[name] = str(Path(data_dir).resolve() / Path(value).relative_to("data"))
    return out


def _trial_parameters(found: list[trials.Trial], allowed: set[str]) -> dict[str, Any]:
    """The trial-level parameters (``trial.yaml``) of ``found`` that the notebook takes."""
    out: dict[str, Any] = {}
    for trial in found:
        out.update({k: v for k, v in trial.parameters.items() if k in allowed})
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


def param_files(notebook: str, found: list[trials.Trial] | None = None) -> list[Path]:
    """The parameter sets of ``notebook``: ``params/<notebook>/*.yaml`` (any trial), then
    each of its shape's trials' own ``data/<trial>/params/<notebook>/*.yaml``."""
    found = list(trials.discover().values()) if found is None else found
    files = sorted((paths.PARAMS_DIR / notebook).glob("*.yaml"))
    return files + [f for t in found if t.shape == notebook for f in t.param_files(notebook)]


def _sites(trial: trials.Trial, csv: str, tables: dict[Path, Any] | None = None) -> list[str]:
    """Site ids of a trial's table: from ``tables`` (validated by the build, by resolved
    path) when it holds the file, else read from it."""
    path = paths.resolve(csv)
    if tables and path.resolve() in tables:
        return [str(s) for s in tables[path.resolve()]["site"]]
    from casereport import data

    return [str(s) for s in data.load_table(path, trial.tables["sites"])["site"]]


def plan(
    data_dir: Path | None = None,
    notebooks: list[str] | None = None,
    tables: dict[Path, Any] | None = None,
) -> list[Run]:
    """Every run of the build, in a stable order. ``tables``: the build's validated tables
    by resolved file path, so the site lists are not read and checked again."""
    runs: list[Run] = []
    try:
        found = list(trials.discover(data_dir or paths.DATA_DIR).values())
    except trials.DataError as exc:
        raise PlanError(str(exc)) from exc
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        name = nb.stem
        if notebooks is not None and name not in notebooks:
            continue
        defaults = notebook_defaults(nb)
        base = _data_overrides(defaults, data_dir)
        if name == CASE_PROFILE:
            for trial in found:
                csv_param = SITE_TABLE_PARAMS.get(trial.shape)
                csv = base.get(csv_param, defaults.get(csv_param))
                if csv is None:
                    raise PlanError(f"{nb}: case profile needs a parameter {csv_param!r} "
                                    f"for trial {trial.code!r} (shape {trial.shape!r})")
                own = {**base, **_trial_parameters([trial], set(defaults))}
                for site in _sites(trial, csv, tables):
                    set_name = f"{trial.code}-{site}"
                    params = {**own, "trial": trial.code, "site": site, "parameter_set": set_name}
                    runs.append(Run(name, set_name, params, TRIAL_READS[trial.shape]))
            continue
        # Runs of a shape's notebook analyse that shape's trials; any other (cross_case)
        # every trial whose parameters it takes.
        mine = [t for t in found if t.shape == name] or found
        base = {**base, **_trial_parameters(mine, set(defaults))}
        files = param_files(name, found)
        if not files:
            runs.append(Run(name, "primary", {**base, "parameter_set": "primary"}))
        seen: dict[str, Path] = {}
        for f in files:
            if f.stem in seen:
                raise PlanError(f"{f}: parameter set {f.stem!r} is also defined in {seen[f.stem]}")
            seen[f.stem] = f
            overrides = _load_param_file(f, set(defaults))
            params = {**base, **overrides, "parameter_set": f.stem}
            runs.append(Run(name, f.stem, params))
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
