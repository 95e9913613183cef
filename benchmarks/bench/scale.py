"""Section `scale`: the engagement-fidelity notebook and case profiles on synthetic trials of
growing size, in a kernel and in-process, with peak memory and profiles.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .common import PROJECT, TARGETS, WORK, _fmt_s, log, median, ratio
from .floor import run_worker
from .rebuild import _top_functions


def _scale_params(notebook: str, data_dir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from casereport.pipeline import plan as runs

    defaults = runs.notebook_defaults(PROJECT / "notebooks" / f"{notebook}.ipynb")
    params = {k: v for k, v in defaults.items() if k not in runs.BUILD_OWNED}
    for k, v in defaults.items():
        if isinstance(v, str) and v.startswith("data/"):
            params[k] = str(data_dir / Path(v).relative_to("data"))  # trial folders nest
    params.update(extra)
    params["parameter_set"] = f"scale-{notebook}"
    return params


def scale_analyses() -> dict[str, tuple[str, dict[str, Any]]]:
    have = {p.stem for p in (PROJECT / "notebooks").glob("*.ipynb")}
    out = {}
    if "engagement_fidelity" in have:
        out["engagement_fidelity"] = ("engagement_fidelity", {})
    if "case_profile" in have:
        out["case_profile enrich site 1"] = ("case_profile", {"trial": "enrich", "site": "1"})
        out["case_profile retake site 1"] = ("case_profile", {"trial": "retake", "site": "1"})
    return out


def _profile_tables(prof: Path) -> dict[str, list]:
    return {
        "profile_top_cumulative": _top_functions(prof, 25),
        "profile_top_casereport": _top_functions(prof, 15, prefer=("casereport",)),
        "profile_top_self": sorted(_top_functions(prof, 100000), key=lambda r: -r[1])[:15],
    }


def section_scale(repeats: int, sizes: list[int], profile: bool, limit: float,
                  big_repeats: int) -> dict[str, Any]:
    from casereport.trialdata import synthetic

    analyses = scale_analyses()
    if not analyses:
        raise RuntimeError("neither engagement_fidelity nor case_profile is in notebooks/")
    res: dict[str, Any] = {"repeats": repeats, "big_repeats": big_repeats, "limit": limit,
                           "seed": synthetic.DEFAULT_SEED, "sizes": sizes, "analyses": {}}
    stopped: dict[str, int] = {}
    synth = WORK / "synthetic"
    for n in sizes:
        t0 = time.perf_counter()
        trial = synthetic.make_trial(synth / f"sites-{n}", n, n)
        gen = time.perf_counter() - t0
        reps = repeats if n <= 100 else min(repeats, big_repeats)
        for label, (nb, extra) in analyses.items():
            tag = f"{n}-{label.replace(' ', '_')}"
            params_file = synth / f"params-{tag}.json"
            params_file.write_text(json.dumps(_scale_params(nb, trial.data_dir, extra)))
            nb_path = str(PROJECT / "notebooks" / f"{nb}.ipynb")
            slot = res["analyses"].setdefault(label, {}).setdefault(str(n), {
                "generate_seconds": gen, "kernel": [], "inproc": []})
            if label in stopped:
                slot["skipped"] = f"the {stopped[label]:,}-site run exceeded {limit:.0f} s"
                log(f"  scale {n:>6} sites  {label:<28} skipped ({slot['skipped']})")
                continue
            wlimit = ["--limit", str(limit)]
            for _ in range(reps):
                k = run_worker(["_scale", "kernel", nb_path, str(params_file), *wlimit],
                               timeout=2 * limit + 120)
                slot["kernel"].append(k)
                if "timeout" in k:
                    break
                slot["inproc"].append(run_worker(["_scale", "inproc", nb_path, str(params_file),
                                                  *wlimit], timeout=2 * limit + 120))
            if any("timeout" in x for x in slot["kernel"] + slot["inproc"]):
                stopped[label] = n
                slot["timed_out"] = True
                if profile:  # where the time goes, up to the limit
                    prof = synth / f"profile-{tag}.prof"
                    run_worker(["_scale", "inproc", nb_path, str(params_file), "--profile",
                                str(prof), "--limit", str(min(limit, 150))],
                               timeout=limit + 120)
                    if prof.exists():
                        slot.update(_profile_tables(prof))
            k = median([s.get("seconds") for s in slot["kernel"]])
            p = median([s.get("seconds") for s in slot["inproc"]])
            slot["median"] = {
                "kernel_seconds": k, "inproc_seconds": p,
                "kernel_peak_rss_mib": median([s.get("peak_rss_mib") for s in slot["kernel"]]),
                "inproc_peak_rss_mib": median([s.get("peak_rss_mib") for s in slot["inproc"]]),
                "inproc_rss_after_imports_mib": median(
                    [s.get("rss_after_imports_mib") for s in slot["inproc"]]),
                "notebook_bytes": median([s.get("out_bytes") for s in slot["kernel"]]),
            }
            log(f"  scale {n:>6} sites  {label:<28} kernel {_fmt_s(k)}  in-process {_fmt_s(p)}"
                + ("  (time limit reached)" if slot.get("timed_out") else ""))
    for label, by_n in res["analyses"].items():
        lo = by_n.get(str(min(sizes)), {}).get("median", {})
        hi = by_n.get(str(max(sizes)), {}).get("median", {})
        by_n["ratio"] = {m: ratio(hi.get(f"{m}_seconds"), lo.get(f"{m}_seconds"))
                         for m in ("kernel", "inproc")}
        if label in stopped:
            continue
        missed = any(x is None or x > TARGETS["scale_ratio"] for x in by_n["ratio"].values())
        if profile and missed:
            n = max(sizes)
            tag = f"{n}-{label.replace(' ', '_')}"
            prof = synth / f"profile-{tag}.prof"
            nb, _extra = analyses[label]
            run_worker(["_scale", "inproc", str(PROJECT / "notebooks" / f"{nb}.ipynb"),
                        str(synth / f"params-{tag}.json"), "--profile", str(prof),
                        "--limit", str(limit)], timeout=2 * limit + 120)
            if prof.exists():
                by_n[str(n)].update(_profile_tables(prof))
    return res
