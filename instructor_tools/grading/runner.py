"""Run notebooks for grading: one worker process and one fresh, sandboxed kernel per run.

Every run gets its own job folder on the grader's side, which the kernel never sees whole,
and a runtime folder beside it (``$TMPDIR/cg-*``, a short path): the kernel's connection file
and sockets, the one host folder it may write. The job folder holds::

    job/startup.py   the IPython startup file that caps printed output
    job/*.pid        the kernels' process groups, for the grader to kill (outside runtime/)
    job/sandbox      the kernel's work, HOME and TMPDIR, only when running unsandboxed

Under bubblewrap (:mod:`isolation`) the kernel sees ``/course/helpers`` (the course package
without the lesson's answers, :mod:`answers`), ``/course/data``, the Python installation and
``/job``, a private tmpfs of ``Limits.disk_mb`` that holds its work, HOME and TMPDIR.
In a pod (``--sandbox pod``) the kernel runs on the pod's own filesystem, in ``job/sandbox``, and
Landlock (required) lets it read only what :func:`isolation.pod_read_paths` names.

The kernel gets a clean environment (no variable of the grader's is passed on but PATH),
``COURSE_PROBE=1`` so that checks report values instead of comparing them, and the smoke
run profile, so a lesson's heavy cells take seconds, in the solution run as in the
students' runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers import ROOT

from . import isolation as iso
from .answers import without_answers

SANDBOX_LAUNCHER = Path(__file__).with_name("sandbox.py")


#: Each process's address space is bounded only as a backstop, at this multiple of ``Limits.memory_mb``
#: and never under ``ADDRESS_SPACE_FLOOR_MB``: libraries map far more than they use (``import torch``
#: of a CUDA build maps 3.2 GB and touches 0.5 GB), so the limit that matters is on resident memory.
ADDRESS_SPACE_FACTOR, ADDRESS_SPACE_FLOOR_MB = 4, 32 << 10

#: The grader's own backstop, past a run's budget: the worker ends the run at its budget (the kernel killed
#: at once); this is only for a worker that cannot, and is killed with its kernel.
BACKSTOP_S = 3.0


@dataclass
class Limits:
    """What one run may use: time per cell and in all, memory, processes, disk, output; the profile; the sandbox.

    ``memory_mb`` bounds what a job's processes *use*: their resident memory, all together,
    polled every 0.2 s by the worker's watchdog, which kills the sandbox above it (the verdict
    then says that the kernel ran out of its ``memory_mb``). It does not bound the address
    space they *map*: a CUDA build of PyTorch maps 3.2 GB on import, so an address-space limit
    at 4096 MB made lessons 08 and 10 thrash until their timeout. Each process's address space
    is only capped far above (:meth:`address_space_mb`), a backstop for what one process could
    touch were the watchdog ever starved; between two polls a submission that allocates as fast
    as it can overshoots by what it touches in 0.2 s (about a GB a core), and should the host run
    short meanwhile, the kernel is the system's first out-of-memory victim (:mod:`sandbox`).
    """

    timeout: float = 60.0  # seconds per cell
    memory_mb: int = 4096  # resident memory of all of a job's processes together (the watchdog)
    probe_mb: int = 64  # probe output kept per submission; other output is dropped
    output_kb: int = 1024  # printed output a kernel may send per stream
    profile: str = "smoke"
    processes: int = 1024  # processes and threads of one job
    disk_mb: int = 512  # the job's private tmpfs (and the largest file it may write)
    budget: float | None = None  # seconds for a whole run; default :meth:`budget_s`
    isolation: iso.Isolation = field(default_factory=iso.detect)

    def address_space_mb(self) -> int:
        """The backstop on each process's address space: 4 × ``memory_mb``, at least 32 GB (see the class)."""
        return max(ADDRESS_SPACE_FACTOR * self.memory_mb, ADDRESS_SPACE_FLOOR_MB)

    def budget_s(self) -> float:
        """The hard wall-clock budget of one run, whatever it does: 6 × the cell timeout, plus 30 s to start."""
        return self.budget if self.budget is not None else 6 * self.timeout + 30


# An IPython startup file: ordinary output beyond a budget is dropped in the kernel, before
# it is sent (a 200 MB print costs the kernel a string, not the grader 200 MB of messages).
# A submission could undo this; the worker's own budget (kernel.py) is the one enforced.
OUTPUT_CAP = """\
import sys

def _course_grader_cap(stream, left=[{limit}]):
    write = stream.write

    def capped(text):
        if left[0] > 0:
            write(text[: left[0]])
            if len(text) >= left[0]:
                write("\\n[the rest of the output was dropped by the grader]\\n")
            left[0] -= len(text)
        return len(text)

    stream.write = capped

_course_grader_cap(sys.stdout)
_course_grader_cap(sys.stderr)
del _course_grader_cap
"""


def _kernel_env(job_dir: str, course: str, limits: Limits) -> dict:
    home, tmp = f"{job_dir}/home", f"{job_dir}/tmp"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp,
        "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "COURSE_PROBE": "1", "COURSE_PROFILE": limits.profile, "COURSE_STUB_ERRORS": "raise",
        "MPLBACKEND": "agg", "MPLCONFIGDIR": f"{home}/.matplotlib", "IPYTHONDIR": f"{home}/.ipython",
        "XDG_CACHE_HOME": f"{home}/.cache", "KERAS_HOME": f"{home}/.keras", "TORCH_HOME": f"{home}/.torch",
        "PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": course,
    }
    for name in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


#: The package a submission may import: everything the lessons use, and nothing of the grader's
#: (which lives in instructor_tools/, beside it). Copied whole into every sandbox.
LEARNER_PACKAGE = "helpers"


def copy_learner_package(course: Path, dest: Path) -> None:
    """Copy the package a submission may import (``helpers``) from ``course`` to ``dest``."""
    shutil.copytree(course / LEARNER_PACKAGE, dest / LEARNER_PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))


def prepare(batch_dir: Path, name: str, limits: Limits, course: Path) -> tuple[Path, dict]:
    """A fresh job folder under ``batch_dir`` and the job description the worker needs.

    ``course``: a folder with the ``helpers`` package and ``data`` the kernel may use (:func:`lesson_course`).
    """
    job = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=batch_dir))
    os.chmod(job, 0o755)
    # Beside the job, not in it: Unix socket paths must stay under 108 bytes, whatever the batch folder's path.
    runtime = Path(tempfile.mkdtemp(prefix="cg-"))
    uid = limits.isolation.job_uid()
    if uid:  # a fresh folder, before any process of the job exists: nothing can have been swapped in it
        os.chown(runtime, uid, uid)
    startup = job / "startup.py"
    startup.write_text(OUTPUT_CAP.format(limit=limits.output_kb << 10))
    if limits.isolation.kind == "bubblewrap":
        job_dir, course_path = iso.JOB, iso.COURSE
        prefix = iso.bwrap_argv(limits.isolation, package=course / LEARNER_PACKAGE, data=(course / "data").resolve(),
                                runtime=runtime, launcher=SANDBOX_LAUNCHER, startup=startup, tmpfs_mb=limits.disk_mb)
        prefix += [sys.executable, iso.LAUNCHER, "--startup", iso.STARTUP]
    else:
        job_dir, course_path = str(job / "sandbox"), str(course)
        prefix = [sys.executable, str(SANDBOX_LAUNCHER), "--startup", str(startup)]
    prefix += ["--job", job_dir, "--uid", str(uid), "--address-space-mb", str(limits.address_space_mb()),
               "--file-mb", str(limits.disk_mb), "--processes", str(limits.processes),
               "--cpu-s", str(int(limits.budget_s() * (os.cpu_count() or 1)) + 1)]
    if limits.isolation.kind == "pod":  # Landlock is the kernel's only confinement there: required, reads bounded
        reads = iso.pod_read_paths(course, (course / "data").resolve())
        prefix += ["--landlock", "require", *(a for path in reads for a in ("--read", path))]
    else:  # an extra layer where the kernel has it; --unsandboxed must run without it too
        prefix += ["--landlock", "auto"]
    return job, {
        "launcher": prefix,
        "cwd": str(job),
        "runtime_dir": str(runtime),
        "pid_dir": str(job),  # the kernel cannot write here
        "env": _kernel_env(job_dir, course_path, limits),
        "memory_mb": limits.memory_mb,
        "address_space_mb": limits.address_space_mb(),
        "processes": limits.processes,
        "timeout": limits.timeout,
        "budget_s": limits.budget_s(),
        "probe_budget_bytes": limits.probe_mb << 20,
        # No message the kernel sends may be larger than the probes it may send, and a MB (kernel.py).
        "max_message_bytes": (limits.probe_mb + 1) << 20,
        # What the kernel may write on the host counts against its disk: its socket folder (Landlock leaves it
        # only sockets, where the system has Landlock) and, unsandboxed, its work folder; with its tmpfs's use.
        "disk_mb": limits.disk_mb,
        "disk_folders": [str(runtime)] + ([job_dir] if limits.isolation.kind != "bubblewrap" else []),
        "tmpfs": iso.JOB if limits.isolation.kind == "bubblewrap" else None,
    }


def snapshot(batch_dir: Path, course: Path = ROOT) -> Path:
    """A copy of the course's helpers and data for one batch.

    The solution run and every submission's run then use the same helpers, even when the
    course folder changes while a long batch runs (a lesson's author commits, a pull).
    """
    copy = batch_dir / "snapshot"
    copy_learner_package(course, copy)
    shutil.copytree((course / "data").resolve(), copy / "data")
    return copy


def lesson_course(batch_dir: Path, frozen: Path, lesson: str) -> Path:
    """What the kernels grading ``lesson`` may import: the snapshot's package without its answers, and the data."""
    course = batch_dir / "courses" / lesson[:2]
    if not course.exists():
        without_answers(frozen / LEARNER_PACKAGE, course / LEARNER_PACKAGE, lesson)
        (course / "data").symlink_to(frozen / "data", target_is_directory=True)
    return course


class Stopped(RuntimeError):
    """The batch is being stopped (SIGTERM, Ctrl-C): no new worker starts."""


class Workers:
    """The worker processes of one batch, so that all of them can be ended at once.

    A worker leads a process group of its own (so that it is killed as one, with what it
    started), which no Ctrl-C in the terminal nor signal to the grader reaches: when the
    grader is stopped (:mod:`instructor_tools.grade` turns SIGTERM into ``SystemExit``,
    Ctrl-C is ``KeyboardInterrupt``), :func:`batch.grade_folder` calls :meth:`stop`, which kills
    every live worker; each worker's sandbox dies with it (bubblewrap's ``--die-with-parent``)
    and :func:`run_cells` then kills the kernels' process groups and removes the job's folders.
    Should the grader be killed outright, each worker dies with it (:mod:`kernel`, ``--parent``).
    """

    def __init__(self) -> None:
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.stopped = False

    def start(self, argv: list[str], **popen) -> subprocess.Popen:
        """Start one worker, unless the batch is being stopped (:class:`Stopped`)."""
        with self._lock:  # stop() cannot miss a worker started at the same moment
            if self.stopped:
                raise Stopped("the grader is being stopped")
            worker = subprocess.Popen(argv, **popen)
            self._live.add(worker)
            return worker

    def finished(self, worker: subprocess.Popen) -> None:
        """Forget a worker that has been waited for."""
        with self._lock:
            self._live.discard(worker)

    def stop(self) -> None:
        """Kill every live worker (and, with it, its sandbox); start no more."""
        with self._lock:
            self.stopped = True
            live = list(self._live)
        for worker in live:
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except OSError:
                pass


def run_cells(batch_dir: Path, name: str, cells: list[str], limits: Limits, course: Path = ROOT,
              workers: Workers | None = None) -> list[dict]:
    """Run ``cells`` in a new worker and kernel; one result dict per cell (see kernel.py).

    ``course``: where the helpers and data come from (a :func:`lesson_course` when grading a batch).
    ``workers``: the batch's workers, to end them all when the grader is stopped (:class:`Stopped`
    once it is).
    """
    workers = workers or Workers()
    job, spec = prepare(batch_dir, name, limits, course)
    spec["cells"] = cells
    spec["started"] = time.monotonic()  # the budget counts from here, the worker's start included
    try:
        worker = workers.start(
            [sys.executable, "-m", "instructor_tools.grading.kernel", "--parent", str(os.getpid())], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    except BaseException:
        shutil.rmtree(job, ignore_errors=True)
        shutil.rmtree(spec["runtime_dir"], ignore_errors=True)
        raise
    try:
        # The worker keeps the budget itself and reports what ran; this is the backstop if it cannot.
        left = spec["started"] + limits.budget_s() + BACKSTOP_S - time.monotonic()
        out, err = worker.communicate(json.dumps(spec).encode(), timeout=max(left, 1.0))
        results = json.loads(out)["cells"]
    except subprocess.TimeoutExpired:
        _kill_job(worker, job)
        results = _not_run(f"the whole run took longer than its budget ({limits.budget_s():g} s)", len(cells))
    except (json.JSONDecodeError, KeyError, TypeError):
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        results = _not_run(_worker_failed(worker.returncode, tail), len(cells))
    finally:
        _kill_job(worker, job)
        workers.finished(worker)
        # Every process of the job is gone (its sandbox dies with its launcher): nothing can race this
        # removal, which never follows a link (shutil's rmtree works by file descriptor on Linux).
        shutil.rmtree(job, ignore_errors=True)
        shutil.rmtree(spec["runtime_dir"], ignore_errors=True)
    return results


def _worker_failed(code: int | None, tail: list[str]) -> str:
    """Why the worker gave no results: out of its memory means that the kernel sent it too much (kernel.py)."""
    if code == -signal.SIGABRT or any("MemoryError" in line or "Out of memory" in line for line in tail):
        return ("the kernel was stopped: it sent more than the grader's worker may hold in memory "
                f"({' | '.join(tail)[-200:]})")
    return f"the grader's worker failed: {' | '.join(tail)}"


def _not_run(reason: str, cells: int) -> list[dict]:
    return [{"status": "not_run", "reason": reason, "probes": []} for _ in range(cells)]


def _kill_job(worker: subprocess.Popen, job: Path) -> None:
    """Stop the worker and any kernel it left behind (each kernel's launcher leads its own process group)."""
    for pid_file in job.glob("*.pid"):  # written by the worker, in a folder no kernel can write
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
