"""results.md from results.json: one table per section, the targets met or missed, and the
notes; and the summary printed at the end of a run.
"""

from __future__ import annotations

from typing import Any

from .builds import builds_markdown
from .common import NOTES_MD, TARGETS, _fmt_s, _fmt_x, _kib, _mib, _verdict, ratio
from .figures import figures_markdown
from .fork import fork_markdown
from .odds import odds_markdown
from .spelling import spelling_markdown
from .venv import venv_markdown
from .views import views_markdown


def write_markdown(results: dict[str, Any]) -> str:
    L: list[str] = []
    meta = results.get("meta", {})
    L += ["# Benchmark results", "",
          f"Produced by `.venv/bin/python benchmarks/run.py {meta.get('argv', '')}` "
          f"on {meta.get('date', '?')} (commit `{meta.get('commit', '?')}`), "
          f"{meta.get('cpus', '?')} cores, {meta.get('memory_gib', '?')} GiB, Python "
          f"{meta.get('python', '?')}, papermill {meta.get('papermill', '?')}, "
          f"nbconvert {meta.get('nbconvert', '?')}. Medians over the repeats stated per "
          "section; raw samples in `results.json`. Load average (1 min) is noted per section "
          "because other work shared the machine.", ""]
    s = results.get("sections", {})
    verdicts = []
    # sections not re-run are kept from earlier runs: say when each one ran, and how loaded
    L += ["Sections in this file, each with the commit measured, the time its run finished "
          "and the 1-minute load average before and after it: "
          + "; ".join(f"`{k}` commit `{v.get('commit', '?')}`, {v.get('finished', '?')} "
                      f"(load {v.get('load', '?')})" for k, v in s.items()) + ".", ""]

    if "clean" in s:
        c = s["clean"]
        m, r = c["median"], c["ratios"]
        L += ["## 1. Clean build against papermill, nbconvert and the in-process floor", "",
              f"{c['runs']} notebook runs; `casereport build --no-render --jobs {c['jobs']}` "
              "from an empty cache against the same runs executed one after another; "
              f"{c['repeats']} round(s), methods interleaved; load {c.get('load')}.", "",
              "| method | median wall | ratio build / method | samples |", "|---|---|---|---|"]
        labels = {"pipeline": "`casereport build --no-render` (process pool)",
                  "papermill": "`papermill` CLI, serial", "nbconvert":
                  "`jupyter nbconvert --execute`, serial", "floor":
                  "floor: one process, no kernels"}
        for k, lab in labels.items():
            rr = 1.0 if k == "pipeline" else ratio(m["pipeline"], m[k])
            L.append(f"| {lab} | {_fmt_s(m[k], 1)} | {_fmt_x(rr)} | "
                     f"{', '.join(f'{x:.1f}' for x in c['samples'][k])} |")
        ren = c["render"]
        L += ["", f"Render step (report fragments, the pandoc preview and, with Quarto on "
              f"PATH as in this run, Quarto's HTML and PDF), "
              f"timed separately: {_fmt_s(ren['render_seconds'])} (cached `build` "
              f"{_fmt_s(ren['median']['build_render_cached'])} minus cached `build --no-render` "
              f"{_fmt_s(ren['median']['build_norender_cached'])}).", ""]
        ok = r["pipeline_vs_papermill"] is not None and \
            r["pipeline_vs_papermill"] <= TARGETS["clean_vs_papermill"]
        verdicts.append(("Clean build ≤ 0.6 × serial papermill",
                         _verdict(ok, f"{_fmt_x(r['pipeline_vs_papermill'])}")))
        cells = c["per_run"].get("cells", {})
        if cells:
            L += ["Where a run's time goes (papermill per-cell durations in the executed "
                  "notebooks of a clean build, two runs at a time; 'run' is the worker's wall "
                  "time for the run, kernel start and shutdown included):", "",
                  "| notebook | runs | mean run | mean in cells | of which import cells "
                  "| mean outside cells | slowest cells (mean) |", "|---|---|---|---|---|---|---|"]
            for nb, v in sorted(cells.items()):
                n = v["runs"]
                slow = "; ".join(f"{d:.2f}s `{src}`" for d, src in v.get("slowest_cells", []))
                L.append(f"| {nb} | {n} | {v['run_seconds'] / n:.2f} s | "
                         f"{v['cell_seconds'] / n:.2f} s | {v['import_seconds'] / n:.2f} s | "
                         f"{(v['run_seconds'] - v['cell_seconds']) / n:.2f} s | {slow} |")
            L.append("")
        fl = c["per_run"].get("floor", {})
        if fl:
            L += [f"Floor: `import casereport` {_fmt_s(c['per_run'].get('floor_imports'))}, "
                  f"then the {len(fl)} runs' cells in {_fmt_s(sum(fl.values()))} (the first "
                  "run's import cell imports pandas, seaborn, statsmodels once; mean "
                  f"{_fmt_s(sum(fl.values()) / len(fl))} per run); the rest of the floor's "
                  "wall time is the interpreter start and reading the notebooks.", ""]

    if "overhead" in s:
        o = s["overhead"]
        m, d = o["median"], o["derived"]
        L += ["## Per-run overhead", "", f"{len(o['samples']['python_start'])} repeat(s); "
              f"load {o.get('load')}.", "",
              "| what | median |", "|---|---|",
              f"| Python start (`python -c pass`) | {_fmt_s(m['python_start'])} |",
              f"| `import nbformat` (fresh process) | {_fmt_s(m['import_nbformat'])} |",
              f"| `import papermill` (fresh process) | {_fmt_s(m['import_papermill'])} |",
              f"| `import casereport.pipeline.plan` (fresh process) | "
              f"{_fmt_s(m['import_casereport_runs'])} |",
              f"| notebook import stack (pandas, statsmodels, seaborn, casereport) in a fresh "
              f"process | {_fmt_s(m['import_notebook_stack'])} |",
              f"| kernel start + stop, empty notebook (papermill API) | "
              f"{_fmt_s(d['kernel_start_stop'])} |",
              f"| imports inside the kernel (imports notebook − empty) | "
              f"{_fmt_s(d['kernel_imports'])} |",
              f"| papermill CLI process on top of the API (CLI − API, empty) | "
              f"{_fmt_s(d['papermill_cli_process'])} |",
              f"| `papermill` CLI, empty notebook | {_fmt_s(m['papermill_cli_empty'])} |",
              f"| `papermill` CLI, imports notebook | {_fmt_s(m['papermill_cli_imports'])} |",
              f"| `jupyter nbconvert --execute`, empty notebook | "
              f"{_fmt_s(m['nbconvert_cli_empty'])} |", ""]

    if "noop" in s:
        n = s["noop"]
        m = n["median"]
        L += ["## 2. No-op rebuild", "", f"{n['repeats']} repeat(s); load {n.get('load')}.", "",
              "| build | clean | no-op | speed-up |", "|---|---|---|---|",
              f"| `casereport build --no-render` | {_fmt_s(n['clean_norender'], 1)} | "
              f"{_fmt_s(m['noop_norender'])} | {_fmt_x(n['speedup_norender'])} |",
              f"| `casereport build` (with render; clean = clean `--no-render` + render) | "
              f"{_fmt_s(n['clean_render_estimate'], 1)} | {_fmt_s(m['noop_render'])} | "
              f"{_fmt_x(n['speedup_render'])} |", ""]
        ok1 = m["noop_norender"] is not None and m["noop_norender"] < TARGETS["noop_seconds"]
        ok2 = n["speedup_norender"] is not None and \
            n["speedup_norender"] >= TARGETS["noop_speedup"]
        verdicts.append(("No-op rebuild < 1 s", _verdict(
            ok1, f"{_fmt_s(m['noop_norender'])} without render, "
            f"{_fmt_s(m['noop_render'])} with render")))
        verdicts.append(("No-op ≥ 20 × faster than clean", _verdict(
            ok2, f"{_fmt_x(n['speedup_norender'])} without render, "
            f"{_fmt_x(n['speedup_render'])} with render")))
        if n.get("profile_top"):
            L += ["cProfile of one no-op `build --no-render` (cumulative seconds, casereport "
                  "functions and imports; profiling inflates the times):", "",
                  "| cumulative | self | function |", "|---|---|---|"]
            L += [f"| {ct:.3f} | {tt:.3f} | `{fn}` |" for ct, tt, fn in n["profile_top"]]
            L.append("")

    if "change" in s:
        ch = s["change"]
        L += ["## 3. Rebuild after changing one data file", "",
              f"One cell of row 1 edited (a new value each repeat); `build --no-render`; "
              f"{ch['repeats']} repeat(s); load {ch.get('load')}.", "",
              "| file changed | runs re-executed | runs declaring the file as input | "
              "only those? | median time |", "|---|---|---|---|---|"]
        all_ok = True
        for f, v in ch["files"].items():
            all_ok &= bool(v["only_readers"])
            L.append(f"| `{f}` | {v['executed']} of {v['total_runs']} | "
                     f"{v['declared_readers']} | "
                     f"{'yes' if v['only_readers'] else 'NO'}"
                     f"{'' if v['all_readers'] else ' (not all of them ran)'} | "
                     f"{_fmt_s(v['median'], 1)} |")
        L.append("")
        for f, v in ch["files"].items():
            L.append(f"- `{f}` re-executed: {', '.join(v['executed_runs'])}")
        L.append("")
        verdicts.append(("One-file change re-executes only its readers",
                         _verdict(all_ok, ", ".join(f"{f}: {v['executed']}/{v['total_runs']}"
                                                    for f, v in ch["files"].items()))))

    if "scale" in s:
        sc = s["scale"]
        L += ["## 4. Scale: synthetic trials", "",
              f"`casereport.trialdata.synthetic.make_trial(dir, n, n, seed={sc['seed']})` "
              "(n ENRICH-like and n RETAKE-like sites); each analysis's data-path parameters "
              "point at the "
              f"synthetic files. {sc['repeats']} repeat(s); load {sc.get('load')}. "
              "*kernel*: papermill run in the `casereport` kernel (kernel start and imports "
              "included), peak RSS of the kernel process (`getrusage(RUSAGE_CHILDREN)` in a "
              "wrapper process); *in-process*: the notebook's cells executed in a fresh "
              "Python process after the imports (floor method), peak RSS of that process "
              "(`RUSAGE_SELF`).", "",
              "| analysis | sites | kernel wall | in-process wall | kernel peak RSS | "
              "in-process peak RSS (after imports) | executed notebook |",
              "|---|---|---|---|---|---|---|"]
        for label, by_n in sc["analyses"].items():
            for n in sc["sizes"]:
                v = by_n.get(str(n))
                if not v:
                    continue
                if v.get("skipped"):
                    L.append(f"| {label} | {n:,} | not run: {v['skipped']} | | | | |")
                    continue
                mm = v["median"]
                over = f"> {sc['limit']:.0f} s (stopped)"
                kt = over if mm["kernel_seconds"] is None and v.get("timed_out") \
                    else _fmt_s(mm["kernel_seconds"])
                it = over if mm["inproc_seconds"] is None and v.get("timed_out") \
                    else _fmt_s(mm["inproc_seconds"])
                L.append(
                    f"| {label} | {n:,} | {kt} | {it} | {_mib(mm['kernel_peak_rss_mib'])} | "
                    f"{_mib(mm['inproc_peak_rss_mib'])} ({_mib(mm['inproc_rss_after_imports_mib'])}"
                    f") | {_kib(mm['notebook_bytes'])} |")
        L.append("")
        worst_ok = True
        details = []
        for label, by_n in sc["analyses"].items():
            r = by_n.get("ratio", {})
            if r.get("kernel") is None:
                done = [n for n in sc["sizes"] if by_n.get(str(n), {}).get("median", {})
                        .get("kernel_seconds") is not None]
                big = max(done) if done else None
                lo_s = by_n.get(str(min(sc["sizes"])), {}).get("median", {}).get(
                    "kernel_seconds")
                hi_s = by_n.get(str(big), {}).get("median", {}).get("kernel_seconds")
                at = (f", already {_fmt_x(ratio(hi_s, lo_s))} at {big:,} sites"
                      if big and big != min(sc["sizes"]) else "")
                details.append(f"{label}: {max(sc['sizes']):,} sites not reached{at}")
            else:
                details.append(f"{label}: {_fmt_x(r.get('kernel'))} kernel, "
                               f"{_fmt_x(r.get('inproc'))} in-process")
            worst_ok &= r.get("kernel") is not None and r["kernel"] <= TARGETS["scale_ratio"]
        L += [f"Largest / smallest size: {'; '.join(details)}.", ""]
        verdicts.append((f"{max(sc['sizes']):,} sites within 3 × the {min(sc['sizes'])}-site "
                         "time (kernel wall)", _verdict(worst_ok, "; ".join(details))))
        for label, by_n in sc["analyses"].items():
            for n in sc["sizes"]:
                v = by_n.get(str(n), {})
                if not v.get("profile_top_casereport"):
                    continue
                cut = " (stopped at the time limit)" if v.get("timed_out") else ""
                L += [f"cProfile, {label}, {n:,} sites, in-process{cut} "
                      "(cumulative / self seconds; casereport functions, then the largest "
                      "self times):", "", "| cumulative | self | function |", "|---|---|---|"]
                seen = set()
                for ct, tt, fn in (v["profile_top_casereport"] + v.get("profile_top_self", [])[:8]):
                    if fn not in seen:
                        seen.add(fn)
                        L.append(f"| {ct:.3f} | {tt:.3f} | `{fn}` |")
                L.append("")

    for key, fn in (("odds", odds_markdown), ("builds", builds_markdown),
                    ("spelling", spelling_markdown), ("venv", venv_markdown),
                    ("views", views_markdown), ("figures", figures_markdown)):
        if key in s:
            sl, sv = fn(s[key])
            L += sl
            verdicts += sv
    if "fork" in s:
        fl, fv = fork_markdown(s["fork"])
        L += fl
        verdicts += fv
    if verdicts:
        L[4:4] = ["## Targets", "", "| target | result |", "|---|---|",
                  *[f"| {t} | {v} |" for t, v in verdicts], ""]
    if NOTES_MD.exists():  # the hand-written reading of these figures
        L += [NOTES_MD.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(L)


def summary_lines(results: dict[str, Any]) -> list[str]:
    s = results.get("sections", {})
    out = []
    if "clean" in s:
        c = s["clean"]
        m = c["median"]
        out.append(f"clean build {m['pipeline']:.1f}s | papermill serial {m['papermill']:.1f}s "
                   f"| nbconvert serial {m['nbconvert']:.1f}s | floor {m['floor']:.1f}s")
        out.append("  build/papermill {:.2f}  build/nbconvert {:.2f}  build/floor {:.2f}".format(
            *[c["ratios"][k] for k in ("pipeline_vs_papermill", "pipeline_vs_nbconvert",
                                       "pipeline_vs_floor")]))
        out.append(f"  render step {c['render']['render_seconds']:.2f}s")
    if "odds" in s:
        o = s["odds"]["models"]
        out.append(f"odds-ratio models: old {o['old']['first']:.3f}s, new {o['new']['first']:.3f}s "
                   f"(first call)")
    if "builds" in s:
        b = s["builds"]
        out.append(f"clean build: new {b['median']['new']:.1f}s, old {b['median']['old']:.1f}s, "
                   f"floor {b['median']['floor']:.1f}s; render "
                   f"{b['render']['median']['sequential']:.1f}s one after the other, "
                   f"{b['render']['median']['parallel']:.1f}s at once")
    if "overhead" in s:
        d = s["overhead"]["derived"]
        out.append(f"per run: kernel start/stop {d['kernel_start_stop']:.2f}s, kernel imports "
                   f"{d['kernel_imports']:.2f}s, papermill CLI process "
                   f"{d['papermill_cli_process']:.2f}s")
    if "noop" in s:
        n = s["noop"]
        out.append(f"no-op build --no-render {n['median']['noop_norender']:.2f}s "
                   f"(speed-up {n['speedup_norender'] or 0:.1f}x); with render "
                   f"{n['median']['noop_render']:.2f}s (speed-up {n['speedup_render'] or 0:.1f}x)")
    if "change" in s:
        for f, v in s["change"]["files"].items():
            out.append(f"change {f}: {v['executed']}/{v['total_runs']} re-executed "
                       f"(readers {v['declared_readers']}, only readers: {v['only_readers']}) "
                       f"in {v['median']:.1f}s")
    if "scale" in s:
        for label, by_n in s["scale"]["analyses"].items():
            r = by_n.get("ratio", {})
            out.append(f"scale {label}: {max(s['scale']['sizes'])}/{min(s['scale']['sizes'])} "
                       f"sites kernel {_fmt_x(r.get('kernel'))}, in-process "
                       f"{_fmt_x(r.get('inproc'))}")
    return out
