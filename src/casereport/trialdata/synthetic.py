"""Synthetic multi-site trials in the format of ``data/``, for scale benchmarks and tests.

:func:`make_trial` writes a folder that ``casereport validate --data-dir`` accepts and
that every notebook can read through its data-path parameters, laid out as ``data/``: a
folder per trial, ``enrich/enrich_sites.csv`` and ``retake/retake_sites.csv``,
``retake/retake_site_factors.csv``, the other files of each folder (``trial.yaml``,
``datapackage.json``, programme theory, demographics, reason map) copied from the
project's, and each ``published_claims.yaml`` with an empty claims list (there is no
paper to audit a synthetic trial against).

Everything is drawn with one ``numpy.random.default_rng(seed)`` in a fixed order, fully
vectorised (10,000 sites take well under a second), so a seed gives byte-identical files.
The numbers are plausible, not realistic; the generating model, loosely calibrated to the
published ENRICH (7 sites) and RETAKE (16 sites) tables, is:

ENRICH-like sites (``enrich_sites.csv``), site ids ``"1"``..``"n"``:

- ``total_participants`` = max(10, round(LogNormal(log 70, 0.6)))
- ``offered_peer_support`` ~ Binomial(total, 0.5), at least 1 (intervention arm)
- ``with_engagement_data`` ~ Binomial(offered, q), q ~ Beta(18, 2) per site, at least 1
- ``fidelity_score`` = round(clip(Normal(10, 1.1), 3, 12), 1)
- ``employer`` = NHS with probability 5/7, else Voluntary
- ``location`` uniform over Urban, Town/rural, Urban/rural
- ``engaged`` ~ Binomial(with_engagement_data, p), with
  logit p = 0.35 + 0.45 (fidelity - 10) - 0.3 [Voluntary] + Normal(0, 0.35)
- ``pct_with_engagement_data`` and ``pct_engaged``: 100 x the ratio, rounded half up, as the
  papers print them (so ``casereport audit`` reproduces them).

RETAKE-like sites (``retake_sites.csv`` and ``retake_site_factors.csv``):

- ``months_in_study`` uniform on 8..25; ``ots`` = 2 + Binomial(2, 0.3)
- ``participants`` ~ Poisson(0.8 x months), at least 1
- the five factors, present independently with probabilities
  ``ot_turnover`` 0.44, ``low_competency`` 0.44, ``less_confident`` 0.25,
  ``larger_caseload`` 0.12, ``site_specific_issues`` 0.25 (the published 7, 7, 4, 2 and 4
  of 16 sites); a present factor quotes a synthetic source sentence, an absent one is blank
- mentoring minutes per month = LogNormal(log 65 + 0.18 x (number of factors present), 0.3);
  ``mentoring_minutes`` = round(rate x months)
- ``pct_phone_teams`` = round(clip(Normal(96, 2.5), 0, 100), 1)
- ``minutes_per_month`` and ``participants_per_ot``: the ratios rounded half up.

Command line: ``python -m casereport.trialdata.synthetic OUT_DIR --enrich N --retake M [--seed S]``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from casereport.primitives import paths

__all__ = ["DEFAULT_SEED", "FACTOR_PREVALENCE", "SyntheticTrial", "make_trial"]

#: Fixed default seed, so "the 1,000-site trial" means the same files everywhere.
DEFAULT_SEED = 20241050

#: Factor -> probability that a site is named for it (codebook order).
FACTOR_PREVALENCE = {
    "ot_turnover": 7 / 16,
    "low_competency": 7 / 16,
    "less_confident": 4 / 16,
    "larger_caseload": 2 / 16,
    "site_specific_issues": 4 / 16,
}
LOCATIONS = ("Urban", "Town/rural", "Urban/rural")
CLAIMS_TEXT = (
    "# Synthetic trial made by casereport.trialdata.synthetic: no published claims to audit.\n"
    "claims: []\n"
)


@dataclass(frozen=True)
class SyntheticTrial:
    """Where :func:`make_trial` wrote the trial, and what it holds."""

    data_dir: Path
    n_enrich_sites: int
    n_retake_sites: int
    seed: int

    @property
    def enrich_csv(self) -> Path:
        return self.data_dir / "enrich" / "enrich_sites.csv"

    @property
    def retake_csv(self) -> Path:
        return self.data_dir / "retake" / "retake_sites.csv"

    @property
    def factors_csv(self) -> Path:
        return self.data_dir / "retake" / "retake_site_factors.csv"

    @property
    def theory_csv(self) -> Path:
        return self.data_dir / "retake" / "programme_theory.csv"


def _ratio_pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """round_half_up(100 * num / den) in exact integer arithmetic (den > 0)."""
    return (200 * num + den) // (2 * den)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """round_half_up(num / den) in exact integer arithmetic (den > 0)."""
    return (2 * num + den) // (2 * den)


def _write_csv(path: Path, header: list[str], columns: list) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(zip(*columns, strict=True))


def _enrich(rng: np.random.Generator, n: int) -> tuple[list[str], list]:
    total = np.maximum(10, np.rint(rng.lognormal(np.log(70), 0.6, n))).astype(np.int64)
    offered = np.maximum(1, rng.binomial(total, 0.5))
    with_data = np.maximum(1, rng.binomial(offered, rng.beta(18, 2, n)))
    fidelity = np.round(np.clip(rng.normal(10, 1.1, n), 3, 12), 1)
    voluntary = rng.random(n) >= 5 / 7
    location = rng.integers(0, len(LOCATIONS), n)
    logit = 0.35 + 0.45 * (fidelity - 10) - 0.3 * voluntary + rng.normal(0, 0.35, n)
    engaged = rng.binomial(with_data, 1 / (1 + np.exp(-logit)))
    header = ["site", "total_participants", "offered_peer_support", "with_engagement_data",
              "pct_with_engagement_data", "engaged", "pct_engaged", "fidelity_score",
              "employer", "location"]
    columns = [
        [str(i) for i in range(1, n + 1)],
        total.tolist(), offered.tolist(), with_data.tolist(),
        _ratio_pct(with_data, offered).tolist(),
        engaged.tolist(), _ratio_pct(engaged, with_data).tolist(),
        [f"{v:.1f}" for v in fidelity],
        np.where(voluntary, "Voluntary", "NHS").tolist(),
        [LOCATIONS[i] for i in location],
    ]
    return header, columns


def _retake(rng: np.random.Generator, n: int) -> tuple[tuple[list[str], list], list[list]]:
    months = rng.integers(8, 26, n)
    ots = 2 + rng.binomial(2, 0.3, n)
    participants = np.maximum(1, rng.poisson(0.8 * months))
    present = rng.random((n, len(FACTOR_PREVALENCE))) < np.array(list(FACTOR_PREVALENCE.values()))
    rate = rng.lognormal(np.log(65) + 0.18 * present.sum(axis=1), 0.3)
    minutes = np.rint(rate * months).astype(np.int64)
    phone = np.round(np.clip(rng.normal(96, 2.5, n), 0, 100), 1)
    sites = [str(i) for i in range(1, n + 1)]
    header = ["site", "months_in_study", "mentoring_minutes", "pct_phone_teams", "participants",
              "ots", "minutes_per_month", "participants_per_ot"]
    columns = [
        sites, months.tolist(), minutes.tolist(), [f"{v:.1f}" for v in phone],
        participants.tolist(), ots.tolist(),
        _ratio(minutes, months).tolist(), _ratio(participants, ots).tolist(),
    ]
    factor_rows = []
    names = list(FACTOR_PREVALENCE)
    for i, site in enumerate(sites):
        for j, factor in enumerate(names):
            hit = bool(present[i, j])
            sentence = (f"Synthetic: site {site} needed additional mentoring for "
                        f"{factor.replace('_', ' ')}." if hit else "")
            factor_rows.append([site, factor, int(hit), sentence])
    return (header, columns), factor_rows


def make_trial(
    out_dir: str | Path,
    n_enrich_sites: int,
    n_retake_sites: int,
    seed: int = DEFAULT_SEED,
) -> SyntheticTrial:
    """Write a synthetic trial (both site tables) into ``out_dir`` and describe it.

    Parameters
    ----------
    out_dir : folder to write; created if missing; the five data files are overwritten.
    n_enrich_sites, n_retake_sites : number of sites of each trial (at least 1 each).
    seed : seed of the one ``numpy.random.default_rng`` every value is drawn from; the same
        seed and sizes give byte-identical files.
    """
    if n_enrich_sites < 1 or n_retake_sites < 1:
        raise ValueError("a synthetic trial needs at least one site of each kind")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    header, columns = _enrich(rng, int(n_enrich_sites))
    for trial, names in {
        "enrich": ("trial.yaml", "datapackage.json"),
        "retake": ("trial.yaml", "datapackage.json", "programme_theory.csv",
                   "retake_demographics.csv", "reason_theory_map.csv"),
    }.items():
        (out / trial).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(paths.DATA_DIR / trial / name, out / trial / name)
        (out / trial / "published_claims.yaml").write_text(CLAIMS_TEXT, encoding="utf-8")
    _write_csv(out / "enrich" / "enrich_sites.csv", header, columns)
    (r_header, r_columns), factor_rows = _retake(rng, int(n_retake_sites))
    _write_csv(out / "retake" / "retake_sites.csv", r_header, r_columns)
    with open(out / "retake" / "retake_site_factors.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["site", "factor", "present", "source_sentence"])
        w.writerows(factor_rows)
    return SyntheticTrial(out, int(n_enrich_sites), int(n_retake_sites), int(seed))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m casereport.trialdata.synthetic",
                                 description="Write a synthetic trial in the format of data/.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--enrich", type=int, default=7, help="ENRICH-like sites (default 7)")
    ap.add_argument("--retake", type=int, default=16, help="RETAKE-like sites (default 16)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    trial = make_trial(args.out_dir, args.enrich, args.retake, args.seed)
    print(f"wrote {trial.n_enrich_sites} ENRICH-like and {trial.n_retake_sites} RETAKE-like "
          f"sites (seed {trial.seed}) to {trial.data_dir}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
