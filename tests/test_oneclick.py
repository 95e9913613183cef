"""The one-click environments (.devcontainer/, binder/) install what `make setup` does:
the same lock file, the same kernel name, Python 3.11, JupyterLab on notebooks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casereport.primitives import paths

ROOT = paths.ROOT
LOCK = "requirements/lock.txt"
POSTBUILD = ROOT / "binder" / "postBuild"


def test_devcontainer_runs_make_setup_on_python_311():
    """devcontainer.json (the Dev Containers spec's keys): Python 3.11 image, `make setup`
    after creation (the Makefile's setup target installs LOCK and the kernel), port 8888."""
    conf = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert "python:1-3.11" in conf["image"]
    assert conf["postCreateCommand"] == "make setup"
    assert 8888 in conf["forwardPorts"]
    assert all((ROOT / f).is_file() for f in conf["customizations"]["codespaces"]["openFiles"])
    makefile = (ROOT / "Makefile").read_text()
    assert f"-r {LOCK}" in makefile and f"--name {paths.KERNEL_NAME}" in makefile


def test_binder_names_the_lock_and_kernel_of_the_makefile_and_readme():
    """binder/postBuild installs the lock the Makefile and README name and registers the
    kernel under the name the notebooks use (paths.KERNEL_NAME); runtime.txt pins 3.11
    (repo2docker's `python-X.Y` syntax); the README's Binder link opens lab/tree/notebooks
    (the Makefile's `make lab` default URL)."""
    script = POSTBUILD.read_text()
    assert f"pip install --no-deps -r {LOCK}" in script
    assert "pip install --no-deps -e ." in script
    assert f"ipykernel install --user --name {paths.KERNEL_NAME}" in script
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    readme = (ROOT / "README.md").read_text()
    assert LOCK in readme and "urlpath=lab/tree/notebooks" in readme
    assert "/lab/tree/notebooks" in (ROOT / "Makefile").read_text()
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        assert json.loads(nb.read_text())["metadata"]["kernelspec"]["name"] == paths.KERNEL_NAME
    assert os.access(POSTBUILD, os.X_OK)
    subprocess.run(["bash", "-n", str(POSTBUILD)], check=True)


@pytest.mark.slow
def test_postbuild_installs_the_environment_in_a_fresh_clone(tmp_path):
    """Run binder/postBuild as repo2docker does (from the root of a fresh clone, with the
    image's python first on PATH: here a new venv); the kernel it registers starts
    `python -c 'import casereport'` from the venv, with the package from the clone.

    The new venv sees the pinned packages of the environment this suite runs in (a .pth
    file naming its site-packages), so pip finds every pin of the lock satisfied and the
    script's three commands run in seconds rather than reinstalling some 150 packages
    (about 75 s). The install of the lock into an empty environment is the command
    `make setup` runs (test_binder_names_the_lock_and_kernel_of_the_makefile_and_readme
    checks both name it), and CI runs it on every fresh clone."""
    import sysconfig

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "casereport-suite-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
           "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "VIRTUAL_ENV": str(venv),
           "PIP_NO_COMPILE": "1"}
    env.pop("CASEREPORT_ROOT", None)
    res = subprocess.run(["bash", "binder/postBuild"], cwd=clone, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    spec = json.loads((tmp_path / "jupyter" / "kernels" / paths.KERNEL_NAME
                       / "kernel.json").read_text())
    assert Path(spec["argv"][0]).parent == venv / "bin"
    out = subprocess.run([spec["argv"][0], "-c", "import casereport, papermill; "
                          "print(casereport.__file__)"], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert str(clone) in out.stdout


@pytest.mark.slow
def test_make_puts_the_environment_outside_the_project_and_links_it(tmp_path):
    """`make`'s environment rule (the Makefile alone, in an empty project folder): with no
    .venv it makes the environment under VENV_HOME and links .venv to it, so Quarto's walks
    of the project skip it (they follow no link; benchmarks/results.md, section "venv");
    a .venv folder already there is kept as it is; `make clean-venv` removes the
    environment and the link. Oracle: the file system after each command, and the link's
    python reporting its own version."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    (project / "Makefile").write_text((ROOT / "Makefile").read_text())

    def make(*args: str) -> None:
        subprocess.run(["make", *args, f"VENV_HOME={home}", f"PYTHON={sys.executable}"],
                       cwd=project, check=True, capture_output=True, timeout=300)

    make(".venv/bin/python")
    link = project / ".venv"
    assert link.is_symlink()
    target = link.resolve()
    assert target.parent == home and target.name.startswith("project-")
    out = subprocess.run([str(link / "bin" / "python"), "-c",
                          "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(3, 11)"
    make("clean-venv")
    assert not link.exists() and not link.is_symlink() and not target.exists()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(link)], check=True)
    (link / "bin" / "python").unlink()  # an old folder without its python: repaired in place
    make(".venv/bin/python")
    assert link.is_dir() and not link.is_symlink() and (link / "bin" / "python").exists()
    assert not any(home.iterdir())  # no second environment was made
