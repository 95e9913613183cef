"""Scale-out: the same runs sent to a real Dask cluster give the same results as a local build.

The cluster is a real ``distributed.LocalCluster`` listening on 127.0.0.1 (worker
processes, TCP), reached by ``casereport build --executor dask --scheduler ADDRESS``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.project import casereport, make_project

pytestmark = pytest.mark.slow


def cached_results(root: Path) -> dict[str, dict[str, str]]:
    """run_id -> {results file name: CSV text} from a project's run cache."""
    out = {}
    for entry in (root / ".casereport-cache" / "runs").glob("*/*"):  # <key>/<deps hash>
        if entry.name.startswith("."):
            continue
        run_id = json.loads((entry / "meta.json").read_text())["run_id"]
        out[run_id] = {p.name: p.read_text() for p in (entry / "results").glob("*.csv")}
    return out


def test_dask_cluster_build_equals_local_build(built_project, tmp_path, monkeypatch):
    """Oracle: the local process-pool build of the same project (the session's full build,
    conftest.py: its engagement-fidelity runs, executed from an empty cache)."""
    from distributed import LocalCluster

    remote = make_project(tmp_path / "remote")
    # workers resolve root-relative paths against their own checkout: this copy
    monkeypatch.setenv("CASEREPORT_ROOT", str(remote))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        out = casereport(remote, "build", "--only", "engagement_fidelity",
                         "--executor", "dask", "--scheduler", cluster.scheduler_address)
        # each worker that ran a notebook forked its kernels from a template of its own
        from distributed import Client

        from casereport.kernels import forking

        with Client(cluster) as client:
            templates = client.run(forking.template_pid)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not forked" not in out.stdout
    used = [pid for pid in templates.values() if pid is not None]
    assert used and len(set(used)) == len(used)

    a = {k: v for k, v in cached_results(built_project).items()
         if k.startswith("engagement_fidelity--")}
    b = cached_results(remote)
    assert a and a.keys() == b.keys()
    assert a == b


def test_dask_executor_needs_a_scheduler_address(tmp_path):
    """--executor dask without --scheduler is a usage error with a clear message."""
    root = make_project(tmp_path / "p")
    out = casereport(root, "build", "--only", "engagement_fidelity", "--executor", "dask")
    assert out.returncode != 0
    assert "--scheduler" in out.stdout + out.stderr
