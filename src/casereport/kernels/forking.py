"""Kernels forked from a warm template: a ``jupyter_client`` provisioner, manager and client.

``ForkProvisioner`` is a ``LocalProvisioner`` whose ``launch_kernel`` asks a template
(``kernels.template``) to fork a kernel instead of starting a new interpreter: in a
build's process-pool workers the one template the build started for them all
(:func:`start_shared`, :func:`use_shared`), elsewhere this process's own (started on first
use, restarted when the package source or the lock file changes). The
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
import json
import multiprocessing.util
import os
import signal
import socket
import sys
import threading
import uuid
from typing import Any

import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type, default

from casereport.kernels.client import fast_reconnect_context
from casereport.kernels.template_process import (
    Shared,
    Template,
    TemplateError,
    source_key,
)
from casereport.primitives import paths

# An environment variable turning forking off (the build's --no-fork sets the option).
NO_FORK_ENV = "CASEREPORT_NO_FORK"
# How often shutdown checks whether the kernel has exited (jupyter_client: every 0.1 s; the
# template reports a forked kernel's exit as it happens, so a short interval costs nothing).
EXIT_POLL_SECONDS = 0.005

_lock = threading.Lock()
_template: Template | None = None
_shared: Shared | None = None  # the build's template, in its process-pool workers
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
        if _shared is not None and _shared.interpreter == interpreter:
            return _shared  # type: ignore[return-value]  # forks as a Template does
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


def start_shared(kernel_name: str = paths.KERNEL_NAME) -> Template | None:
    """Start one template for a whole build, without waiting for it to import the stack
    (the build validates its data meanwhile): its :meth:`Template.shared` goes to every
    process-pool worker (:func:`use_shared`), which forks its kernels from it instead of
    starting a template of its own. None when kernels cannot be forked here; the workers
    then start their own and report why."""
    if fork_available() is not None:
        return None
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        cmd = KernelSpecManager().get_kernel_spec(kernel_name).argv
        if _unforkable(cmd) is not None:
            return None
        return Template(cmd[: cmd.index("ipykernel_launcher") - 1], wait=False)
    except Exception:  # noqa: BLE001 - the workers start their own and report any failure
        return None


def use_shared(shared: Shared) -> None:
    """Fork this process's kernels from ``shared`` (a pool worker's initializer)."""
    global _shared
    _shared = shared


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
