"""The manifest contract between the build and the report: each run's status is
labels.RAN or labels.CACHED, and the report reads exactly those."""

from __future__ import annotations

from casereport.primitives.labels import CACHED, CASE_PROFILE, RAN
from casereport.report import case_appendix


def _run(site: str, status: str | None) -> dict:
    rec = {"run_id": f"{CASE_PROFILE}--enrich-{site}", "notebook": CASE_PROFILE,
           "parameter_set": f"enrich-{site}"}
    return rec if status is None else {**rec, "status": status}


def test_case_appendix_takes_ran_and_cached_runs_only():
    manifest = {"runs": [_run("1", RAN), _run("2", CACHED), _run("3", "ok"), _run("4", "failed")]}
    ids = [r["run_id"] for r in case_appendix.case_profile_runs(manifest)]
    assert ids == [f"{CASE_PROFILE}--enrich-1", f"{CASE_PROFILE}--enrich-2"]
