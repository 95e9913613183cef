"""Kernels forked from a warm template: a ``jupyter_client`` provisioner, manager and client.

``ForkProvisioner`` is a ``LocalProvisioner`` whose ``launch_kernel`` asks this process's
template (``pipeline.template``, started on first use, restarted when the package source
or the lock file changes) to fork a kernel instead of starting a new interpreter. The
connection file, ports, environment and working folder are the ones ``LocalProvisioner``
prepared, so papermill and nbclient drive the kernel exactly like a normally started one.
``ForkKernelManager`` is the ``AsyncKernelManager`` that uses it; papermill takes it as
``kernel_manager_class``. It and its ``ForkKernelClient`` wait for the kernel's own
replies and exit instead of jupyter_client's fixed intervals (0.2 s of IOPub silence at
start, 0.1 s polls at shutdown), which were most of a forked run's overhead. When forking
is unavailable (not Linux, another interpreter than this one in the kernelspec, or the
template failed) the provisioner starts the normal kernel and records why
(``take_fallback()``).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import multiprocessing.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type, default

from casereport.kernels.client import fast_reconnect_context
from casereport.primitives import paths

# An environment variable turning forking off (the build's --no-fork sets the option).
NO_FORK_ENV = "CASEREPORT_NO_FORK"
READY_TIMEOUT = 300  # importing the stack on a loaded 2-core machine
# How often shutdown checks whether the kernel has exited (jupyter_client: every 0.1 s; the
# template reports a forked kernel's exit as it happens, so a short interval costs nothing).
EXIT_POLL_SECONDS = 0.005


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

    def __init__(self, interpreter: list[str], poll_seconds: float | None = None) -> None:
        self.interpreter = interpreter
        self.dir = Path(tempfile.mkdtemp(prefix="casereport-template-"))
        self.socket = str(self.dir / "fork.sock")
        self.key = source_key()
        poll = [] if poll_seconds is None else [str(poll_seconds)]
        self.proc = subprocess.Popen(
            [*interpreter, "-m", "casereport.kernels.template", self.socket, *poll],
            stdin=subprocess.PIPE,  # closed when this process dies: the template exits
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(paths.ROOT),
        )
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

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].decode() if out else ""


_lock = threading.Lock()
_template: Template | None = None
_failed: str | None = None  # why the template is unusable in this process
_last_fallback: str | None = None


def template(interpreter: list[str]) -> Template:
    """This process's template for ``interpreter`` (the kernelspec's command before
    ``-m ipykernel_launcher``), started or restarted (package source or lock file changed,
    other interpreter, template gone) as needed."""
    global _template, _failed
    with _lock:
        if _failed is not None:
            raise TemplateError(_failed)
        if _template is not None and (
            not _template.alive()
            or _template.key != source_key()
            or _template.interpreter != interpreter
        ):
            _template.stop()
            _template = None
        if _template is None:
            try:
                _template = Template(interpreter)
                _stop_at_exit()
            except (OSError, TemplateError) as exc:
                _failed = str(exc)
                raise TemplateError(_failed) from exc
        return _template


def warm(kernel_name: str = paths.KERNEL_NAME) -> None:
    """Start this process's template now (a process pool's initializer), so the first run
    does not wait for it. Any failure is left for the first launch to report."""
    if fork_available() is not None:
        return
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        cmd = KernelSpecManager().get_kernel_spec(kernel_name).argv
        if _unforkable(cmd) is None:
            template(cmd[: cmd.index("ipykernel_launcher") - 1])
    except Exception:  # noqa: BLE001 - reported by the launch that falls back
        pass


def template_pid() -> int | None:
    """The pid of this process's template, if one is running (for tests and benchmarks)."""
    tpl = _template
    return tpl.pid if tpl is not None and tpl.alive() else None


def stop_template() -> None:
    global _template
    with _lock:
        if _template is not None:
            _template.stop()
            _template = None


atexit.register(stop_template)
_finalizer_pid = 0


def _stop_at_exit() -> None:
    """Process-pool workers end through multiprocessing, which runs its finalizers but not
    atexit (and drops the finalizers a forked worker inherited): register one in this
    process, so its template is stopped and waited for (its CPU time is accounted)."""
    global _finalizer_pid
    if _finalizer_pid != os.getpid():
        multiprocessing.util.Finalize(None, stop_template, exitpriority=10)
        _finalizer_pid = os.getpid()


def fork_available() -> str | None:
    """None when kernels can be forked here, else the reason they cannot."""
    if not sys.platform.startswith("linux"):
        return f"fork-based kernels need Linux (this is {sys.platform})"
    if os.environ.get(NO_FORK_ENV):
        return f"{NO_FORK_ENV} is set"
    return None


def take_fallback() -> str | None:
    """Why the last kernel of this process was started normally (then forget it)."""
    global _last_fallback
    reason, _last_fallback = _last_fallback, None
    return reason


class ForkedProcess:
    """The parts of ``subprocess.Popen`` that ``LocalProvisioner`` uses, for a forked kernel.

    The kernel is the template's child; the template reports its exit code on ``conn``."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid, self.conn, self.returncode = pid, conn, None
        self._buf = b""

    def _read(self, block: bool) -> None:
        self.conn.setblocking(block)
        try:
            chunk = self.conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the template died; its children die with it (PDEATHSIG)
            self.returncode = -signal.SIGKILL if self.returncode is None else self.returncode
            return
        self._buf += chunk
        if self._buf.endswith(b"\n"):
            self.returncode = json.loads(self._buf.splitlines()[-1])["exit"]

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read(block=False)
        if self.returncode is not None:
            self.conn.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        while self.returncode is None:
            self._read(block=True)
        self.conn.close()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """``LocalProvisioner`` that forks the kernel from the warm template when it can."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        global _last_fallback
        reason = fork_available() or _unforkable(cmd)
        if reason is None:
            try:
                at = cmd.index("ipykernel_launcher") - 1
                tpl = template(cmd[:at])
                env = {k: str(v) for k, v in (kwargs.get("env") or os.environ).items()}
                env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher
                cwd = str(kwargs.get("cwd") or os.getcwd())
                pid, conn = tpl.fork(cmd[at + 2 :], env, cwd)
            except TemplateError as exc:
                reason = str(exc)
            else:
                self.process = ForkedProcess(pid, conn)
                self.pid = self.pgid = pid
                self.cwd = cwd
                return self.connection_info
        _last_fallback = reason
        return await super().launch_kernel(cmd, **kwargs)


def _unforkable(cmd: list[str]) -> str | None:
    """Why this kernel command cannot be served by a template of this interpreter."""
    if "ipykernel_launcher" not in cmd or cmd[cmd.index("ipykernel_launcher") - 1] != "-m":
        return f"the kernelspec does not start ipykernel ({' '.join(cmd)})"
    if not all(a.startswith("-") for a in cmd[1 : cmd.index("ipykernel_launcher") - 1]):
        return f"the kernelspec runs more than an interpreter ({' '.join(cmd)})"
    return None


class ForkKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """The kernel manager papermill uses for forked kernels (``kernel_manager_class``).

    Its client is ``ForkKernelClient``, its control socket also retries every
    ``kernel_client.RECONNECT_MS``, and shutdown checks for the kernel's exit every
    ``EXIT_POLL_SECONDS`` rather than every 0.1 s; both serve normally started kernels
    (the fallback) just as well.
    """

    client_class = DottedObjectName("casereport.kernels.client.ForkKernelClient")
    client_factory = Type(klass="casereport.kernels.client.ForkKernelClient")

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:  # the control socket, as the client's
        self._created_context = True
        return fast_reconnect_context()

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, EXIT_POLL_SECONDS))

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = ForkProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)
