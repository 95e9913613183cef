"""The case-profile appendix: one compact table per trial, a row per site, built from
the case-profile runs' results (their notebooks hold each site's full profile)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from casereport.primitives import markdown as md
from casereport.primitives.labels import CASE_PROFILE
from casereport.report.manifest_runs import natural_key, run_ok, runs_from_manifest
from casereport.trialdata import trials as T

ENGAGEMENT, MENTORING = "engagement_fidelity", "mentoring_time"


def case_profile_runs(manifest: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Successful case-profile runs in the manifest, by trial (in the order the plan made
    them: trial folders by name), sites in order."""
    runs = [r for r in runs_from_manifest(manifest) if r["notebook"] == CASE_PROFILE and run_ok(r)]
    order = list(dict.fromkeys(_trial_site(r)[0] for r in runs))

    def key(r: Mapping[str, Any]) -> tuple[Any, ...]:
        trial, site = _trial_site(r)
        return (order.index(trial), natural_key(site))

    return sorted(runs, key=key)


def _trial_of(rec: Mapping[str, Any], code: str) -> tuple[str, str]:
    """(shape, name) of the trial a case-profile run profiled: its folder's trial.yaml,
    found from the run's data paths, else the project's trial of that code; the code
    itself when there is neither."""
    params = rec.get("parameters") or {}
    files = [v for v in params.values() if isinstance(v, str) and v.endswith(".csv")]
    try:
        trial = T.of_file(code, *files)
    except (ValueError, T.DataError):
        try:
            trial = T.discover().get(code)
        except (OSError, T.DataError):
            trial = None
        if trial is None:
            return "", code.upper()
    return trial.shape, trial.name


def _trial_site(rec: Mapping[str, Any]) -> tuple[str, str]:
    params = rec.get("parameters") or {}
    trial = params.get("trial")
    site = params.get("site")
    if trial is None or site is None:
        t, _, s = str(rec["parameter_set"]).partition("-")
        trial, site = trial or t, site if site is not None else s
    return str(trial), str(site)


#: Compact appendix columns per shape: profiled measure -> (short header, decimals).
#: The headers are short so the tables fit a printed page; the caption gives the units.
APPENDIX_COLUMNS: dict[str, dict[str, tuple[str, int]]] = {
    ENGAGEMENT: {
        "engagement_pct": ("Engaged %", 1),
        "fidelity_score": ("Fidelity", 1),
        "with_engagement_data": ("With data", 0),
        "pct_with_data": ("With data %", 1),
        "total_participants": ("Participants", 0),
    },
    MENTORING: {
        "mpm": ("Min/month", 1),
        "mentoring_minutes": ("Minutes", 0),
        "months_in_study": ("Months", 0),
        "ppo": ("Part./OT", 1),
        "ots": ("OTs", 0),
        "pct_phone_teams": ("Phone/Teams %", 1),
    },
}
#: Captions per shape, completed with the trial's name.
APPENDIX_CAPTIONS = {
    ENGAGEMENT: (
        "{name} case profiles: each site's value and, in brackets, its rank in the trial "
        "(1 = highest). Engaged %: participants engaged of those with engagement data; "
        "Fidelity: site fidelity score (3–12); With data: participants with engagement "
        "data (n, and % of those offered peer support); Case type: the case selection "
        "by the trial's cut-offs."
    ),
    MENTORING: (
        "{name} case profiles: each site's value and, in brackets, its rank in the trial "
        "(1 = highest). Min/month: recorded mentoring minutes per month in the study; "
        "Minutes: recorded minutes (sessions shared by two sites count at both); "
        "Part./OT: participants per OT who held the post; Phone/Teams %: share of "
        "mentoring by phone or Teams; Group: against the expected minutes per month; "
        "Reasons: the factors the paper lists for the site."
    ),
}


def case_appendix_md(manifest: Mapping[str, Any] | None, results: pd.DataFrame | None) -> str:
    """One compact table per trial, a row per site, from the case-profile runs' results:
    each profiled measure with the site's rank, its classification and (RETAKE) reasons."""
    from casereport.primitives import format as F
    from casereport.primitives import labels as L
    from casereport.primitives import results as R

    runs = case_profile_runs(manifest)
    if not runs or results is None or len(results) == 0:
        return "No case profiles were built.\n"
    labels = {**L.CASE_LABELS, **L.GROUP_LABELS}
    classes = {ENGAGEMENT: list(L.CASE_LABELS), MENTORING: list(L.GROUP_LABELS)}
    parts = [
        f"The {len(runs)} case-profile runs of the build, one per site, summarised one trial "
        "to a table. Each site's full profile, with its figure against the rest of its "
        "trial, is the executed notebook `build/runs/case_profile--<trial>-<site>.ipynb`.\n"
    ]
    for trial in dict.fromkeys(_trial_site(r)[0] for r in runs):
        trial_runs = [r for r in runs if _trial_site(r)[0] == trial]
        shape, name = _trial_of(trial_runs[0], trial)
        if shape not in APPENDIX_COLUMNS:
            parts.append(f"No case-profile table for trial {trial!r} (shape {shape!r}).\n")
            continue
        res = results[results["analysis"] == f"case_profile_{trial}"]
        value = dict(zip(res["quantity"], res["estimate"], strict=True))
        cols = APPENDIX_COLUMNS[shape]
        klass = "Case type" if shape == ENGAGEMENT else "Group"
        headers = ["Site", *(h for h, _ in cols.values()), klass]
        if shape == MENTORING:
            headers.append("Reasons")
        rows = []
        for rec in trial_runs:
            site = _trial_site(rec)[1]

            def q(name: str, site: str = site, value: dict = value) -> Any:
                return value.get(f"{name}_site_{R.slug(site)}")

            row = [site]
            for c, (_, dec) in cols.items():
                rank = q(f"rank_{c}")
                rank_txt = "" if rank is None else f" [{int(rank)}]"
                row.append(F.number(q(c), dec, F.DASH) + rank_txt)
            cls = [c for c in classes[shape] if q(R.slug(c)) == 1]
            row.append(labels.get(cls[0], cls[0]) if cls else "")
            if shape == MENTORING:
                present = [L.factor_label(f) for f in L.FACTOR_LABELS if q(f) == 1]
                row.append(", ".join(present) or "none listed")
            rows.append(row)
        align = "l" + "r" * len(cols) + "l" * (len(headers) - len(cols) - 1)
        parts.append(
            f"{md.table(headers, rows, align)}\n"
            f": {APPENDIX_CAPTIONS[shape].format(name=name)} {{#tbl-profiles-{trial}}}\n"
        )
    return "\n".join(parts)
