"""Atomic writes keep the old file when writing fails part-way."""

from __future__ import annotations

import pytest

from casereport.primitives import atomic


def test_write_text_replaces_and_is_readable_by_others(tmp_path):
    """The new content replaces the old; the file gets ordinary 0644 permissions."""
    f = tmp_path / "sub" / "a.md"
    atomic.write_text(f, "old\n")
    atomic.write_text(f, "new\n")
    assert f.read_text() == "new\n"
    assert f.stat().st_mode & 0o777 == 0o644


def test_error_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    """An exception inside the block: the previous content stays and nothing is left over."""
    f = tmp_path / "results.csv"
    f.write_text("last good\n")
    with pytest.raises(RuntimeError), atomic.replacing(f) as fh:
        fh.write("half a fi")
        raise RuntimeError("killed")
    assert f.read_text() == "last good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]
