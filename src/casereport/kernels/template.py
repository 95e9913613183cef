"""The warm kernel template: a process that imports the analysis stack once and forks kernels.

Run as ``python -m casereport.kernels.template SOCKET [POLL_SECONDS]`` by
``kernels.template_process`` (one per local build, shared by its workers; one per Dask
worker or other process using forked kernels). It imports the third-party
libraries the notebooks use and what ipykernel's start-up imports (never the package
itself, so each run's kernel still imports, and reports, exactly the ``casereport``
modules it uses), then listens on a Unix socket. Each request carries the kernel's
command line, environment, working folder and its stdin/stdout/stderr (passed as file
descriptors); the template forks, and the child becomes an ordinary ipykernel bound to
the connection file of the request. The request's connection receives the child's pid,
then its exit code as soon as the child exits (SIGCHLD wakes the loop).

What would make the fork unsafe is kept out of the template: native thread pools (BLAS,
OpenMP) are limited to one thread before numpy is imported and the thread count is checked
before the first fork; no event loop, ZeroMQ context or kernel object exists before the fork;
matplotlib is imported with the backend ipykernel selects and its rcParams untouched. The
child closes the template's sockets, takes its own process group, dies with the template
(``PR_SET_PDEATHSIG``), gets the request's environment, and drops every ``casereport``
module the template itself loaded. The template exits, killing its children, when its
stdin closes (the worker that started it is gone) or its parent changes.
"""

from __future__ import annotations

import array
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys

# Set before numpy and friends load: native thread pools started at import would not
# survive a fork. Children inherit one-thread pools; their environment is the kernel's.
THREAD_LIMITS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel sets

# The notebooks' third-party import stack (from ``python -X importtime`` of their import
# cells) and the kernel's own modules.
PRELOAD = [
    "numpy",
    "pandas",
    "scipy.stats",
    "scipy.optimize",
    # the statsmodels classes stats/ uses, not statsmodels.api (all of statsmodels)
    "statsmodels.genmod.generalized_linear_model",
    "statsmodels.genmod.families",
    "statsmodels.regression.linear_model",
    "statsmodels.tools.tools",
    "statsmodels.discrete.discrete_model",
    "matplotlib.pyplot",
    "seaborn",
    "yaml",
    "PIL.Image",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "matplotlib_inline.backend_inline",
    # what ipykernel's start-up imports (its debugger pulls in debugpy and pydevd, about
    # 0.05 s): listed by comparing sys.modules in a forked kernel with the template's
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.magics",
    "IPython.extensions.storemagic",
    "psutil",
    "sqlite3",
    "tornado.platform.asyncio",
    "tornado.queues",
    "xmlrpc.server",
    "encodings.idna",
    # what casereport's own modules import from third parties beyond the above
    "rich.console",
    "rich.table",
    "rich.markup",
]
PR_SET_PDEATHSIG = 1
# How often the loop wakes with nothing to do, to notice a parent that died without
# closing stdin. Kernel exits wake it at once (SIGCHLD), whatever this is.
POLL_SECONDS = 0.2


def die_with_parent(sig: int = signal.SIGKILL, expected_parent: int | None = None) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent exits (the one prctl
    helper: used by the template's kernels and the build's process-pool workers).

    Linux fires it when the parent *thread* that forked this process ends. With
    ``expected_parent``: False when the parent is already another process (it died before
    the signal was armed), so the caller exits. Off Linux: nothing, True."""
    if not sys.platform.startswith("linux"):
        return True
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    return expected_parent is None or os.getppid() == expected_parent


def native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def preload() -> None:
    os.environ.update(THREAD_LIMITS)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in PRELOAD:
        importlib.import_module(name)


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    fds = array.array("i")
    data = b""
    while not data.endswith(b"\n"):
        msg, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
        if not msg:
            raise EOFError("request connection closed")
        data += msg
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % fds.itemsize
                fds.frombytes(payload[:usable])
    return json.loads(data), list(fds)


def _become_kernel(req: dict, fds: list[int], template_pid: int) -> int:
    """In the forked child: turn into the ipykernel the request describes; return its code."""
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
    os.setsid()  # as jupyter_client starts kernels: signals reach this kernel alone
    if not die_with_parent(expected_parent=template_pid):
        return 1
    for target, fd in zip((0, 1, 2), fds, strict=False):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    sys.stdin, sys.stdout, sys.stderr = (
        open(0, closefd=False),  # noqa: SIM115 - the kernel replaces these itself
        open(1, "w", buffering=1, closefd=False),  # noqa: SIM115
        open(2, "w", buffering=1, closefd=False),  # noqa: SIM115
    )
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    for name in [n for n in sys.modules if n == "casereport" or n.startswith("casereport.")]:
        del sys.modules[name]
    if sys.path and sys.path[0] in ("", req["template_cwd"]):  # as ipykernel_launcher does
        del sys.path[0]
    import numpy

    numpy.random.seed()  # fresh global state, as a new interpreter has
    from ipykernel import kernelapp

    sys.argv = [kernelapp.__file__, *req["argv"]]
    try:
        # ipykernel read these trait defaults from the environment when the template
        # imported it; give them the kernel's values.
        kernelapp.IPKernelApp.launch_instance(
            parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0),
            interrupt=int(os.environ.get("JPY_INTERRUPT_EVENT") or 0),
        )
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def serve(sock_path: str, poll_seconds: float = POLL_SECONDS) -> None:
    """Fork a kernel per request on ``sock_path`` until stdin closes or the parent changes;
    ``poll_seconds`` bounds how long a dead parent goes unnoticed."""
    parent = os.getppid()
    started_in = os.getcwd()
    preload()
    # Everything the imports made moves to the collector's permanent generation (gc.freeze,
    # made for servers that fork): a kernel's collections then walk only its own objects,
    # not the template's. A full collection over those took about 0.13 s, and whether one
    # fell inside a run's cells hung on the template's allocation counts (importing less
    # here once made every case profile's cells 0.14 s slower). Objects stay shared too.
    gc.freeze()
    threads = native_threads()
    if threads != 1:  # a thread would not survive the fork: refuse (the client falls back)
        print(json.dumps({"error": f"{threads} native threads in the template"}), flush=True)
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(64)
    # A kernel's exit wakes the loop at once (not at the next poll), so its client learns
    # the exit code without waiting: SIGCHLD writes a byte to this pipe.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    print(json.dumps({"ready": True, "pid": os.getpid(), "threads": threads}), flush=True)
    children: dict[int, socket.socket] = {}
    me = os.getpid()
    stdin_open = True
    try:
        while stdin_open and os.getppid() == parent:
            watched = [listener.fileno(), wake_r, *[c.fileno() for c in children.values()], 0]
            ready, _, _ = select.select(watched, [], [], poll_seconds)
            if wake_r in ready:
                _drain(wake_r)
            if 0 in ready and not os.read(0, 4096):
                stdin_open = False
            for pid, conn in list(children.items()):
                if conn.fileno() in ready and not conn.recv(4096):  # client gone: kill it
                    _kill(pid)
            _reap(children)
            if listener.fileno() in ready:
                conn, _ = listener.accept()
                try:
                    req, fds = _recv_request(conn)
                    req["template_cwd"] = started_in
                except (EOFError, ValueError, OSError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        signal.set_wakeup_fd(-1)
                        os.close(wake_r)
                        os.close(wake_w)
                        listener.close()
                        for c in children.values():
                            c.close()
                        conn.close()
                        code = _become_kernel(req, fds, me)
                    finally:
                        os._exit(code)
                for fd in fds:
                    os.close(fd)
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                children[pid] = conn
    finally:
        for pid in children:
            _kill(pid)
        listener.close()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                code = os.waitstatus_to_exitcode(status)
                conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
            except OSError:
                pass
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], *(float(a) for a in sys.argv[2:3]))
    # Its kernels are killed and nothing is left to write: skip the interpreter's teardown
    # of the preloaded stack (about 0.5 s, which the build's end waited for).
    sys.stdout.flush()
    os._exit(0)
