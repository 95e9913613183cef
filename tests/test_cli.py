"""The command line checks every option before doing anything: a bad invocation prints one
line on stderr and exits 2 (no traceback, no build started)."""

from __future__ import annotations

import pytest

from casereport import cli
from casereport.primitives import paths


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["build", "--executor", "spark"], "--executor"),
        (["build", "--executor", "spark", "--force"], "--executor"),
        (["build", "--jobs", "0"], "--jobs"),
        (["build", "--jobs", "-3"], "--jobs"),
        (["build", "--jobs", "many"], "--jobs"),
        (["build", "--only", "no_such_notebook"], "no notebook 'no_such_notebook'"),
        (["build", "--data-dir", "/no/such/folder"], "--data-dir"),
        (["build", "--executor", "dask"], "--scheduler"),
        (["build", "--scheduler", "tcp://127.0.0.1:8786"], "only to --executor dask"),
        (["build", "--bogus"], "--bogus"),
        (["audit", "--format", "xml"], "--format"),
        (["frobnicate"], "frobnicate"),
        (["diff"], "give BASE and HEAD"),
        (["diff", "main"], "give BASE and HEAD"),
        (["diff", "a", "b", "--base", "main"], "at most one HEAD"),
        (["diff", "a", "b", "--tolerance", "pearson_r"], "PATTERN=TOLERANCE"),
        (["diff", "a", "b", "--tolerance", "*r=-1"], "PATTERN=TOLERANCE"),
        (["diff", "a", "b", "--fail-on", "sometimes"], "--fail-on"),
        (["diff", "a", "b", "--tolerances", "/no/such.yaml"], "--tolerances"),
        (["build", "--compare-to", "main", "--only", "mentoring_time"], "--compare-to"),
    ],
)
def test_bad_invocations_exit_2_with_one_line(args, says, capsys, monkeypatch):
    """Nothing runs: the pipeline is never entered (it would fail the test if it were)."""
    from casereport import pipeline

    monkeypatch.setattr(pipeline, "build", lambda opts: pytest.fail("build was started"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("casereport: error: "), err
    assert says in err
    assert "Traceback" not in err


def test_good_invocation_reaches_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", "--data-dir", str(paths.DATA_DIR)])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("OK:")


def test_options_are_passed_on(monkeypatch):
    from casereport import pipeline

    seen = {}
    monkeypatch.setattr(pipeline, "build", lambda opts: seen.setdefault("opts", opts) and 0)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["build", "--jobs", "3", "--only", "mentoring_time", "--executor", "local"])
    assert exit_info.value.code == 0
    opts = seen["opts"]
    assert (opts.jobs, opts.notebooks, opts.executor, opts.render) == (
        3, ["mentoring_time"], "local", False)
