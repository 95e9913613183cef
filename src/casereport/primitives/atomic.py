"""Atomic file writes: a reader (Quarto, a notebook, a second build) never sees half a file.

Write to a temporary file in the target's folder, then ``os.replace`` it over the
target (atomic on POSIX and Windows within one file system). On any error the
temporary file is removed and the old target stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], newline: str | None = "\n") -> Iterator[TextIO]:
    """Open a temporary text file that replaces ``path`` when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    with replacing(path) as fh:
        fh.write(text)
    return Path(path)
