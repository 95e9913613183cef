"""``casereport build``: validate -> audit -> execute notebook runs -> render.

Nothing is lost: the build assembles everything in ``build.tmp-<pid>/`` and
swaps it in for ``build/`` only when every run succeeded; a failed or killed
build leaves the last good ``build/`` (and the cache) as they were. A file
lock keeps two builds of one project from interleaving.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout
from rich.console import Console
from rich.markup import escape

from casereport.diff import fragment as changes_fragment
from casereport.pipeline import cache, executors, progress, status
from casereport.pipeline import plan as run_plan
from casereport.pipeline.state import (
    fingerprint,
    lock_path,
    recover_interrupted_swap,
    rel,
    swap_in,
)
from casereport.primitives import atomic, paths
from casereport.primitives.labels import CACHED, FAILED, RAN

if TYPE_CHECKING:  # pandas is imported lazily: the no-op build must not pay for it
    import pandas as pd

    from casereport.report.claims_judged import Judged

console = Console(highlight=False)


class BuildError(RuntimeError):
    """A build step failed; the message says what and where."""


@dataclass
class Options:
    jobs: int | None = None
    force: bool = False
    data_dir: Path | None = None  # None: the project's data/
    executor: str = "local"
    scheduler: str | None = None
    render: bool = True  # False for Quarto's pre-render: pipeline only
    strict: bool = False  # a Quarto warning fails the build (CI)
    # Only these notebooks, into the cache; build/ (the last full report) is left alone.
    notebooks: list[str] | None = None
    fork: bool = True  # kernels forked from a warm template (pipeline.forking); False: --no-fork
    baseline: object | None = None  # --compare-to: a sides.Side (pipeline.changes_fragment)


@dataclass
class Planned:
    run: run_plan.Run
    parameters: dict
    key: cache.RunKey
    cached: Path | None
    status: str = CACHED  # RAN once executed by this build (FAILED if it failed)
    seconds: float = 0.0  # execution time in this build
    reason: str = ""  # why a cache miss runs (pipeline.status), one short line


def _up_to_date(fp: str, opts: Options) -> bool:
    """build/ matches the inputs and holds what this build would render.

    A build made with rendering also satisfies ``--no-render`` (Quarto's pre-render), not
    the other way round; with Quarto on PATH the manuscript must have been rendered too."""
    from casereport.report import quarto

    manifest = paths.BUILD_DIR / "manifest.json"
    if not (manifest.is_file() and paths.QUARTO_VARIABLES.is_file()):
        return False
    try:
        m = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if m.get("fingerprint") != fp:
        return False
    if not opts.render:
        return True
    return bool(m.get("preview")) and (bool(m.get("quarto")) or quarto.find_quarto() is None)


def _update_manifest(**fields: object) -> None:
    manifest = paths.BUILD_DIR / "manifest.json"
    atomic.write_text(
        manifest, json.dumps({**json.loads(manifest.read_text()), **fields}, indent=2, default=str)
    )


def _validate_and_audit(data_dir: Path) -> tuple[pd.DataFrame, dict[Path, pd.DataFrame]]:
    """Validate the folder once; the audit and the run plan take its typed tables.
    Returns the audit table and the tables by resolved file path."""
    from casereport import audit
    from casereport.trialdata import loaders, validate

    checked = validate.validate_dir(data_dir)
    if checked.problems:
        validate.report(checked.problems, data_dir)  # file/row/column/value/expected
        raise BuildError(f"data in {rel(data_dir)} failed validation; no notebook was run")
    console.print(f"validate  ok   {rel(data_dir)}")
    # Kernels skip re-validating these exact bytes (loaders.validated_before).
    record = paths.CACHE_DIR / "validated.json"
    loaders.record_validated(checked.files, record)
    os.environ[loaders.VALIDATED_ENV] = str(record)
    try:
        table = audit.audit(data_dir, tables=checked.tables)
    except loaders.DataError as exc:  # a published claim's recipe does not run on these data
        raise BuildError(f"the audit of {rel(data_dir)} failed: {exc}") from None
    n = {st: int((table["status"] == st).sum()) for st in audit.STATUSES}
    console.print(
        f"audit     ok   {len(table)} published numbers checked, {n[audit.DISCREPANCY]} "
        f"discrepancies, {n[audit.DEPENDS_ON_READING]} depend on reading, "
        f"{n[audit.NOT_COMPARABLE]} not comparable"
    )
    by_file = {checked.files[n].resolve(): df for n, df in checked.tables.items()}
    return table, by_file


def _plan(
    opts: Options,
    tables: dict[Path, pd.DataFrame] | None = None,
    skipped: list[run_plan.NotApplicable] | None = None,
) -> list[Planned]:
    env = cache.environment_hash()
    store = cache.RunCache()
    planned = []
    for run in run_plan.plan(opts.data_dir, opts.notebooks, tables, skipped):
        params = run_plan.effective_parameters(run)
        files = run_plan.input_files(params, run.reads)
        key = cache.run_key(run.notebook_path, params, files, env)
        hit = None if opts.force else store.get(key.key)
        why = "--force" if opts.force else hit or status.explain(run, params, key, store).short()
        planned.append(Planned(run, params, key, hit, reason="" if hit else str(why)))
    return planned


def _record(p: Planned, out: executors.Outcome, store: cache.RunCache, force: bool) -> bool:
    """Store a successful run in the cache; False when it failed."""
    p.seconds = round(out.seconds, 2)
    if out.ok and out.deps is None:
        out.ok, out.failed_cell = False, -1
        out.error = "the run did not report the package modules it loaded"
    if not out.ok:
        p.status = FAILED
        return False
    meta = {
        "run_id": p.run.run_id,
        "notebook": p.run.notebook,
        "parameter_set": p.run.parameter_set,
        "parameters": p.parameters,
        "inputs": p.key.inputs,
        "seconds": round(out.seconds, 2),
        **status.record_inputs(p.run.notebook_path, p.parameters, p.key.inputs),
    }
    deps = cache.dependency_hashes(out.deps or [])
    p.cached = store.put(p.key.key, out.notebook_json, out.results, meta, deps, force)
    p.status = RAN
    return True


@functools.cache
def _code_cells(notebook: Path) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    return sum(1 for c in cells if c.get("cell_type") == "code")


def longest_first(todo: list[Planned]) -> list[Planned]:
    """The runs in the order they are submitted: longest first (Graham's LPT rule), so the
    last to finish are short ones and no worker idles while another ends a long run. A
    notebook's code-cell count stands in for its run time; plan order among equals."""
    return sorted(todo, key=lambda p: -_code_cells(p.run.notebook_path))


def _execute(planned: list[Planned], opts: Options, shared: object = None) -> list[str]:
    """Run the cache misses; store successes in the cache; return failure reports.

    Locally at most one run per worker is submitted at a time, so the runs in flight are
    the runs executing (the progress bar names them); Dask gets every run at once."""
    store = cache.RunCache()
    todo = [p for p in planned if p.cached is None]
    failures: list[str] = []
    fell_back = False
    for p in planned:
        if p.cached is not None:
            console.print(progress.cached_line(p.run.run_id))
    if not todo:
        return failures
    local = opts.executor == "local"
    window = executors.local_workers(opts.jobs) if local else len(todo)
    waiting = longest_first(todo)
    with (
        executors.make_executor(opts.executor, opts.jobs, opts.scheduler, opts.fork,
                                shared) as ex,
        progress.RunProgress(console, [p.run.run_id for p in todo],
                             window if local else opts.jobs or window) as bar,
    ):
        futures: dict[Future, Planned] = {}

        def submit_more() -> None:
            while waiting and len(futures) < window:
                p = waiting.pop(0)
                task = executors.Task(p.run.run_id, rel(p.run.notebook_path), p.run.parameters,
                                      fork=opts.fork)
                futures[ex.submit(executors.execute, task)] = p
                bar.started(p.run.run_id)

        submit_more()
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in done:
                p = futures.pop(fut)
                try:
                    out = fut.result()
                except Exception as exc:  # the worker itself died
                    out = executors.Outcome(p.run.run_id, False, 0.0, error=repr(exc))
                bar.finished(p.run.run_id)
                if out.fallback and not fell_back:
                    fell_back = True
                    bar.line(f"[yellow]kernels   not forked[/yellow]: {escape(out.fallback)}; "
                             "normal kernels are used")
                if _record(p, out, store, opts.force):
                    bar.line(progress.ran_line(p.run.run_id, out.seconds, p.reason))
                else:
                    bar.line(progress.failed_line(p.run.run_id, out.seconds))
                    failures.append(progress.failure_report(
                        p.run.run_id, p.run.notebook_path, p.run.parameter_set, out))
            submit_more()
    return failures


def _assemble(
    planned: list[Planned], tmp: Path, fp: str, preview: bool,
    skipped: list[run_plan.NotApplicable] | None = None,
) -> tuple[pd.DataFrame, dict]:
    import pandas as pd

    (tmp / "runs").mkdir(parents=True)
    (tmp / "results").mkdir()
    frames, manifest_runs = [], []
    for p in planned:
        assert p.cached is not None
        shutil.copyfile(p.cached / "notebook.ipynb", tmp / "runs" / f"{p.run.run_id}.ipynb")
        for csv in sorted((p.cached / "results").glob("*.csv")):
            shutil.copyfile(csv, tmp / "results" / csv.name)
            df = pd.read_csv(csv, dtype={"label": str})
            df.insert(0, "run_id", p.run.run_id)
            frames.append(df)
        meta = json.loads((p.cached / "meta.json").read_text())
        manifest_runs.append(
            {
                "run_id": p.run.run_id,
                "notebook": p.run.notebook,
                "parameter_set": p.run.parameter_set,
                "parameters": p.parameters,
                "inputs": p.key.inputs,
                "cache_key": p.key.key,
                "status": p.status,  # labels.RAN (executed by this build) or labels.CACHED
                "package_modules": sorted(meta.get("deps") or {}),
                "executed_notebook": f"build/runs/{p.run.run_id}.ipynb",
                "seconds": meta.get("seconds"),
            }
        )
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    results.to_csv(tmp / "results" / "all_results.csv", index=False)
    manifest = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "fingerprint": fp,
        "preview": preview,  # build/report-preview.html was rendered
        "quarto": False,  # set once Quarto has rendered _manuscript/ from this build
        "runs": manifest_runs,
    }
    if skipped:  # parameter sets that do not apply to these data (pipeline.plan)
        manifest["not_applicable"] = [
            {"run_id": s.run.run_id, "notebook": s.run.notebook,
             "parameter_set": s.run.parameter_set, "reason": s.reason} for s in skipped
        ]
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return results, manifest


def _render(
    tmp: Path, results: pd.DataFrame, audit_table: pd.DataFrame, manifest: dict, opts: Options
) -> Judged:
    from casereport.report import claims_judged, fragments, preview, shortcodes, variables

    changes_fragment.record_and_compare(tmp, opts.data_dir, audit_table, opts.baseline)
    fragments.write_fragments(tmp, results, audit_table, manifest)
    article = claims_judged.article_text(paths.ROOT / "index.qmd", tmp)
    not_applicable = [s["parameter_set"] for s in manifest.get("not_applicable", [])]
    values = variables.write_variables(
        results, tmp / "variables.yml", audit=audit_table,
        quoted=shortcodes.var_keys(article), not_applicable=not_applicable,
    )
    judged = claims_judged.judge_file(paths.ROOT / "index.qmd", tmp, results, values)
    if opts.render:
        out = preview.render_preview(tmp, tmp / "report-preview.html", variables=values)
        console.print(f"preview   ok   {rel(paths.BUILD_DIR / out.name)}")
    return judged


def _quarto(opts: Options) -> int:
    from casereport.report import quarto

    exe = quarto.find_quarto()
    if exe is None:
        console.print(
            "[yellow]quarto   not found on PATH[/yellow]: the HTML/PDF manuscript was not "
            "rendered.\n         The self-contained preview is build/report-preview.html. "
            "Install Quarto >= 1.5 (conda env create -f environment.yml, or Quarto's "
            "installer) and run `make report` again for the full report."
        )
        return 0
    console.print(f"quarto    rendering with {exe}")
    # Render beside the last good manuscript and swap it in only when Quarto succeeded.
    new = paths.ROOT / f"_manuscript.new-{os.getpid()}"
    try:  # the last manuscript: its supplement numbers, its unchanged notebook views
        warned = quarto.render(new, strict=opts.strict, previous=paths.ROOT / "_manuscript",
                               say=lambda msg: console.print(f"quarto    {escape(msg)}"))
    except (quarto.QuartoError, OSError) as exc:
        shutil.rmtree(new, ignore_errors=True)
        console.print(
            f"[red]quarto render failed[/red]: {exc}\n         build/ (with "
            "build/report-preview.html) is up to date; _manuscript/ was not replaced."
        )
        return 1
    swap_in(new, paths.ROOT / "_manuscript")
    _update_manifest(quarto=True)
    for w in warned:
        console.print(f"[yellow]quarto    warning[/yellow] {escape(w)}")
    console.print(
        f"quarto    ok   _manuscript/ ({len(warned)} warning{'s' * (len(warned) != 1)}"
        f"{'; --strict fails on them' if warned else ''})"
    )
    return 0


def build(opts: Options) -> int:
    """Run the whole build; return the process exit code."""
    started = time.perf_counter()
    if opts.executor == "dask" and not opts.scheduler:
        console.print(
            "[red]--executor dask needs --scheduler ADDRESS[/red] "
            "(for example tcp://10.0.0.5:8786; see README.md, Scale-out)"
        )
        return 2
    data_dir = (opts.data_dir or paths.DATA_DIR).resolve()
    try:
        with FileLock(lock_path(), timeout=0):
            recover_interrupted_swap()
            status.record_runs([])  # until this build has run something
            fp = changes_fragment.baseline_fingerprint(fingerprint(data_dir), opts.baseline)
            if not opts.force and opts.notebooks is None and _up_to_date(fp, opts):
                console.print(
                    "build     up to date: no data, notebook, parameter set, package "
                    f"or report source changed ({time.perf_counter() - started:.2f}s)"
                )
                return 0
            # the kernels' template imports the stack while the data are validated
            with executors.shared_template(opts.executor, opts.fork) as shared:
                audit_table, tables = _validate_and_audit(data_dir)
                skipped: list[run_plan.NotApplicable] = []
                planned = _plan(opts, tables, skipped)
                n_cached = sum(1 for p in planned if p.cached is not None)
                for s in skipped:
                    console.print(progress.not_applicable_line(s.run.run_id, s.reason))
                failures = _execute(planned, opts, shared)
            status.record_runs(planned)
            if failures:
                console.print("\n".join(["", *failures, ""]))
                console.print(
                    f"[red]build failed[/red]: {len(failures)} of {len(planned)} runs "
                    "failed; the previous build/ is unchanged."
                )
                return 1
            if opts.notebooks is not None:
                console.print(
                    f"runs      ok   {len(planned)} runs of {', '.join(opts.notebooks)} "
                    "are in the cache; build/ is assembled only by a full build"
                )
                return 0
            tmp = paths.ROOT / f"build.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                results, manifest = _assemble(planned, tmp, fp, opts.render, skipped)
                judged = _render(tmp, results, audit_table, manifest, opts)
                swap_in(tmp)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            atomic.write_text(
                paths.QUARTO_VARIABLES,
                (paths.BUILD_DIR / "variables.yml").read_text(encoding="utf-8"),
            )
            # a failed claim or unresolved variable fails --strict after the report shows it
            code = (_quarto(opts) if opts.render else 0) or judged.report(
                opts.strict, console.print
            )
            if code != 0:  # the report is not current: the next build must not skip
                _update_manifest(fingerprint=None)
    except Timeout:
        console.print(
            f"[red]another casereport build is running in {paths.ROOT}[/red] "
            f"(lock {rel(lock_path())}). Wait for it to finish, then build again."
        )
        return 75  # EX_TEMPFAIL
    except (BuildError, run_plan.PlanError) as exc:
        console.print(f"[red]build failed[/red]: {exc}")
        return 1
    console.print(
        f"build     {'ok  ' if code == 0 else '[red]FAILED[/red]'} {len(planned)} runs "
        f"({len(planned) - n_cached} executed, {n_cached} cached"
        f"{f', {len(skipped)} not applicable' if skipped else ''}) "
        f"in {time.perf_counter() - started:.1f}s "
        f"-> {rel(paths.BUILD_DIR)}/"
    )
    return code


def prerender() -> int:
    """Quarto's pre-render step: the pipeline without rendering (a no-op when cached)."""
    if os.environ.get("CASEREPORT_SKIP_PRERENDER"):
        print("casereport prerender: skipped (called from casereport build)", file=sys.stderr)
        return 0
    return build(Options(render=False))
