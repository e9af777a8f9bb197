"""Run notebooks for grading: one worker process and one fresh, sandboxed kernel per run.

Every run gets its own temporary folder::

    job/course/helpers   a copy of the course's helpers (without the grader), read-only
    job/course/data      a link to the batch's copy of the course's data, read-only
    job/course/work      the kernel's working directory   } the only places the kernel
    job/home, job/tmp    its HOME and TMPDIR               } may write (Landlock)
    job/runtime          the kernel's connection file

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
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT

from .kernel import INTERRUPT_GRACE_S, MAX_RESTARTS, START_TIMEOUT_S
from .sandbox import landlock_abi


@dataclass
class Limits:
    """What one run may use: time per cell, memory, output; the run profile; whether Landlock is required."""

    timeout: float = 60.0  # seconds per cell
    memory_mb: int = 4096  # address space of the kernel
    probe_mb: int = 64  # probe output kept per submission; other output is dropped
    output_kb: int = 1024  # printed output a kernel may send per stream
    profile: str = "smoke"
    landlock: str = "require"  # require | off (see sandbox.py)

    def hard_limit(self, cells: int) -> float:
        """A last resort for the whole run, far above what per-cell limits allow."""
        return START_TIMEOUT_S + (self.timeout + INTERRUPT_GRACE_S + 5) * max(cells, 1) * (MAX_RESTARTS + 1)


def sandbox_available() -> bool:
    """Whether this system has Landlock, without which a kernel could write outside its folder."""
    return landlock_abi() >= 1


def _rmtree(path: Path) -> None:
    def unlock(func, name, _exc):  # a submission may have made its files read-only
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
            func(name)
        except OSError:
            pass

    shutil.rmtree(path, onerror=unlock)


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


def _kernel_env(job: Path, limits: Limits) -> dict:
    home, tmp = job / "home", job / "tmp"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home), "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp),
        "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "COURSE_PROBE": "1", "COURSE_PROFILE": limits.profile, "COURSE_STUB_ERRORS": "raise",
        "MPLBACKEND": "agg", "MPLCONFIGDIR": str(home / ".matplotlib"), "IPYTHONDIR": str(home / ".ipython"),
        "XDG_CACHE_HOME": str(home / ".cache"), "KERAS_HOME": str(home / ".keras"), "TORCH_HOME": str(home / ".torch"),
        "PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(job / "course"),
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


def prepare(batch_dir: Path, name: str, limits: Limits, course: Path = ROOT) -> tuple[Path, dict]:
    """A fresh job folder under ``batch_dir`` and the job description the worker needs."""
    job = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=batch_dir))
    os.chmod(job, 0o755)
    copy = job / "course"
    copy_learner_package(course, copy)
    (copy / "data").symlink_to((course / "data").resolve(), target_is_directory=True)
    writable = [copy / "work", job / "home", job / "tmp"]
    for d in writable:
        d.mkdir()
    startup = job / "home" / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-course-grader.py").write_text(OUTPUT_CAP.format(limit=limits.output_kb << 10))
    return job, {
        "cwd": str(copy / "work"),
        "write_dirs": [str(d) for d in writable],
        "runtime_dir": str(job / "runtime"),
        "env": _kernel_env(job, limits),
        "memory_mb": limits.memory_mb,
        "landlock": limits.landlock,
        "timeout": limits.timeout,
        "probe_budget_bytes": limits.probe_mb << 20,
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


def run_cells(batch_dir: Path, name: str, cells: list[str], limits: Limits, course: Path = ROOT) -> list[dict]:
    """Run ``cells`` in a new worker and kernel; one result dict per cell (see kernel.py).

    ``course``: where the helpers and data come from (a :func:`snapshot` when grading a batch).
    """
    job, spec = prepare(batch_dir, name, limits, course)
    spec["cells"] = cells
    # Far above what the run may use legitimately (every core busy all along), so it only
    # ends what outlives it: a process a submission detached from the kernel.
    spec["cpu_s"] = int(limits.hard_limit(len(cells)) * (os.cpu_count() or 1))
    worker = subprocess.Popen(
        [sys.executable, "-m", "instructor_tools.grading.kernel"], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        out, err = worker.communicate(json.dumps(spec).encode(), timeout=limits.hard_limit(len(cells)))
        results = json.loads(out)["cells"]
    except subprocess.TimeoutExpired:
        _kill_job(worker, job)
        results = _not_run("the whole run took too long and was stopped", len(cells))
    except (json.JSONDecodeError, KeyError, TypeError):
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        results = _not_run(f"the grader's worker failed: {' | '.join(tail)}", len(cells))
    finally:
        _kill_job(worker, job)
        _rmtree(job)
    return results


def _not_run(reason: str, cells: int) -> list[dict]:
    return [{"status": "not_run", "reason": reason, "probes": []} for _ in range(cells)]


def _kill_job(worker: subprocess.Popen, job: Path) -> None:
    """Stop the worker and any kernel it left behind (each kernel leads its own process group)."""
    for pid_file in (job / "runtime").glob("*.pid"):
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
