"""Command line: ``casereport validate | audit | build | diff | status | preview | prerender``.

Each command is a thin wrapper: the work happens in the module it names, so the same
functions serve the CLI, the notebooks and the tests. Every option is checked before any
work starts (typer types, ranges and callbacks); a bad invocation prints one line,
``casereport: error: ...``, and exits 2.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from casereport.primitives import paths

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reproducible comparative case reports from multi-site trial site data.",
)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="Folder of trial folders (each with trial.yaml, datapackage.json and its tables).",
    ),
]


class Executor(StrEnum):
    local = "local"
    dask = "dask"


class FailOn(StrEnum):
    changes = "changes"
    conclusions = "conclusions"


class AuditFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"


def _notebooks(names: list[str] | None) -> list[str] | None:
    """``--only`` names: each must be a notebook in notebooks/."""
    if not names:
        return names
    known = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("*.ipynb"))
    for name in names:
        if name not in known:
            raise typer.BadParameter(f"no notebook {name!r}; choose from {', '.join(known)}")
    return names


@app.command()
def validate(data_dir: DataDir = paths.DATA_DIR) -> None:
    """Check every data file against the codebook; report all problems at once."""
    from casereport.trialdata import validate as _validate

    raise typer.Exit(_validate.run(data_dir))


@app.command()
def audit(
    data_dir: DataDir = paths.DATA_DIR,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (default: print only).", dir_okay=False),
    ] = None,
    fmt: Annotated[
        AuditFormat | None,
        typer.Option("--format", help="table, markdown or csv on stdout (default: an aligned "
                     "table on a terminal, Markdown into a pipe or file).", show_default=False),
    ] = None,
) -> None:
    """Recompute every derived published number and compare it with the paper."""
    from casereport import audit as _audit

    raise typer.Exit(_audit.run(data_dir, out, fmt.value if fmt else None))


@app.command()
def build(
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Parallel runs (default: all cores)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run every notebook.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            exists=True,
            file_okay=False,
            help="Analyse another trial's data folder (same format).",
        ),
    ] = None,
    executor: Annotated[
        Executor, typer.Option("--executor", help="'local' (process pool) or 'dask'.")
    ] = Executor.local,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://h:8786.")
    ] = None,
    render: Annotated[
        bool, typer.Option("--render/--no-render", help="Render the report after the runs.")
    ] = True,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Fail when Quarto warns (CI uses it)."),
    ] = False,
    fork: Annotated[
        bool,
        typer.Option(
            "--fork/--no-fork",
            help="Fork each run's kernel from a warm template (Linux; falls back to normal "
            "kernels). Also off when CASEREPORT_NO_FORK is set.",
        ),
    ] = True,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            callback=_notebooks,
            help="Run only this notebook (repeatable) into the cache; build/ is not replaced.",
        ),
    ] = None,
    compare_to: Annotated[
        str | None,
        typer.Option(
            "--compare-to",
            help="Add an appendix 'Changes since REF' (a git ref or a build folder).",
        ),
    ] = None,
) -> None:
    """Validate, audit, execute every notebook run (cached by content) and render the report."""
    if executor is Executor.dask and not scheduler:
        raise typer.BadParameter(
            "--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)",
            param_hint="'--scheduler'",
        )
    if executor is Executor.local and scheduler:
        raise typer.BadParameter(
            "--scheduler applies only to --executor dask", param_hint="'--scheduler'"
        )
    if compare_to is not None and only:
        raise typer.BadParameter("--compare-to needs a full build, not --only",
                                 param_hint="'--compare-to'")
    from casereport import pipeline

    baseline = None
    if compare_to is not None:
        from casereport.diff import sides

        try:
            baseline = sides.resolve(compare_to, jobs)
        except sides.SideError as exc:
            print(f"casereport: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
    opts = pipeline.Options(
        jobs=jobs,
        force=force,
        data_dir=data_dir,
        executor=executor.value,
        scheduler=scheduler,
        render=render and not only,
        strict=strict,
        notebooks=only,
        fork=fork,
        baseline=baseline,
    )
    try:
        code = pipeline.build(opts)
    finally:
        if baseline is not None:
            sides.release(baseline)
    raise typer.Exit(code)


def _tolerance_rules(rules: list[str] | None) -> list[str] | None:
    """``--tolerance PATTERN=VALUE``: VALUE a non-negative number."""
    for rule in rules or []:
        pattern, _, value = rule.partition("=")
        try:
            ok = bool(pattern) and float(value) >= 0
        except ValueError:
            ok = False
        if not ok:
            raise typer.BadParameter(f"{rule!r} is not PATTERN=TOLERANCE (e.g. '*pearson_r=0.01')")
    return rules


@app.command()
def diff(
    sides: Annotated[
        list[str] | None,
        typer.Argument(
            help="BASE HEAD: each a build folder, a git ref, or '.' for the working tree.",
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Compare the working tree (or the one HEAD given) with this."),
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", dir_okay=False, help="Write the Markdown summary.")
    ] = None,
    comment: Annotated[
        Path | None,
        typer.Option("--comment", dir_okay=False,
                     help="Write the Markdown summary cut to fit a pull-request comment."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", dir_okay=False, help="Write every row as JSON.")
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", dir_okay=False, help="Write every row as CSV.")
    ] = None,
    tolerances: Annotated[
        Path | None,
        typer.Option(
            "--tolerances", exists=True, dir_okay=False,
            help="YAML 'pattern: tolerance' per quantity (default: displayed precision).",
        ),
    ] = None,
    tolerance: Annotated[
        list[str] | None,
        typer.Option("--tolerance", callback=_tolerance_rules,
                     help="PATTERN=TOLERANCE for matching quantities (repeatable)."),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Exit 1 on any change, or only when a conclusion changed."),
    ] = FailOn.changes,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parallel runs per build.")
    ] = None,
) -> None:
    """What changed in the findings between two builds (exit 0 none, 1 changes, 2 error)."""
    given = list(sides or [])
    if base is not None:
        if len(given) > 1:
            raise typer.BadParameter("with --base give at most one HEAD", param_hint="'SIDES'")
        given = [base, *(given or ["."])]
    if len(given) != 2:
        raise typer.BadParameter("give BASE and HEAD, or --base REF", param_hint="'SIDES'")
    from casereport.diff import compare
    from casereport.diff.conclusions import Tolerances
    from casereport.primitives import yamltext

    rules: dict[str, float] = {}
    if tolerances is not None:
        try:
            rules.update(Tolerances.from_yaml(tolerances).rules)
        except (ValueError, OSError, yamltext.YAMLError) as exc:
            raise typer.BadParameter(str(exc), param_hint="'--tolerances'") from None
    for rule in tolerance or []:
        pattern, _, value = rule.partition("=")
        rules[pattern] = float(value)
    raise typer.Exit(
        compare.run(given[0], given[1], jobs=jobs, tolerances=Tolerances(rules),
                    markdown=markdown, json_out=json_out, csv_out=csv_out,
                    fail_on=fail_on.value, comment=comment)
    )


@app.command()
def status(
    data_dir: DataDir = paths.DATA_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Each run up to date or stale, and why (exit 0 all up to date, 1 something stale)."""
    from casereport.pipeline import status as run_status

    given = None if data_dir.resolve() == paths.DATA_DIR.resolve() else data_dir
    raise typer.Exit(run_status.run(given, as_json=as_json))


@app.command()
def preview(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")
    ] = 4848,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the report in a web browser.")
    ] = True,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Parallel runs (default: all cores)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", exists=True, file_okay=False,
                     help="Analyse another trial's data folder (same format)."),
    ] = None,
) -> None:
    """Build, serve the report on 127.0.0.1 and rebuild + reload it whenever a source changes."""
    from casereport.pipeline import live

    raise typer.Exit(live.run(port, browser, jobs, data_dir.resolve() if data_dir else None))


@app.command()
def prerender() -> None:
    """Quarto's pre-render step: run the pipeline without rendering (no-op when cached)."""
    from casereport import pipeline

    raise typer.Exit(pipeline.prerender())


def main(argv: list[str] | None = None) -> None:
    """The ``casereport`` command: a usage error is one line on stderr and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        app(args=args, prog_name="casereport")  # prints the help
        return
    try:
        code = app(args=args, prog_name="casereport", standalone_mode=False)
    except TyperException as exc:  # typer's usage errors (bad option, value, command)
        if not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        where = f"casereport {ctx.info_name}" if ctx and ctx.info_name != "casereport" else ""
        hint = f" (see `{where or 'casereport'} --help`)"
        print(f"casereport: error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
