"""Command line: ``casereport validate | audit | build | prerender``.

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

from casereport import paths

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reproducible comparative case reports from multi-site trial site data.",
)

DataDir = Annotated[
    Path,
    typer.Option("--data-dir", help="Folder with the site tables and datapackage.json."),
]


class Executor(StrEnum):
    local = "local"
    dask = "dask"


class AuditFormat(StrEnum):
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
    from casereport import validate as _validate

    raise typer.Exit(_validate.run(data_dir))


@app.command()
def audit(
    data_dir: DataDir = paths.DATA_DIR,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (default: print only).", dir_okay=False),
    ] = None,
    fmt: Annotated[
        AuditFormat, typer.Option("--format", help="markdown or csv on stdout.")
    ] = AuditFormat.markdown,
) -> None:
    """Recompute every derived published number and compare it with the paper."""
    from casereport import audit as _audit

    raise typer.Exit(_audit.run(data_dir, out, fmt.value))


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
    from casereport import pipeline

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
    )
    raise typer.Exit(pipeline.build(opts))


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
