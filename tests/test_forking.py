"""Kernels forked from a warm template (pipeline.forking): same runs, same results, no leaks.

Every run here is real: papermill executes notebooks in kernels forked from the template
of the process that runs them, compared with normally started kernels (``--no-fork``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest
import zmq

from casereport.kernels import client as kernel_client
from casereport.kernels import forking
from casereport.pipeline import executors
from casereport.primitives import labels, paths
from tests import test_executors
from tests.project import casereport, copy_built, edit_retake_minutes, make_project

pytestmark = pytest.mark.slow

RUN_DIR = re.compile(r"/tmp/casereport-run-[A-Za-z0-9_]+")


def _comparable(path: Path) -> dict:
    """An executed notebook without what differs between any two runs of it: timing
    metadata, the injected cell's random id and the run's temporary folder."""
    nb = json.loads(RUN_DIR.sub("RUN", path.read_text(encoding="utf-8")))
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("papermill", None)
        cell["metadata"].pop("execution", None)
        if "injected-parameters" in cell["metadata"].get("tags", []):
            cell.pop("id", None)
    return nb


def _processes_of(root: Path) -> list[int]:
    """Pids whose environment points the package at ``root`` (builds, workers, templates,
    kernels: a forked kernel keeps its template's initial environment block)."""
    marker = f"CASEREPORT_ROOT={root}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in env and state != "Z":
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _gone(root: Path, seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _processes_of(root)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return left


#: The runs the normal-kernel build executes: one of each notebook, and a case profile of
#: each trial. The other runs execute the same cells on other parameter sets (the ENRICH
#: sensitivity sets, the other sites), so a kernel difference would show in these; they
#: are restored from the forked build's cache, which keeps this build to 5 runs of 29.
NORMAL_RUNS = {"engagement_fidelity--primary", "mentoring_time--primary",
               "cross_case--primary", "case_profile--enrich-1", "case_profile--retake-1"}


@pytest.fixture(scope="module")
def two_builds(first_build, tmp_path_factory) -> tuple[Path, Path, str]:
    """The project built from an empty cache with forked kernels (the session's first
    build, conftest.py: forked is the default) and a copy of it rebuilt with normal kernels
    (built here), where the runs of ``NORMAL_RUNS`` execute again: their cache entries
    are taken out of the copy."""
    forked, out = first_build
    normal = copy_built(forked, tmp_path_factory.mktemp("normal") / "p", outputs=False)
    for meta in (normal / ".casereport-cache" / "runs").glob("*/*/meta.json"):
        if json.loads(meta.read_text(encoding="utf-8"))["run_id"] in NORMAL_RUNS:
            shutil.rmtree(meta.parent)
    ref = casereport(normal, "build", "--no-render", "--jobs", "2", "--no-fork")
    assert ref.returncode == 0, ref.stdout + ref.stderr
    return forked, normal, out.stdout


def _statuses(root: Path) -> dict[str, str]:
    m = json.loads((root / "build" / "manifest.json").read_text(encoding="utf-8"))
    return {r["run_id"]: r["status"] for r in m["runs"]}


def test_real_notebooks_on_forked_kernels_equal_normal_kernels(two_builds):
    """Oracle: the same runs with normally started kernels (--no-fork; the runs of
    ``NORMAL_RUNS`` executed again, the others restored from the cache). Results CSVs are
    byte-identical; executed notebooks are identical apart from timing metadata."""
    forked, normal, stdout = two_builds
    assert "not forked" not in stdout
    assert set(_statuses(forked).values()) == {labels.RAN}
    ran = {r for r, st in _statuses(normal).items() if st == labels.RAN}
    assert ran == NORMAL_RUNS
    a = sorted(p.name for p in (forked / "build" / "results").glob("*.csv"))
    assert a and a == sorted(p.name for p in (normal / "build" / "results").glob("*.csv"))
    for name in a:
        assert (forked / "build/results" / name).read_bytes() == (
            normal / "build/results" / name).read_bytes(), name
    runs = sorted((forked / "build" / "runs").glob("*.ipynb"))
    assert len(runs) == len(list((normal / "build" / "runs").glob("*.ipynb")))
    for nb in runs:
        assert _comparable(nb) == _comparable(normal / "build" / "runs" / nb.name), nb.name


def test_forked_runs_record_the_same_package_modules(two_builds):
    """The cache key's module list comes from what the kernel loaded; the template loads no
    package module into a kernel, so forked and normal runs list the same modules (the
    runs executed again on normal kernels are the ones compared)."""
    forked, normal, _ = two_builds
    def modules(root):
        m = json.loads((root / "build" / "manifest.json").read_text())
        return {r["run_id"]: r["package_modules"] for r in m["runs"]
                if r["run_id"] in NORMAL_RUNS}
    assert modules(forked) == modules(normal) and len(modules(normal)) == len(NORMAL_RUNS)


# The tiny notebook and results-writing cell of the executor tests, run here on forked kernels.
_notebook = test_executors._notebook
WRITE = test_executors.WRITE


def test_kernel_is_a_child_of_a_single_threaded_template(tmp_path):
    """The kernel's parent is this process's template, which had one native thread when it
    forked; the kernel starts from a clean namespace and its own process group, and the
    template's objects are in the collector's permanent generation (gc.freeze), so the
    kernel's collections never walk them: a template of 100,000 frozen objects or more."""
    nb = _notebook(tmp_path / "who.ipynb", WRITE, "import gc, os\nprint(os.getppid(), "
                   "os.getpgid(0) == os.getpid(), 'casereport' in dir(), gc.get_freeze_count())")
    out = executors.execute(executors.Task("who", nb, {}, cwd=str(tmp_path)))
    assert out.ok, out.error + out.kernel_log
    assert out.fallback == ""
    printed = nbformat.reads(out.notebook_json, 4).cells[-1].outputs[0]["text"].split()
    assert int(printed[0]) == forking.template_pid()
    assert printed[1:3] == ["True", "False"]
    assert int(printed[3]) >= 100_000
    assert forking.template(forking._template.interpreter).threads == 1


def test_failing_cell_reported_as_with_a_normal_kernel(tmp_path):
    """Oracle: the same notebook on a normally started kernel (fork=False)."""
    nb = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise KeyError('site 9')")
    outs = [executors.execute(executors.Task("bad", nb, {}, cwd=str(tmp_path), fork=f))
            for f in (True, False)]
    for o in outs:
        assert not o.ok and o.error == "KeyError: 'site 9'"
    a, b = outs
    assert (a.failed_cell, a.failed_source) == (b.failed_cell, b.failed_source)
    def errors(o):
        cells = nbformat.reads(o.notebook_json, 4).cells
        return [x for c in cells for x in c.get("outputs", []) if x.output_type == "error"]
    assert errors(a) and errors(a) == errors(b)
    assert "site 9" in str(errors(a))


def test_template_failure_falls_back_to_a_normal_kernel(tmp_path, monkeypatch):
    """A template that cannot start: the run still succeeds on a normal kernel, and the
    outcome says why (the build prints it once)."""
    def broken(self, interpreter):
        raise forking.TemplateError("template did not start: simulated")
    forking.stop_template()
    monkeypatch.setattr(forking.Template, "__init__", broken)
    monkeypatch.setattr(forking, "_failed", None)
    nb = _notebook(tmp_path / "ok.ipynb", WRITE)
    out = executors.execute(executors.Task("ok", nb, {}, cwd=str(tmp_path)))
    assert out.ok, out.error
    assert "simulated" in out.fallback
    assert out.results == {"r.csv": "analysis,quantity\na,b\n"}


def test_no_fork_environment_falls_back_with_one_line(tmp_path):
    """CASEREPORT_NO_FORK set: normal kernels, one line in the build output saying so."""
    root = make_project(tmp_path / "p")
    os.environ[forking.NO_FORK_ENV] = "1"
    try:
        out = casereport(root, "build", "--only", "mentoring_time")
    finally:
        del os.environ[forking.NO_FORK_ENV]
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [line for line in out.stdout.splitlines() if "not forked" in line]
    assert len(lines) == 1 and forking.NO_FORK_ENV in lines[0]


def _build_with_forked_kernels(root: Path) -> tuple[subprocess.Popen, list[int]]:
    """A real build of ``root`` in its own session, once a forked kernel is running:
    (the build process, its templates)."""
    env = {**os.environ, "CASEREPORT_ROOT": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "casereport", "build", "--no-render",
                             "--jobs", "2"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    templates: list[int] = []
    kernels: list[int] = []
    while time.monotonic() < deadline and not kernels:
        pids = _processes_of(root)
        # a forked kernel keeps its template's command line: tell them apart by parent
        named = [p for p in pids if "casereport.kernels.template" in _cmdline(p)]
        kernels = [p for p in pids if _ppid(p) in named]
        templates = [p for p in named if p not in kernels]
        time.sleep(0.2)
    assert templates and kernels, "no forked kernel appeared"
    return proc, templates


def test_killed_build_leaves_no_template_or_kernel(tmp_path):
    """A local build forks every kernel from one template, its own child (not one per
    worker: executors.shared_template). SIGKILL to the build's process group while kernels
    run: within seconds no process of this project copy (worker, template, forked kernel)
    is left in the process table."""
    root = make_project(tmp_path / "p")
    proc, templates = _build_with_forked_kernels(root)
    assert len(templates) == 1 and _ppid(templates[0]) == proc.pid
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _gone(root) == []


def test_build_killed_alone_takes_its_workers_templates_and_kernels(built_project, tmp_path):
    """SIGKILL to the build process only (not its group, as ``kill -9 PID`` does): its
    process-pool workers die with it (PR_SET_PDEATHSIG), their templates see stdin close
    and kill their kernels, so within 10 s no process of this project copy remains (the
    issue's bound); the next build then succeeds (expected: a clean run, exit 0). The copy
    holds the session build's cache with one RETAKE cell edited, so the builds execute the
    RETAKE runs only."""
    root = copy_built(built_project, tmp_path / "p", outputs=False)
    edit_retake_minutes(root)
    proc, _ = _build_with_forked_kernels(root)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _gone(root, seconds=10) == []
    out = casereport(root, "build", "--no-render", "--jobs", "2")
    assert out.returncode == 0, out.stdout + out.stderr


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_two_builds_at_once_one_refused_and_nothing_left(tmp_path):
    """Two builds of one project started together: the lock lets one run (exit 0) and
    refuses the other (exit 75); afterwards no template or kernel is left."""
    root = make_project(tmp_path / "p")
    env = {**os.environ, "CASEREPORT_ROOT": str(root), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "casereport", "build", "--only", "mentoring_time"]
    procs = [subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 75], outs
    assert any("another casereport build is running" in o for o in outs)
    assert _gone(root) == []


def test_template_restarts_when_package_source_or_lock_file_changes(monkeypatch):
    """A changed source key (hash of src/ and requirements/lock.txt) replaces the template:
    the next request gets a new process, and the old one is gone."""
    forking.warm()
    first = forking.template_pid()
    assert first is not None
    monkeypatch.setattr(forking, "source_key", lambda: "changed")
    forking.warm()
    second = forking.template_pid()
    assert second is not None and second != first
    assert not Path(f"/proc/{first}").exists() or "Z" in Path(f"/proc/{first}/stat").read_text()
    forking.stop_template()


def test_fork_unavailable_off_linux(monkeypatch):
    """Not Linux: no template is tried, and the reason names the platform."""
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "Linux" in (forking.fork_available() or "")


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "normal"])
def test_client_is_ready_with_nothing_left_on_its_channels(tmp_path, monkeypatch, fork):
    """``ForkKernelClient.wait_for_ready`` reads IOPub up to its marker request's idle status
    instead of waiting for 0.2 s of silence. Oracle: the state jupyter_client's own flush
    leaves, i.e. no message waiting on IOPub or shell (a 0.5 s read finds none), and the
    first execution gets its own output and reply. Same for a normally started kernel
    (``CASEREPORT_NO_FORK``), which the same manager serves."""
    if not fork:
        monkeypatch.setenv(forking.NO_FORK_ENV, "1")

    async def main() -> tuple[list[str], dict]:
        km = forking.ForkKernelManager(kernel_name=paths.KERNEL_NAME)
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            for channel in (kc.iopub_channel, kc.shell_channel):
                with pytest.raises(Empty):
                    await channel.get_msg(timeout=0.5)
            retry_ms = kc.shell_channel.socket.getsockopt(zmq.RECONNECT_IVL)
            assert retry_ms == kernel_client.RECONNECT_MS
            printed: list[str] = []
            def hook(msg: dict) -> None:
                if msg["msg_type"] == "stream":
                    printed.append(msg["content"]["text"])
            reply = await kc.execute_interactive("print(6 * 7)", output_hook=hook, timeout=60)
            return printed, reply
        finally:
            kc.stop_channels()
            await km.shutdown_kernel()

    printed, reply = asyncio.run(main())
    assert reply["content"]["status"] == "ok" and printed == ["42\n"]
    assert forking.take_fallback() == (None if fork else forking.fork_available())


def test_template_reports_a_kernel_exit_as_it_happens(tmp_path):
    """The template's loop sleeps up to its poll interval between checks; a kernel's exit
    wakes it at once (SIGCHLD). With the interval set to 120 s, a killed kernel's exit code
    (-SIGKILL, as ``subprocess`` reports it) reaches its client well within 60 s; without
    the wake-up it would arrive only at the next poll, 120 s after the template started."""
    from jupyter_client.connect import write_connection_file

    tpl = forking.Template([sys.executable], poll_seconds=120)
    try:
        conn_file, _ = write_connection_file(str(tmp_path / "kernel.json"), ip="127.0.0.1")
        pid, conn = tpl.fork(["-f", conn_file], dict(os.environ), str(tmp_path))
        kernel = forking.ForkedProcess(pid, conn)
        assert kernel.poll() is None
        os.kill(pid, signal.SIGKILL)
        codes: list[int] = []
        waiter = threading.Thread(target=lambda: codes.append(kernel.wait()), daemon=True)
        waiter.start()
        waiter.join(60)
        assert codes == [-signal.SIGKILL]
    finally:
        tpl.stop()
    assert not tpl.alive()


def test_the_template_module_imports_no_thread_pool():
    """The template limits native thread pools before it imports numpy; importing its own
    module (and so the casereport.pipeline package: build, plan, trials, codebook) must not
    import numpy first, or its pool thread makes the template refuse to fork (every build
    would then fall back to normal kernels). Oracle: /proc/self/task lists one thread."""
    code = ("import os, time, casereport.kernels.template; time.sleep(0.2); "
            "print(len(os.listdir('/proc/self/task')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={k: v for k, v in os.environ.items()
                                          if not k.endswith("_NUM_THREADS")})
    assert out.stdout.strip() == "1", out.stdout + out.stderr


def test_a_shared_template_is_waited_for_and_a_dead_one_named(tmp_path):
    """A template started without waiting (the build's, for all its workers): forking
    from its ``Shared`` description waits for its socket and returns a kernel that answers
    (its exit code reaches the client, as from an owned template); one whose process has
    exited raises TemplateError with what it wrote to stderr; one stopped before it listens
    is killed, not waited for (SIGKILL: -9)."""
    from jupyter_client.connect import write_connection_file

    tpl = forking.Template([sys.executable], wait=False)
    try:
        shared = tpl.shared()
        conn_file, _ = write_connection_file(str(tmp_path / "kernel.json"), ip="127.0.0.1")
        pid, conn = shared.fork(["-f", conn_file], dict(os.environ), str(tmp_path))
        assert _ppid(pid) == tpl.pid
        kernel = forking.ForkedProcess(pid, conn)
        os.kill(pid, signal.SIGKILL)
        assert kernel.wait() == -signal.SIGKILL
    finally:
        tpl.stop()
    assert not tpl.alive()

    (tmp_path / "stderr").write_text("ModuleNotFoundError: No module named 'numpy'\n")
    dead = forking.Shared([sys.executable], str(tmp_path / "none.sock"), _reaped_pid(),
                          str(tmp_path))
    with pytest.raises(forking.TemplateError, match="exited: ModuleNotFoundError"):
        dead.fork(["-f", conn_file], dict(os.environ), str(tmp_path))

    early = forking.Template([sys.executable], wait=False)
    early.stop()
    assert early.proc.returncode == -signal.SIGKILL


def _reaped_pid() -> int:
    """The pid of a child that has exited and been waited for (no such process now)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_shared_template_that_refused_is_named_by_its_refusal(tmp_path):
    """A template that refused to fork writes a JSON ``error`` line on its stdout (the
    template module's protocol) and exits; a worker forking from it gets that reason, not
    its stderr's chatter."""
    (tmp_path / "stdout").write_text(json.dumps({"error": "2 native threads in the template"}))
    (tmp_path / "stderr").write_text("0.00s - Debugger warning: frozen modules\n")
    dead = forking.Shared([sys.executable], str(tmp_path / "none.sock"), _reaped_pid(),
                          str(tmp_path))
    with pytest.raises(forking.TemplateError, match="exited: 2 native threads in the template$"):
        dead.fork(["-f", "unused.json"], dict(os.environ), str(tmp_path))
