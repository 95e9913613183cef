"""The kernel template process as the processes that use it see it: start, fork, stop.

:class:`Template` starts ``python -m casereport.kernels.template`` (the template itself) and
owns it: it waits until the template listens, or (a build's one template for all its
workers) returns at once. :class:`Shared` is what another process needs to fork kernels
from a template it does not own. ``kernels.forking`` decides which template a kernel comes
from; this module only talks to one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from casereport.primitives import paths

READY_TIMEOUT = 300  # importing the stack on a loaded 2-core machine
READY_POLL_SECONDS = 0.005  # how often a worker looks for the shared template's socket


class TemplateError(RuntimeError):
    """The template could not be started or could not fork a kernel."""


def source_key() -> str:
    """Hash of the package source and the lock file: a change restarts the template."""
    h = hashlib.sha256()
    for f in [*sorted(paths.SRC_DIR.rglob("*.py")), paths.ROOT / "requirements" / "lock.txt"]:
        if f.is_file():
            h.update(str(f.relative_to(paths.ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


class Template:
    """One template process owned by this process."""

    def __init__(
        self, interpreter: list[str], poll_seconds: float | None = None, wait: bool = True
    ) -> None:
        """Start the template; with ``wait`` return once it listens. Without, return at
        once (its output goes to files in its folder): it is then a :class:`Shared`
        template, whose users wait for its socket (``forking.start_shared``)."""
        self.interpreter = interpreter
        self.dir = Path(tempfile.mkdtemp(prefix="casereport-template-"))
        self.socket = str(self.dir / "fork.sock")
        self.key = source_key()
        poll = [] if poll_seconds is None else [str(poll_seconds)]
        out = (subprocess.PIPE, subprocess.PIPE) if wait else (
            open(self.dir / "stdout", "wb"), open(self.dir / "stderr", "wb"))  # fmt: skip
        self.proc = subprocess.Popen(
            [*interpreter, "-m", "casereport.kernels.template", self.socket, *poll],
            stdin=subprocess.PIPE,  # closed when this process dies: the template exits
            stdout=out[0],
            stderr=out[1],
            cwd=str(paths.ROOT),
        )
        self.pid, self.threads = self.proc.pid, None
        if not wait:
            for f in out:
                f.close()  # type: ignore[union-attr]
            return
        line = _readline(self.proc, READY_TIMEOUT)
        try:
            info = json.loads(line)
        except ValueError:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            self.stop()
            raise TemplateError(f"template did not start: {(err or line).strip()[-300:]}") from None
        if "error" in info:
            self.stop()
            raise TemplateError(f"template refused to fork: {info['error']}")
        self.pid, self.threads = info["pid"], info["threads"]
        self.proc.stderr.close()  # type: ignore[union-attr]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, socket.socket]:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.socket)
        except OSError as exc:
            conn.close()
            raise TemplateError(f"fork request failed: {exc}") from exc
        return _request_fork(conn, argv, env, cwd)

    def shared(self) -> Shared:
        """What another process needs to fork kernels from this template."""
        return Shared(self.interpreter, self.socket, self.pid, str(self.dir))

    def stop(self) -> None:
        if not os.path.exists(self.socket):  # still importing, no kernel: no need to wait
            self.proc.kill()
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _request_fork(
    conn: socket.socket, argv: list[str], env: dict[str, str], cwd: str
) -> tuple[int, socket.socket]:
    """Ask the template on ``conn`` (connected) to fork a kernel: its pid and ``conn``,
    on which the template reports the kernel's exit code."""
    try:
        msg = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n"
        # stdin reads nothing (jupyter_client closes the kernel's stdin pipe); stdout
        # and stderr are this process's, as a started kernel inherits them
        with open(os.devnull, "rb") as null:
            socket.send_fds(conn, [msg], [null.fileno(), 1, 2])
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                raise TemplateError("the template closed the connection before forking")
            reply += chunk
        return json.loads(reply)["pid"], conn
    except (OSError, ValueError, KeyError) as exc:
        conn.close()
        raise TemplateError(f"fork request failed: {exc}") from exc


@dataclass(frozen=True)
class Shared:
    """A template another process started (the build's, one for all its pool workers):
    plain data, passed to each worker; kernels are forked over its socket, which appears
    once the template has imported the stack. Its owner stops it."""

    interpreter: list[str]
    socket: str
    pid: int
    dir: str

    def alive(self) -> bool:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"  # exited, not yet waited for by its owner

    def _why_gone(self) -> str:
        """Its refusal (a JSON ``error`` on stdout) or the end of its stderr (a traceback);
        its ``ready`` line alone says nothing about why it exited."""
        said = ""
        with contextlib.suppress(OSError, ValueError, IndexError):
            lines = (Path(self.dir) / "stdout").read_text(errors="replace").splitlines()
            said = json.loads(lines[0]).get("error", "")
        with contextlib.suppress(OSError):
            said = said or (Path(self.dir) / "stderr").read_text(errors="replace").strip()
        return f"the build's kernel template exited{': ' + said[-300:] if said else ''}"

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, socket.socket]:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(self.socket)
                break
            except (FileNotFoundError, ConnectionRefusedError):  # still importing
                conn.close()
                if not self.alive():
                    raise TemplateError(self._why_gone()) from None
                if time.monotonic() > deadline:
                    raise TemplateError(
                        f"the build's kernel template was not ready in {READY_TIMEOUT} s"
                    ) from None
                time.sleep(READY_POLL_SECONDS)
            except OSError as exc:
                conn.close()
                raise TemplateError(f"fork request failed: {exc}") from exc
        return _request_fork(conn, argv, env, cwd)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].decode() if out else ""
