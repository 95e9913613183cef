"""`make lab`: a real JupyterLab server offers the notebooks and the project's kernel."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from casereport.primitives import paths

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def test_every_notebook_uses_the_project_kernel():
    """The notebooks name the `casereport` kernel that `make setup` registers."""
    for nb_path in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == paths.KERNEL_NAME, nb_path.name


def test_make_lab_serves_notebooks_with_the_project_kernel(tmp_path):
    """Start JupyterLab with the Makefile's own arguments on 127.0.0.1 and ask its REST API."""
    recipe = re.search(r"^lab:.*\n\t(.+)$", (paths.ROOT / "Makefile").read_text(), re.M)[1]
    args = recipe.replace("$(BIN)/jupyter", str(Path(sys.executable).parent / "jupyter"))
    args = args.replace("$(LAB_ARGS)", "").split()
    port, token = _free_port(), "casereport-test"
    proc = subprocess.Popen(
        [*args, "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.runtime_dir={tmp_path}"],
        cwd=paths.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(120):
            try:
                _get(f"{base}/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        specs = _get(f"{base}/kernelspecs?token={token}")["kernelspecs"]
        assert paths.KERNEL_NAME in specs
        listing = _get(f"{base}/contents/notebooks?token={token}")["content"]
        names = {c["name"] for c in listing}
        assert {p.name for p in paths.NOTEBOOKS_DIR.glob("*.ipynb")} <= names
    finally:
        proc.terminate()
        proc.wait(timeout=30)
