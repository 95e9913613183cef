"""One site against its trial: its values beside the trial's, its rank, classification
and factors (the case_profile notebook; the report's appendix has one per site)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from casereport import stats
from casereport.analyses.engagement_fidelity import analysis as E
from casereport.analyses.mentoring_time import analysis as RT
from casereport.primitives import format as F
from casereport.primitives import paths
from casereport.primitives import results as R
from casereport.primitives.labels import (
    CASE_LABELS,
    CASE_TYPES,
    FACTOR_LABELS,
    GROUP_LABELS,
    MENTORING_GROUPS,
    factor_label,
)
from casereport.trialdata import loaders, trials

#: The analysis shapes a site can be profiled in (a trial's ``shape`` in its trial.yaml).
ENGAGEMENT, MENTORING = "engagement_fidelity", "mentoring_time"
#: Measures profiled per shape: column -> (label with unit, decimals).
MEASURES: dict[str, dict[str, tuple[str, int]]] = {
    ENGAGEMENT: {
        "engagement_pct": ("Engaged with peer support (%)", 1),
        "fidelity_score": ("Site fidelity score (3–12)", 1),
        "with_engagement_data": ("Participants with engagement data (n)", 0),
        "pct_with_data": ("Offered peer support with engagement data (%)", 1),
        "total_participants": ("Total participants (n)", 0),
    },
    MENTORING: {
        "mpm": ("Mentoring per month (minutes)", 1),
        "mentoring_minutes": ("Total mentoring (minutes)", 0),
        "months_in_study": ("Months in study", 0),
        "ppo": ("Participants per OT", 1),
        "ots": ("OTs delivering the intervention (n)", 0),
        "pct_phone_teams": ("Mentoring by phone or Teams (%)", 1),
    },
}


@dataclass
class Profile:
    trial: str
    site: str
    frame: pd.DataFrame  # the whole trial, one row per site, with the profiled measures
    classification: str
    summary: pd.DataFrame  # display table (formatted strings)
    rows: list[dict[str, Any]] = field(default_factory=list)
    shape: str = ENGAGEMENT
    name: str = ""  # the trial's name as the report writes it (its trial.yaml)

    @property
    def trial_label(self) -> str:
        return self.name or self.trial.upper()

    @property
    def measures(self) -> dict[str, str]:
        return {c: lab for c, (lab, _) in MEASURES[self.shape].items()}

    @property
    def results_name(self) -> str:
        return results_name(self.trial, self.site)


def results_name(trial: str, site: Any) -> str:
    """``case_profile--<trial>-<site>``, named like the build's run ids (``paths.safe_name``),
    so the results CSV sits beside ``build/runs/case_profile--<trial>-<site>.ipynb``."""
    return f"case_profile--{paths.safe_name(f'{trial}-{site}')}"


def _check(trial: str, site: str, sites: pd.Series) -> None:
    if site not in set(sites.astype(str)):
        raise ValueError(
            f"site {site!r} is not in the site table of trial {trial!r} (sites: "
            f"{', '.join(sites.astype(str))})"
        )


def _rank(values: pd.Series, site_mask: pd.Series) -> tuple[int, int]:
    """Rank of the site (1 = highest, ties share the best rank) and number of ranked sites."""
    r = values.rank(ascending=False, method="min")
    return int(r[site_mask].iloc[0]), int(values.notna().sum())


def build(
    trial: str,
    site: Any,
    enrich: pd.DataFrame | None = None,
    retake: pd.DataFrame | None = None,
    factors: pd.DataFrame | None = None,
    cutoffs: Mapping[str, float] | None = None,
    expected: float | None = None,
    tolerance: float | None = None,
    level: float = 0.95,
    name: str = "",
) -> Profile:
    """Profile ``site`` of trial ``trial`` (its code). A trial of the engagement-fidelity
    shape passes its site table as ``enrich`` (as loaded); one of the mentoring-time shape
    ``retake`` and ``factors`` (long or wide). ``name``: the trial's display name."""
    trial, site = str(trial), str(site)
    if (enrich is None) == (retake is None):
        raise ValueError(f"trial {trial!r}: give one site table, `enrich` (the "
                         f"{ENGAGEMENT} shape) or `retake` with `factors` ({MENTORING})")
    shape = ENGAGEMENT if enrich is not None else MENTORING
    extra: list[tuple[str, str]] = []
    a = f"case_profile_{trial}"
    rows: list[dict[str, Any]] = []
    if shape == ENGAGEMENT:
        df = E.prepare(enrich)
        _check(trial, site, df["site"])
        df["pct_with_data"] = 100 * df["with_engagement_data"] / df["offered_peer_support"]
        if cutoffs is None:
            raise ValueError("an ENRICH-shaped profile needs the trial's cut-offs")
        cls = E.cases(df, dict(cutoffs))
        labels = list(cls["case_type"])
        classes = CASE_TYPES
        mask = df["site"] == site
        lab = labels[int(mask.to_numpy().argmax())]
        classification = CASE_LABELS.get(lab, lab)
        i = int(mask.to_numpy().argmax())
        extra = [
            ("Peer worker employer", str(df["employer"].iloc[i])),
            ("Location", str(df["location"].iloc[i])),
        ]
        lo, hi = stats.clopper_pearson(
            df.loc[mask, "engaged"].iloc[0], df.loc[mask, "with_engagement_data"].iloc[0], level
        )
        ci = {"engagement_pct": (100 * float(lo), 100 * float(hi))}
    else:
        df = RT.prepare(retake, factors)
        _check(trial, site, df["site"])
        if expected is None or tolerance is None:
            raise ValueError("a RETAKE-shaped profile needs the expected minutes and tolerance")
        labels = RT.groups(df, expected, tolerance)
        classes = MENTORING_GROUPS
        mask = df["site"] == site
        i = int(mask.to_numpy().argmax())
        lab = labels[i]
        classification = f"{GROUP_LABELS.get(lab, lab)} ({expected:g} ± {tolerance:g} min)"
        fcols = [c for c in FACTOR_LABELS if c in df.columns]
        present = [factor_label(c) for c in fcols if df[c].iloc[i] == 1]
        extra = [("Reasons for additional mentoring", ", ".join(present) or "none reported")]
        rows += [R.row(a, R.site_quantity(c, site), df[c].iloc[i]) for c in fcols]
        ci = {}

    out = []
    for c, (label, dec) in MEASURES[shape].items():
        v = df[c].astype(float)
        rank, n = _rank(v, mask)
        value = float(v[mask].iloc[0])
        lo_hi = ci.get(c)
        shown = F.number(value, dec, F.DASH) + (f" ({F.interval(*lo_hi, 1)})" if lo_hi else "")
        out.append(
            {
                "Measure": label,
                f"Site {site}": shown,
                "Rank (1 = highest)": f"{rank} of {n}",
                "Trial median": F.number(v.median(), dec, F.DASH),
                "Trial range": F.interval(v.min(), v.max(), dec),
            }
        )
        rows.append(R.row(a, R.site_quantity(c, site), value, *(lo_hi or (None, None)), n=n))
        rows.append(R.row(a, R.site_quantity(f"rank_{c}", site), rank, n=n))
    blank = {"Rank (1 = highest)": "", "Trial median": "", "Trial range": ""}
    out.append({"Measure": "Classification", f"Site {site}": classification, **blank})
    out += [{"Measure": k, f"Site {site}": v, **blank} for k, v in extra]
    rows += [
        R.row(a, R.site_quantity(R.slug(c), site), float(lab == c), n=len(df)) for c in classes
    ]
    return Profile(trial, site, df, classification, pd.DataFrame(out), rows, shape, name)


def from_files(
    trial: str,
    site: Any,
    enrich_csv: str = "data/enrich/enrich_sites.csv",
    retake_csv: str = "data/retake/retake_sites.csv",
    factors_csv: str = "data/retake/retake_site_factors.csv",
    **kw: Any,
) -> Profile:
    """:func:`build` on the trial's files (only the trial's own files are read), in the
    shape its folder's trial.yaml names; a trial code with no folder among the paths is a
    ValueError, never another trial's branch."""
    found = trials.of_file(str(trial), enrich_csv, retake_csv)
    kw = {"name": found.name, **kw}
    if found.shape == ENGAGEMENT:  # its trial.yaml read once (of_file), not again
        return build(found.code, site, enrich=loaders.load_enrich(found.file("sites"), found),
                     **kw)  # fmt: skip
    if found.shape == MENTORING:
        retake = loaders.load_retake(found.file("sites"), found)
        factors = loaders.load_factors(factors_csv)
        return build(found.code, site, retake=retake, factors=factors, **kw)
    raise ValueError(f"trial {trial!r} has shape {found.shape!r}, which has no case profile")
