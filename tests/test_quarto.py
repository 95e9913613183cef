"""Quarto: found or reported plainly; when present, the manuscript renders.

The render tests need the `quarto` command (https://quarto.org/docs/get-started/; CI uses
quarto-dev/quarto-actions/setup) and skip with that reason when it is not on PATH."""

from __future__ import annotations

import os
import shutil

import pytest

from casereport import paths
from casereport.report import quarto

HAVE_QUARTO = quarto.find_quarto() is not None
needs_quarto = pytest.mark.skipif(
    not HAVE_QUARTO,
    reason="quarto is not on PATH (install Quarto >= 1.5: conda-forge `quarto` or the "
    "installer at quarto.org; CI: quarto-dev/quarto-actions/setup)",
)


def test_find_quarto_none_without_path(monkeypatch, tmp_path):
    """With an empty PATH and no QUARTO_PATH there is no quarto: None, and render() raises
    FileNotFoundError carrying the plain message (quarto.NOT_FOUND)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    assert quarto.find_quarto() is None
    with pytest.raises(FileNotFoundError, match="Quarto was not found on PATH"):
        quarto.render(tmp_path / "out")


def test_find_quarto_uses_path(monkeypatch, tmp_path):
    """An executable named quarto on PATH is found (a stand-in script made here)."""
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\necho 1.6.40\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QUARTO_PATH", raising=False)
    assert quarto.find_quarto() == str(fake)
    assert quarto.version() == (1, 6, 40)


def test_render_command_and_environment(tmp_path):
    """The command renders the project root into the given folder; the environment stops
    the pre-render step from re-entering the build (CASEREPORT_SKIP_PRERENDER=1)."""
    cmd = quarto.command(tmp_path, quarto="quarto")
    assert cmd == ["quarto", "render", str(paths.ROOT), "--output-dir", str(tmp_path)]
    assert quarto.environment()["CASEREPORT_SKIP_PRERENDER"] == "1"


def test_render_rejects_old_quarto(monkeypatch, tmp_path):
    """Quarto 1.4 cannot re-read _variables.yml after pre-render: refused with a reason."""
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\necho 1.4.550\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(quarto.QuartoError, match="too old"):
        quarto.render(tmp_path / "out")


@needs_quarto
@pytest.mark.quarto
@pytest.mark.slow
def test_quarto_renders_the_manuscript(tmp_path):
    """`quarto render` of the project (after a build) writes the article page and the Typst
    PDF; the page has no console errors, decodes its images and resolves its #links."""
    if not (paths.BUILD_DIR / "runs").is_dir():
        pytest.skip("no build/ yet: run `casereport build` before the Quarto render test")
    out = tmp_path / "_manuscript"
    quarto.render(out)
    assert (out / "index.html").is_file()
    assert list(out.glob("*.pdf")), "the Typst PDF was not written"
    from tests.test_report_support import inspect_page

    info = inspect_page(out / "index.html", paths.BUILD_DIR / "manuscript-test.png")
    assert info["errors"] == [] and info["broken_images"] == []
    assert info["missing_targets"] == [] and info["pwned"] is None
    assert "?var:" not in info["text"]


@needs_quarto
@pytest.mark.quarto
def test_quarto_inspect_reads_the_project():
    """`quarto inspect` accepts _quarto.yml and sees a manuscript project."""
    import json
    import subprocess

    res = subprocess.run(
        [quarto.find_quarto(), "inspect", str(paths.ROOT)],
        capture_output=True,
        text=True,
        env={**os.environ, "CASEREPORT_SKIP_PRERENDER": "1"},
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["config"]["project"]["type"] == "manuscript"


def test_quarto_absence_is_the_reason_for_skipping():
    """Documents the skip: this machine's PATH decides whether the two tests above run."""
    assert HAVE_QUARTO == (
        shutil.which("quarto") is not None or bool(os.environ.get("QUARTO_PATH"))
    )
