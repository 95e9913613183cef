"""``casereport preview``: build, serve the report, and rebuild and reload on every change.

The loop: serve the report on 127.0.0.1 (``pipeline/serve.py``), run ``casereport build``
as a child process, then poll the watched files (``pipeline/watch.py``); when one changes
(and the files have settled), build again — the run cache re-executes only the stale runs,
then the report is re-rendered — and the open page reloads itself once the new report is
swapped in. A failed build (invalid data, a failing cell, a failed Quarto render) or a
claim that fails on the new data is shown in the page's banner and here, and the server
keeps running: the page under the banner is the last good report.

Why not ``quarto preview``: it re-renders the article when a ``.qmd`` changes but does not
run the project's pre-render step on those re-renders nor watch the data (quarto-cli
issues 4841 and 14406), so a data, parameter or notebook edit would not reach the page,
and it has no place to show a failed validation or cell. Our loop runs the whole build
(validate, audit, stale runs, claims, render) and reloads only after it has finished.

With Quarto the served folder is ``_manuscript/`` (the HTML manuscript and its notebook
pages); without it, ``build/`` with ``report-preview.html`` as its front page.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

from casereport.pipeline import serve, watch
from casereport.pipeline.state import rel
from casereport.primitives import paths

#: Give up waiting for the watched files to stop changing after this many seconds.
SETTLE = 3.0
#: Lines of the build's output kept for the banner.
KEPT = 60


def _served() -> tuple[Path, str]:
    from casereport.report import quarto

    if quarto.find_quarto() is not None:
        return paths.ROOT / "_manuscript", "index.html"
    return paths.BUILD_DIR, "report-preview.html"


def _identity(page: Path) -> tuple[int, int] | None:
    """Changes when the build swaps a new report in (a new folder: a new inode)."""
    try:
        st = page.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _say(text: str) -> None:
    print(f"preview   {text}", flush=True)


def _detail(lines: list[str]) -> str:
    """The build's output without its per-run progress lines: what went wrong."""
    keep = [ln for ln in lines if not ln.startswith(("  cached ", "  ran "))]
    return "\n".join(keep[-25:]).strip()


def _claims_problem() -> dict[str, str] | None:
    """Failed claims (or unresolved variables) of the build just made, as a banner."""
    try:
        problems = json.loads((paths.BUILD_DIR / "claims.json").read_text())["problems"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not problems:
        return None
    lines = [p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in problems]
    return {"kind": "warning", "detail": "\n".join(lines),
            "title": f"Built, but {len(lines)} problem(s) with the article's claims on these "
                     "data (the sentences are marked in the report):"}


def build_once(state: serve.LiveState, page: Path, args: list[str], reason: str) -> int:
    """Run ``casereport build`` as a child, echo its output, update ``state``; its exit code."""
    state.update(building=True, reason=reason)
    before = _identity(page)
    env = {**os.environ, "CASEREPORT_ROOT": str(paths.ROOT),
              "COLUMNS": str(shutil.get_terminal_size((200, 24)).columns)}
    proc = subprocess.Popen([sys.executable, "-m", "casereport", "build", *args],
                            cwd=paths.ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    tail: collections.deque[str] = collections.deque(maxlen=KEPT)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            tail.append(line.rstrip("\n"))
        code = proc.wait()
    except BaseException:  # the preview is stopping: so is its build (it survives a kill)
        proc.kill()
        proc.wait()
        raise
    sys.stdout.flush()
    new_report = _identity(page) != before
    if code == 0:
        problem = _claims_problem()
    else:
        problem = {"kind": "failed", "detail": _detail(list(tail)),
                   "title": f"The build failed (exit {code}); this page is the last good "
                            "report. Fix the problem below and save: the preview rebuilds."}
    state.update(building=False, reason="", problem=problem,
                 version=state.version + 1 if new_report else state.version)
    if code != 0:
        _say(f"[build failed, exit {code}] the page keeps the last good report and shows "
             "the error; waiting for the next change")
    else:
        _say(("report updated; the page reloads" if new_report else "report unchanged")
             + (f" ({problem['title']})" if problem else ""))
    return code


def _settled(data_dir: Path | None, snap: watch.Snapshot) -> watch.Snapshot:
    """Wait until two looks agree (an editor may save in several writes)."""
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        time.sleep(watch.POLL / 2)
        again = watch.look(data_dir)
        if again == snap:
            break
        snap = again
    return snap


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the preview as Ctrl-C does


def run(port: int, open_browser: bool, jobs: int | None, data_dir: Path | None) -> int:
    """Serve and rebuild until Ctrl-C (or SIGTERM); exit code 0, or 2 when the port is taken."""
    signal.signal(signal.SIGTERM, _stop)
    root, index = _served()
    state = serve.LiveState()
    try:
        server = serve.start(root, index, state, port)
    except OSError as exc:
        print(f"casereport: error: cannot serve on 127.0.0.1:{port} ({exc.strerror}); "
              "choose another port with --port", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    args = [*(["--jobs", str(jobs)] if jobs else []),
            *(["--data-dir", str(data_dir)] if data_dir else [])]
    watched = (rel(data_dir) if data_dir else "data") + "/, params/, notebooks/, src/, " \
        "index.qmd and its includes, _quarto.yml, _quarto/, references.bib"
    _say(f"serving {url} ({rel(root)}/)")
    _say(f"watching {watched}; Ctrl-C stops")
    try:
        snap = watch.look(data_dir)
        build_once(state, root / index, args, "the first build")
        if open_browser:
            webbrowser.open(url)
        while True:
            time.sleep(watch.POLL)
            now = watch.look(data_dir)
            if now == snap:
                continue
            now = _settled(data_dir, now)
            edited = watch.changed(snap, now)
            snap = now  # taken before the build: an edit during it triggers the next one
            names = ", ".join(rel(p) for p in edited[:3]) + (
                f" and {len(edited) - 3} more" if len(edited) > 3 else "")
            _say(f"changed: {names}; rebuilding")
            build_once(state, root / index, args, f"{names} changed")
    except KeyboardInterrupt:
        _say("stopped")
        return 0
    finally:
        server.shutdown()
