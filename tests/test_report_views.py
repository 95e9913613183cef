"""Notebook views rendered again only when what they are rendered from changed
(report/views.py, and the order of the Quarto calls in report/quarto.py's ``render``).

The expected keys, copies and calls follow from the rules in the docstrings of
``views.keys``, ``views.restore`` and ``quarto.render``, on small projects made here; the
real renders are in tests/test_quarto.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from casereport.primitives import paths
from casereport.report import quarto, views

NB1, NB2 = "build/runs/a--primary.ipynb", "build/runs/b--primary.ipynb"


def _project(root: Path, notebooks: list[str] = [NB1, NB2]) -> Path:  # noqa: B006
    (root / "_quarto").mkdir(parents=True)
    (root / "_quarto" / "theme.scss").write_text("/* theme */\n")
    (root / "references.bib").write_text("@misc{x, title={X}}\n")
    entries = "".join(f"    - notebook: {nb}\n      title: {Path(nb).stem}\n" for nb in notebooks)
    (root / "_quarto.yml").write_text(
        f"project:\n  type: manuscript\nmanuscript:\n  article: index.qmd\n"
        f"  notebooks:\n{entries}")  # fmt: skip
    for nb in notebooks:
        (root / nb).parent.mkdir(parents=True, exist_ok=True)
        (root / nb).write_text(json.dumps({"cells": [], "nb": nb}))
    (root / "_variables.yml").write_text("x: 1\n")
    return root


def _rendered(out: Path, nb: str, text: str) -> None:
    """A view as Quarto writes it: page, download, one figure."""
    page, download, figures = views.outputs(out, nb)
    (figures / "figure-html").mkdir(parents=True)
    page.write_text(text)
    download.write_text("{}")
    (figures / "figure-html" / "f.png").write_bytes(b"png")


def test_manuscript_reads_the_article_and_the_notebooks(tmp_path):
    """As listed in _quarto.yml; None without a notebook list (Quarto then takes every
    input as a notebook: the whole project is rendered)."""
    assert views.manuscript(_project(tmp_path)) == ("index.qmd", [NB1, NB2])
    (tmp_path / "_quarto.yml").write_text("project:\n  type: manuscript\n")
    assert views.manuscript(tmp_path) is None
    assert views.manuscript(tmp_path / "nowhere") is None


def test_keys_change_with_what_a_view_is_rendered_from(tmp_path):
    """A view's key changes with its notebook, any file under _quarto/, _quarto.yml,
    references.bib and the Quarto version, and with nothing else: not with another
    notebook, nor with _variables.yml unless the notebook holds a shortcode."""
    root = _project(tmp_path)
    base = views.keys([NB1, NB2], (1, 10, 18), root)
    assert set(base) == {NB1, NB2} and base[NB1] != base[NB2]

    def after(edit) -> dict[str, str]:
        edit()
        new = views.keys([NB1, NB2], (1, 10, 18), root)
        return {nb: new[nb] != base[nb] for nb in new}

    assert after(lambda: (root / "_variables.yml").write_text("x: 2\n")) == {NB1: False,
                                                                           NB2: False}
    assert after(lambda: (root / NB1).write_text('{"cells": [1]}')) == {NB1: True, NB2: False}
    base = views.keys([NB1, NB2], (1, 10, 18), root)
    for f in ["_quarto/theme.scss", "_quarto.yml", "references.bib"]:
        base = views.keys([NB1, NB2], (1, 10, 18), root)
        assert after(lambda f=f: (root / f).write_text((root / f).read_text() + "\n")) == {
            NB1: True, NB2: True}, f
    base = views.keys([NB1, NB2], (1, 10, 18), root)
    assert views.keys([NB1, NB2], (1, 11, 0), root) != base
    (root / NB2).write_text('{"cells": ["{{<var x>}}"]}')
    base = views.keys([NB1, NB2], (1, 10, 18), root)
    assert after(lambda: (root / "_variables.yml").write_text("x: 3\n")) == {NB1: False,
                                                                           NB2: True}
    (root / NB2).unlink()
    assert set(views.keys([NB1, NB2], (1, 10, 18), root)) == {NB1}  # rendered, and reported


def test_restore_copies_the_unchanged_views_newer_than_their_notebooks(tmp_path):
    """Of the last manuscript's two views, only the one whose recorded key is its key now
    is copied, every file of it, with a modification time at least its notebook's (what
    Quarto's reviveOutput asks); site_libs/ comes along; a missing or unreadable record
    copies nothing."""
    root = _project(tmp_path / "p")
    keys = views.keys([NB1, NB2], (1, 10, 18), root)
    previous = tmp_path / "_manuscript"
    _rendered(previous, NB1, "view a")
    _rendered(previous, NB2, "view b")
    (previous / "site_libs" / "lib").mkdir(parents=True)
    (previous / "site_libs" / "lib" / "x.js").write_text("js")
    views.write_record(previous, {NB1: keys[NB1], NB2: "an older key"})
    old = 1_000_000_000
    for p in previous.rglob("*"):
        os.utime(p, (old, old))
    out = tmp_path / "new"
    assert views.restore(previous, out, keys) == [NB1]
    page, download, figures = views.outputs(out, NB1)
    assert page.read_text() == "view a" and download.read_text() == "{}"
    assert (figures / "figure-html" / "f.png").read_bytes() == b"png"
    nb_time = (root / NB1).stat().st_mtime
    for p in [page, download, figures / "figure-html" / "f.png"]:
        assert p.stat().st_mtime >= nb_time, p
    assert not views.outputs(out, NB2)[0].exists()
    assert (out / "site_libs" / "lib" / "x.js").read_text() == "js"
    (previous / views.RECORD).write_text("{not json")
    assert views.restore(previous, tmp_path / "new2", keys) == []
    assert views.restore(None, tmp_path / "new3", keys) == []


def _fake(monkeypatch, root: Path) -> list[str | None]:
    """``render`` with each `quarto render` replaced by a record of its target (None: the
    whole project) that writes the view or the article as Quarto would."""
    calls: list[str | None] = []

    def article(output_dir, exe, timeout, extra_env=None, target=None):
        calls.append(target)
        targets = [target] if target else [NB1, NB2, "index.qmd"]
        for t in targets:
            if t.endswith(".ipynb"):
                for p in views.outputs(output_dir, t)[:2]:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_text(f"view of {(root / t).read_text()}")
            else:
                Path(output_dir).mkdir(parents=True, exist_ok=True)
                (Path(output_dir) / "index.html").write_text("article")
        return ""

    monkeypatch.setattr(paths, "ROOT", root)
    monkeypatch.setattr(quarto, "find_quarto", lambda: "quarto")
    monkeypatch.setattr(quarto, "version", lambda exe=None: (1, 10, 18))
    monkeypatch.setattr(quarto, "_render_article", article)
    monkeypatch.setattr(quarto, "_copy_supplement", lambda out, has: None)
    return calls


def test_render_renders_the_changed_views_then_the_article(monkeypatch, tmp_path):
    """With no last manuscript: two changed views of two are more than half, so the whole
    project renders at once. Then nothing changed: the article alone, both views copied.
    Then one notebook changed: that view, then the article. Each manuscript records the
    key of each of its views; ``say`` hears the counts."""
    root = _project(tmp_path / "p")
    calls = _fake(monkeypatch, root)
    said: list[str] = []
    first = tmp_path / "m1"
    quarto.render(first, say=said.append)
    assert calls == [None]
    assert json.loads((first / views.RECORD).read_text()) == views.keys([NB1, NB2],
                                                                        (1, 10, 18), root)
    calls.clear()
    second = tmp_path / "m2"
    quarto.render(second, previous=first, say=said.append)
    assert calls == ["index.qmd"]
    assert views.outputs(second, NB1)[0].read_text() == views.outputs(first, NB1)[0].read_text()
    calls.clear()
    (root / NB2).write_text('{"cells": ["new"]}')
    third = tmp_path / "m3"
    quarto.render(third, previous=second, say=said.append)
    assert calls == [NB2, "index.qmd"]
    assert "new" in views.outputs(third, NB2)[0].read_text()
    assert said == [
        "notebook views: 0 of 2 unchanged (copied from the last manuscript), 2 to render "
        "(with the whole project)",
        "notebook views: 2 of 2 unchanged (copied from the last manuscript), 0 to render",
        "notebook views: 1 of 2 unchanged (copied from the last manuscript), 1 to render",
    ]


@pytest.mark.parametrize("listed", [True, False], ids=["notebooks", "no-list"])
def test_a_failed_view_leaves_no_record(monkeypatch, tmp_path, listed):
    """A view whose render fails stops the render with Quarto's error, and the folder
    records nothing (the build then keeps the last manuscript: tests/test_pipeline.py)."""
    root = _project(tmp_path / "p")
    if not listed:
        (root / "_quarto.yml").write_text("project:\n  type: manuscript\n")

    def failing(output_dir, exe, timeout, extra_env=None, target=None):
        raise quarto.QuartoError("quarto render of x failed (exit 1)")

    _fake(monkeypatch, root)
    monkeypatch.setattr(quarto, "_render_article", failing)
    with pytest.raises(quarto.QuartoError, match="failed"):
        quarto.render(tmp_path / "out")
    assert not (tmp_path / "out" / views.RECORD).exists()
