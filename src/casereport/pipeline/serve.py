"""The preview's web server: the report on 127.0.0.1, a status endpoint, a reload script.

Every HTML page it serves gets one small script before ``</body>``. The script polls
``/__casereport/status`` (JSON: ``version``, ``building``, ``problem``) every half second:
when ``version`` differs from the one the page was served with (a new report was swapped
in), it reloads the page; otherwise it shows the state in a banner fixed at the top of the
page: "rebuilding", or the problem (a failed validation, a failing cell, a failed Quarto
render, claims that fail on these data) with its details, set as text (never as HTML:
the details quote data). The page under the banner stays the last good report, because
the build swaps a new report in only when it succeeded (``pipeline/state.swap_in``).

Polling a tiny JSON file rather than server-sent events keeps the server a plain
``http.server.ThreadingHTTPServer`` with no connection held open per tab, and a page
whose server went away simply keeps showing what it has.
"""

from __future__ import annotations

import html
import http.server
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATUS_PATH = "/__casereport/status"
BANNER_ID = "casereport-live"

SCRIPT = """<script>
(function () {
  var loaded = %(version)d;
  var colours = {building: "#e8f0fe", failed: "#fde8e8", warning: "#fff4c2"};
  var box = document.createElement("div");
  box.id = "%(banner)s";
  box.setAttribute("role", "status");
  box.style.cssText = "position:fixed;left:0;right:0;top:0;z-index:2147483647;" +
    "display:none;white-space:pre-wrap;max-height:45vh;overflow:auto;padding:.5rem 1rem;" +
    "font:14px/1.4 system-ui,sans-serif;color:#1d1d1f;border-bottom:2px solid #888";
  function attach() { if (!box.parentNode) document.body.appendChild(box); }
  function show(s) {
    var p = s.problem, state = p ? p.kind : (s.building ? "building" : "ok");
    box.dataset.state = state;
    if (state === "ok") { box.style.display = "none"; box.textContent = ""; return; }
    var text = p ? p.title + (p.detail ? "\\n\\n" + p.detail : "") : "";
    if (s.building) text = "Rebuilding: " + (s.reason || "a watched file changed") +
      "\\u2026" + (text ? "\\n\\n" + text : "");
    box.style.background = colours[state] || colours.failed;
    box.style.display = "block";
    if (box.textContent !== text) box.textContent = text;
  }
  function poll() {
    fetch("%(status)s", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.version !== loaded) { location.reload(); return; }
        attach(); show(s); setTimeout(poll, 500);
      }).catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
</script>
"""

PLACEHOLDER = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>casereport preview</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto">
<h1>casereport preview</h1><p>No report has been built yet: {what}.
This page reloads by itself when the first build succeeds.</p></body></html>
"""


@dataclass
class LiveState:
    """What the status endpoint reports; shared by the build loop and the server threads."""

    version: int = 0
    building: bool = False
    reason: str = ""
    problem: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self, name, value)

    def as_json(self) -> bytes:
        with self._lock:
            body = {"version": self.version, "building": self.building,
                    "reason": self.reason, "problem": self.problem}
        return json.dumps(body).encode()


def inject(page: str, version: int) -> str:
    """The page with the reload script before its last ``</body>`` (or at its end)."""
    script = SCRIPT % {"version": version, "status": STATUS_PATH, "banner": BANNER_ID}
    at = page.lower().rfind("</body>")
    return page + script if at < 0 else page[:at] + script + page[at:]


class _Handler(http.server.SimpleHTTPRequestHandler):
    state: LiveState
    root: Path  # the folder served (a path: the build swaps a new folder in under it)
    index: str  # the page served for "/"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        return  # the terminal is for the build's messages

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # a rebuilt figure keeps its file name
        super().end_headers()

    def _send(self, body: bytes, ctype: str, code: int = 200) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] == STATUS_PATH:
            self._send(self.state.as_json(), "application/json")
            return
        target = Path(self.translate_path(self.path))
        if target == self.root:
            target = self.root / self.index
        if target.suffix != ".html":
            super().do_GET()
            return
        version = self.state.version
        try:
            page = target.read_text(encoding="utf-8")
        except OSError:
            if target != self.root / self.index:
                super().do_GET()  # 404 as usual
                return
            what = "the first build is running" if self.state.building else "the build failed"
            page = PLACEHOLDER.format(what=html.escape(what))
        self._send(inject(page, version).encode("utf-8"), "text/html; charset=utf-8")


def start(root: Path, index: str, state: LiveState, port: int) -> http.server.HTTPServer:
    """Serve ``root`` (``/`` is ``index``) on 127.0.0.1:``port`` (0: a free port) in a
    daemon thread; the server's ``server_address`` holds the port. OSError if taken."""

    class Handler(_Handler):
        pass

    Handler.state, Handler.root, Handler.index = state, root, index

    def make(*args: Any, **kwargs: Any) -> _Handler:
        return Handler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), make)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="preview-http").start()
    return server
