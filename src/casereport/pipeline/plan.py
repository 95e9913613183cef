"""The run plan: which notebook runs with which parameters, and what each reads.

A run is one notebook executed with one parameter set. Parameter sets are the
YAML files under ``params/<notebook>/`` (any trial) and ``data/<trial>/params/<notebook>/``
(a trial's own, e.g. those naming its sites); every run also gets the ``parameters`` of
the trial folders it analyses (their ``trial.yaml``). The case profile is expanded to one
run per site of each trial, read from the data, so nothing here knows which trials there
are or how many sites each has.

A parameter set that names a site the data do not have (``exclude_sites: ["6"]`` on a
trial of three sites) is *not applicable*: it is left out of the runs, with the reason
("names site 6, which data/enrich/enrich_sites.csv does not have"), and the build prints
it and records it in the manifest. A notebook parameter names sites when its comment in
the ``parameters`` cell starts with "site ids"; the sites are checked against the site
tables the run reads (its file parameters with a ``site`` column), so where the YAML file
lives does not matter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casereport.pipeline.state import rel
from casereport.primitives import paths, yamltext
from casereport.primitives.labels import CASE_PROFILE
from casereport.trialdata import trials

# Parameters the build sets itself; they are not part of a run's identity.
BUILD_OWNED = {"results_dir"}
# The notebook parameter naming each table role of a trial, by the trial's shape (in the
# shape's notebook and in the case profile): how a run is pointed at another trial's files.
TABLE_PARAMS = {
    "engagement_fidelity": {"sites": "enrich_csv"},
    "mentoring_time": {"sites": "retake_csv", "factors": "factors_csv",
                       "demographics": "demographics_csv"},
}
# The case-profile parameter naming a trial's site table, by the trial's shape.
SITE_TABLE_PARAMS = {shape: roles["sites"] for shape, roles in TABLE_PARAMS.items()}
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
            defaults[name] = yamltext.load(raw) if raw is not None else None
        except yamltext.YAMLError:
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
        values = yamltext.load(path.read_text(encoding="utf-8")) or {}
    except yamltext.YAMLError as exc:
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
    from casereport.trialdata import loaders

    return [str(s) for s in loaders.load_table(path, trial.tables["sites"])["site"]]


def _default_codes(defaults: dict[str, Any]) -> set[str]:
    """The trial folders a notebook's default data paths name (``data/<code>/...``): the
    trials it analyses with no overrides, whose runs keep the plain run ids."""
    return {Path(v).parts[1] for v in defaults.values()
            if isinstance(v, str) and v.startswith("data/") and len(Path(v).parts) > 2}


def _table_overrides(trial: trials.Trial, defaults: dict[str, Any]) -> dict[str, Any]:
    """The notebook's data parameters pointed at ``trial``'s own files (its table roles)."""
    return {param: str(trial.file(role))
            for role, param in TABLE_PARAMS.get(trial.shape, {}).items()
            if param in defaults and role in trial.tables}


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
    ``skipped`` when given.

    A shape's notebook runs once per parameter set for each trial of its shape: the trial
    its default paths name keeps the plain run ids (``engagement_fidelity--primary``),
    another gets its code in the set's name (``engagement_fidelity--peers-primary``) and
    its own files as the data parameters. A notebook of no shape (the cross-case
    comparison) runs on the default trials, with their parameters."""
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
        default_codes = _default_codes(defaults)
        allowed = set(defaults)
        if name == CASE_PROFILE:
            for trial in found:
                csv_param = SITE_TABLE_PARAMS.get(trial.shape)
                if csv_param not in defaults:
                    raise PlanError(f"{nb}: case profile needs a parameter {csv_param!r} "
                                    f"for trial {trial.code!r} (shape {trial.shape!r})")
                own = {**base, **_trial_parameters([trial], allowed)}
                if trial.code not in default_codes:
                    own.update(_table_overrides(trial, defaults))
                for site in _sites(trial, own.get(csv_param, defaults[csv_param]), tables):
                    set_name = f"{trial.code}-{site}"
                    params = {**own, "trial": trial.code, "site": site, "parameter_set": set_name}
                    runs.append(Run(name, set_name, params, TRIAL_READS[trial.shape]))
            continue
        mine = [t for t in found if t.shape == name]
        if not mine:  # the cross-case comparison: the trials its defaults name
            cases = [t for t in found if t.code in default_codes]
            runs += _set_runs(nb, param_files(name, []),
                              {**base, **_trial_parameters(cases, allowed)}, "", tables, skipped)
            continue
        shared = sorted((paths.PARAMS_DIR / name).glob("*.yaml"))
        for trial in mine:
            own = {**base, **_trial_parameters([trial], allowed)}
            prefix = ""
            if trial.code not in default_codes:
                own.update(_table_overrides(trial, defaults))
                prefix = f"{trial.code}-"
            runs += _set_runs(nb, shared + trial.param_files(name), own, prefix, tables, skipped)
    return runs


def _set_runs(nb: Path, files: list[Path], base: dict[str, Any], prefix: str,
              tables: dict[Path, Any] | None, skipped: list[NotApplicable] | None) -> list[Run]:
    """One run per parameter set file (``primary`` alone when there is none); a set that
    does not apply to the data is left out (into ``skipped`` when given)."""
    name, allowed = nb.stem, set(notebook_defaults(nb))
    if not files:
        return [Run(name, f"{prefix}primary", {**base, "parameter_set": f"{prefix}primary"})]
    out, seen = [], {}
    for f in files:
        if f.stem in seen:
            raise PlanError(f"{f}: parameter set {f.stem!r} is also defined in {seen[f.stem]}")
        seen[f.stem] = f
        set_name = f"{prefix}{f.stem}"
        overrides = _load_param_file(f, allowed)
        run = Run(name, set_name, {**base, **overrides, "parameter_set": set_name})
        why = not_applicable(nb, run.parameters, tables)
        if why is None:
            out.append(run)
        elif skipped is not None:
            skipped.append(NotApplicable(run, why))
    return out


def effective_parameters(run: Run) -> dict[str, Any]:
    """Defaults merged with the run's overrides (what the notebook will see)."""
    merged = {**notebook_defaults(run.notebook_path), **run.parameters}
    return {k: v for k, v in merged.items() if k not in BUILD_OWNED}


def input_files(parameters: dict[str, Any], reads: tuple[str, ...] | None = None) -> list[Path]:
    """Data files a run reads: every string parameter (of ``reads``) naming an existing file,
    and beside each file in a trial folder that folder's codebook and trial.yaml (how the
    file is read: its types, and the roles and parameters of its trial), so editing one
    trial's folder, or adding a trial, re-runs only what reads that folder."""
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
    for p in list(found):
        if (p.parent / trials.TRIAL_FILE).is_file():
            found |= {f for f in (p.parent / trials.TRIAL_FILE, p.parent / trials.PACKAGE_FILE)
                      if f.is_file()}
    return sorted(found)
