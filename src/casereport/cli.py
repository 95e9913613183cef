"""Command line: ``casereport validate | audit | build | lab-info``.

Each command is a thin wrapper: the work happens in the module it names, so
the same functions serve the CLI, the notebooks and the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


@app.command()
def validate(data_dir: DataDir = paths.DATA_DIR) -> None:
    """Check every data file against the codebook; report all problems at once."""
    from casereport import validate as _validate

    raise typer.Exit(_validate.run(data_dir))


@app.command()
def audit(
    data_dir: DataDir = paths.DATA_DIR,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV to write (default: print only).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown or csv on stdout.")] = "markdown",
) -> None:
    """Recompute every derived published number and compare it with the paper."""
    from casereport import audit as _audit

    raise typer.Exit(_audit.run(data_dir, out, fmt))


@app.command()
def build(
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Parallel runs (default: all cores).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run every notebook.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Analyse another trial's data folder (same format)."),
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="'local' (process pool) or 'dask'.")
    ] = "local",
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
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this notebook (repeatable) into the cache; build/ is not replaced.",
        ),
    ] = None,
) -> None:
    """Validate, audit, execute every notebook run (cached by content) and render the report."""
    from casereport import pipeline

    opts = pipeline.Options(
        jobs=jobs,
        force=force,
        data_dir=data_dir,
        executor=executor,
        scheduler=scheduler,
        render=render and not only,
        strict=strict,
        notebooks=only,
    )
    raise typer.Exit(pipeline.build(opts))


@app.command()
def prerender() -> None:
    """Quarto's pre-render step: run the pipeline without rendering (no-op when cached)."""
    from casereport import pipeline

    raise typer.Exit(pipeline.prerender())


if __name__ == "__main__":  # pragma: no cover
    app()
