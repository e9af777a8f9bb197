"""The limits a run is promised (--memory, --disk, --budget), attacked the ways a red team found around them.

Each test runs a planted notebook (a few cells) through ``run_cells`` in the real sandbox and
measures from the grader's side what the kernel got: memory held outside any process's
resident set, bytes written on the host, the worker's own memory, the run's wall time.
They need bubblewrap, as test_sandbox.py does.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from instructor_tools.grading import Limits, runner
from instructor_tools.grading.runner import run_cells


@pytest.fixture
def batch(tmp_path, monkeypatch):
    """The batch folder, and the kernels' socket folders (``cg-*``) beside it, so that both can be measured."""
    os.chmod(tmp_path, 0o711)
    (tmp_path / "runtime").mkdir(mode=0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "runtime"))
    return tmp_path


class Sampler(threading.Thread):
    """Polls ``measure()`` every 0.1 s while a run goes on, keeping the largest value seen."""

    def __init__(self, measure):
        super().__init__(daemon=True)
        self.measure, self.peak, self.done = measure, 0, threading.Event()

    def run(self):
        while not self.done.wait(0.1):
            try:
                self.peak = max(self.peak, self.measure())
            except OSError:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()


def bytes_on_disk(folder: Path) -> int:
    """What the files under ``folder`` hold on the host (allocated blocks, so sparse files count as written)."""
    total = 0
    for path, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_blocks * 512
            except OSError:
                pass
    return total


def worker_peak_rss() -> int:
    """The largest peak resident memory (VmHWM) of this process's grading workers now alive."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"instructor_tools.grading.kernel" not in (entry / "cmdline").read_bytes():
                continue
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines())
        except OSError:
            continue
        if int(status["PPid"]) == os.getpid():
            peak = max(peak, int(status["VmHWM"].split()[0]) << 10)
    return peak


HOLD_MB, MEMORY_MB = 800, 400  # held outside any resident set, under a limit of half of it

MEMFD = f"""
import os, time
held = [os.memfd_create("held") for _ in range({HOLD_MB // 200})]  # each file under --disk, its largest
for fd in held:  # written, never mapped: shared memory in no process's RSS
    for _ in range(200):
        os.write(fd, b"x" * (1 << 20))
time.sleep(3)  # several of the watchdog's polls
"""

SYSV = f"""
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
segment = libc.shmget(0, {HOLD_MB} << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
assert segment >= 0, ctypes.get_errno()
address = libc.shmat(segment, None, 0)
ctypes.memset(address, 1, {HOLD_MB} << 20)
libc.shmdt(ctypes.c_void_p(address))  # detached: held by the IPC namespace, in no process at all
time.sleep(3)
"""

DEV_SHM = f"""
import time
for i in range({HOLD_MB // 200}):
    with open(f"/dev/shm/held-{{i}}", "wb") as f:
        for _ in range(200):
            f.write(b"x" * (1 << 20))
time.sleep(3)
"""


@pytest.mark.slow
def test_memory_held_in_memfds_shared_memory_and_dev_shm_counts(isolation, batch):
    """memfd, SysV shared memory, /dev/shm: each holds memory that no process has resident. The first two are
    stopped as over the memory limit; /dev/shm is either not writable (Landlock) or counted the same way."""
    cells = [MEMFD, "1 + 1", SYSV, "1 + 1", DEV_SHM, "1 + 1"]
    results = run_cells(batch, "t", cells, Limits(timeout=30, memory_mb=MEMORY_MB, isolation=isolation))
    memory = f"the kernel ran out of its {MEMORY_MB} MB of memory"
    for i in (0, 2):
        assert results[i]["status"] == "died" and memory in results[i]["reason"], (i, results[i])
    assert results[4]["status"] == "died" and memory in results[4]["reason"] or (
        results[4]["status"] == "error" and results[4]["ename"] == "PermissionError"), results[4]
    assert [r["status"] for r in results[1::2]] == ["ok"] * 3  # a new kernel each time, and the run went on


RUNTIME_FOLDER = ("import json, os, ipykernel.connect\n"
                  "runtime = os.path.dirname(json.load(open(ipykernel.connect.get_connection_file()))['ip'])\n")


@pytest.mark.slow
def test_nothing_a_kernel_writes_on_the_host_escapes_its_disk_limit(isolation, batch):
    """Its socket folder (the one host folder it reaches) and its stderr (kept by the worker): never more than
    a few KB on the host, while the kernel tries to put 4 × its --disk there."""
    disk_mb = 32
    into_runtime = RUNTIME_FOLDER + (f"with open(os.path.join(runtime, 'big'), 'wb') as f:\n"
                                     f"    for _ in range({2 * disk_mb}):\n        f.write(b'x' * (1 << 20))")
    into_stderr = f"import os\nfor _ in range({2 * disk_mb}):\n    os.write(2, b'x' * (1 << 20))\n"
    with Sampler(lambda: bytes_on_disk(batch)) as host:
        results = run_cells(batch, "t", [into_runtime, into_stderr, "1 + 1"],
                            Limits(timeout=30, disk_mb=disk_mb, isolation=isolation))
    print(f"peak bytes on the host: {host.peak}")
    assert results[0]["status"] in ("error", "died"), results[0]  # refused (Landlock), or stopped (the watchdog)
    assert results[2]["status"] == "ok", results
    assert host.peak < 1 << 20, host.peak


@pytest.mark.slow
def test_without_landlock_the_socket_folder_counts_against_the_disk_limit(isolation, batch, monkeypatch):
    """Where the system has no Landlock, the socket folder is writable: the watchdog measures it, stops the kernel
    soon after --disk (what it writes in one of the watchdog's polls), and the next kernel starts with the
    folder emptied."""
    real = runner.prepare

    def without_landlock(*args, **kwargs):
        job, spec = real(*args, **kwargs)
        spec["launcher"] = ["off" if a == "auto" else a for a in spec["launcher"]]
        return job, spec

    monkeypatch.setattr(runner, "prepare", without_landlock)
    disk_mb = 64
    fill = RUNTIME_FOLDER + ("for i in range(60):\n    with open(os.path.join(runtime, f'big{i}'), 'wb') as f:\n"
                             f"        for _ in range({disk_mb}):\n            f.write(b'x' * (1 << 20))")
    with Sampler(lambda: bytes_on_disk(batch)) as host:
        results = run_cells(batch, "t", [fill, "1 + 1"], Limits(timeout=30, disk_mb=disk_mb, isolation=isolation))
    print(f"peak bytes on the host: {host.peak}")
    assert results[0]["status"] == "died", results[0]
    assert results[0]["reason"].startswith("the kernel was stopped: it wrote ")
    assert results[0]["reason"].endswith(f"more than its {disk_mb} MB of disk"), results[0]
    assert results[1]["status"] == "ok", results[1]
    # Stopped long before its 60 × --disk: past the limit, it writes only until the watchdog's next poll
    # (about 8 × here when the machine is quiet; the margin is for a busy one, whose watchdog polls late).
    assert host.peak < 20 * disk_mb << 20, host.peak


@pytest.mark.slow
def test_a_kernel_that_sends_too_much_is_stopped_and_the_worker_stays_small(isolation, batch):
    """Three 300 MB messages: the worker that reads them stays small, and the verdict says why."""
    flood = ("from IPython.display import display\n"
             "for _ in range(3):\n    display({'text/plain': 'x' * (300 << 20)}, raw=True)")
    with Sampler(worker_peak_rss) as worker:
        results = run_cells(batch, "t", [flood, "1 + 1"], Limits(timeout=60, isolation=isolation))
    print(f"worker's peak RSS: {worker.peak >> 20} MB")
    assert results[0]["status"] != "ok" and "sent" in results[0].get("reason", ""), results[0]
    assert results[1]["status"] == "ok", results[1]
    assert worker.peak < 400 << 20, worker.peak >> 20


@pytest.mark.slow
def test_the_budget_holds_for_the_whole_run(isolation, batch):
    """A cell that ignores interrupts, with a cell timeout beyond the budget: the run ends at its budget."""
    stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    start = time.monotonic()
    results = run_cells(batch, "t", ["x = 1", stubborn, "x"], Limits(timeout=60, budget=8, isolation=isolation))
    took = time.monotonic() - start
    print(f"budget 8 s, the run took {took:.1f} s")
    assert results[0]["status"] == "ok" and {r["status"] for r in results[1:]} == {"timeout"}, results
    assert "time budget of 8 s" in results[1]["reason"]
    assert took < 8 + 2, took


@pytest.mark.slow
def test_a_message_of_many_parts_each_under_the_size_limit_ends_in_a_verdict(isolation, batch):
    """2.4 GB in one message of 40 parts of 60 MB (each part under the size limit, which ZeroMQ checks per part):
    the worker's address-space backstop stops it, and the verdict says that the kernel sent too much."""
    parts = ("k = get_ipython().kernel\nchunk = b'x' * (60 << 20)\n"
             "k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': ''}, parent=k.get_parent(),"
             " buffers=[chunk] * 40)\nimport time\ntime.sleep(10)")
    with Sampler(worker_peak_rss) as worker:
        results = run_cells(batch, "t", [parts], Limits(timeout=60, isolation=isolation))
    print(f"worker's peak RSS: {worker.peak >> 20} MB; {results[0]}")
    assert results[0]["status"] != "ok" and "sent" in results[0].get("reason", ""), results[0]
    assert worker.peak < 1600 << 20, worker.peak >> 20
