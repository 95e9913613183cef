"""On a terminal `casereport audit`, `validate` and `diff` print aligned tables; into a pipe
or a file (and with `--format markdown`) they print what they printed before.

The terminal is a real pseudo-terminal (pexpect); "not a terminal" is a pipe
(subprocess). The expected cells come from the data: site 4's 8 engaged of 17 with data
is 47.0588 % (8 / 17 × 100 by hand, shown to 4 decimals by the audit)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys

import pexpect
from rich.console import Console

from casereport.primitives import paths, terminal
from tests.test_diff import _fake_build, _frame, _row

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "COLUMNS", "FORCE_COLOR")}
    return {**env, **extra}


def on_terminal(*args: str, width: int = 200, **env: str) -> tuple[int, str]:
    """Run `casereport ARGS` on a pseudo-terminal; its exit code and screen text."""
    child = pexpect.spawn(sys.executable, ["-m", "casereport", *args], cwd=str(paths.ROOT),
                          env=_env(**env), dimensions=(50, width), encoding="utf-8",
                          timeout=240)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, ANSI.sub("", child.before).replace("\r\n", "\n").replace("\r", "\n")


def in_pipe(*args: str) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-m", "casereport", *args], cwd=paths.ROOT,
                         env=_env(), capture_output=True, text=True, timeout=240)
    return out.returncode, out.stdout


def test_audit_is_a_table_on_a_terminal_and_markdown_in_a_pipe():
    code, screen = on_terminal("audit")
    assert code == 0
    row = next(line for line in screen.splitlines()
               if line.startswith("enrich_sites.pct_engaged.site_4 "))
    assert re.search(r"enrich_sites\.pct_engaged\.site_4\s+41\s+47\.0588\s+discrepancy", row)
    assert "\\" not in screen and "|" not in screen  # no Markdown escapes, no pipe table
    code, piped = in_pipe("audit")
    assert code == 0
    assert "| enrich\\_sites\\.pct\\_engaged\\.site\\_4 |" in piped and "47\\.0588" in piped


def test_audit_format_markdown_on_a_terminal_stays_markdown():
    code, screen = on_terminal("audit", "--format", "markdown")
    assert code == 0
    assert "47\\.0588" in screen and "| enrich\\_sites\\.pct\\_engaged\\.site\\_4 |" in screen


def test_validate_problems_are_a_table_on_a_terminal_and_lines_in_a_pipe(tmp_path):
    """Site 4's engaged count made 8.5 (not an integer): one problem, file/line/column."""
    data = shutil.copytree(paths.DATA_DIR, tmp_path / "data")
    csv = data / "enrich" / "enrich_sites.csv"
    csv.write_text(csv.read_text().replace("\n4,71,33,17,52,8,41,", "\n4,71,33,17,52,8.5,41,"))
    code, screen = on_terminal("validate", "--data-dir", str(data))
    assert code == 1
    assert re.search(r"file\s+line\s+column\s+found\s+expected", screen)
    assert re.search(r"enrich/enrich_sites\.csv\s+5\s+engaged\s+'8\.5'", screen)
    code, piped = in_pipe("validate", "--data-dir", str(data))
    assert code == 1
    assert "  - enrich/enrich_sites.csv, line 5, column 'engaged': found '8.5'" in piped


def test_diff_is_tables_on_a_terminal_and_markdown_in_a_pipe(tmp_path):
    """a.r moved from 0.5 to 0.6 (the diff tests' fake builds)."""
    a = _fake_build(tmp_path / "a")
    b = _fake_build(tmp_path / "b", results=_frame(_row("a", "r", 0.6)))
    code, screen = on_terminal("diff", str(a), str(b))
    assert code == 1
    assert "Estimates that moved by more than their displayed precision (1)" in screen
    assert re.search(r"results: estimate\s+a\.r \[primary\]\s+0\.5\s+0\.6", screen)
    assert "\\" not in screen and "###" not in screen
    code, piped = in_pipe("diff", str(a), str(b))
    assert code == 1
    assert "### Estimates that moved" in piped and "| a\\.r \\[primary\\] |" in piped


def test_table_cells_are_text_not_markup_and_numbers_align_right():
    """A cell '[bold]x[/bold]' prints as written; the numeric column is right-aligned
    ('5' under '100' ends in the same column)."""
    buf = io.StringIO()
    out = Console(file=buf, width=60, force_terminal=False)
    terminal.table(["name", "n"], [["[bold]x[/bold]", "100"], ["y", "5"]], out=out)
    lines = buf.getvalue().splitlines()
    assert "[bold]x[/bold]" in buf.getvalue()
    row_x = next(line for line in lines if line.startswith("[bold]"))
    row_y = next(line for line in lines if line.startswith("y "))
    assert len(row_x.rstrip()) == len(row_y.rstrip())


def test_ci_means_no_terminal_output(monkeypatch):
    """Under CI=true a terminal still gets the plain output (one line per run, Markdown)."""
    monkeypatch.setenv("CI", "true")
    assert not terminal.interactive(Console(file=io.StringIO(), force_terminal=True))
    monkeypatch.delenv("CI")
    assert terminal.interactive(Console(file=io.StringIO(), force_terminal=True))

