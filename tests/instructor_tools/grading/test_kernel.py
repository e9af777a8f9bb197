"""The worker that drives one kernel, through run_cells with tiny notebooks: timeouts, deaths, limits."""

from __future__ import annotations

import os

from instructor_tools.grading import Limits
from instructor_tools.grading.compare import parse_probe
from instructor_tools.grading.runner import run_cells


def test_per_cell_timeout_interrupts_then_kills(tmp_path):
    os.chmod(tmp_path, 0o711)
    # The import is in the first cell, replayed after the kill: the last cell's own time is then a few
    # microseconds, never an import racing the cell timeout on a busy machine.
    cells = ["x = 41\nfrom helpers import checks", "while True:\n    pass",
             "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
             "checks.check_value(x + 1, 0, name='state replayed')"]
    results = run_cells(tmp_path, "t", cells, Limits(timeout=5))
    assert [r["status"] for r in results] == ["ok", "timeout", "timeout", "ok"], results
    assert 5 <= results[1]["seconds"] < 5 + 3  # interrupted at the timeout
    assert results[2]["killed"] and 5 + 5 <= results[2]["seconds"] < 5 + 5 + 3  # killed after the grace period
    assert parse_probe(results[3]["probes"][0]).value == 42  # a new kernel, with the cells before replayed


def test_kernel_death_memory_and_output_limits(tmp_path):
    os.chmod(tmp_path, 0o711)
    limits = Limits(timeout=30, memory_mb=2048, output_kb=64)
    cells = ["import os\nos._exit(3)", f"x = bytearray({limits.address_space_mb() + 1024} << 20)",
             "print('x' * 50_000_000)", "from helpers import checks\nchecks.check_value(1, 0, name='alive')"]
    results = run_cells(tmp_path, "t", cells, limits)
    assert results[0]["status"] == "died" and results[0]["exit_code"] == 3
    assert "kernel died (exit code 3)" in results[0]["reason"] and "2048 MB" in results[0]["reason"]
    # More than the backstop on one process's address space: refused at once, and said to be memory.
    assert results[1]["status"] == "error" and results[1]["ename"] == "MemoryError"
    assert results[1]["reason"] == "the kernel ran out of memory (MemoryError): it may use 2048 MB"
    assert results[2]["status"] == "ok" and results[2]["dropped_bytes"] < 100_000  # capped in the kernel
    assert len(results[3]["probes"]) == 1


def test_memory_is_what_a_kernel_uses_not_the_address_space_it_maps(tmp_path):
    """8 GB mapped and a page of it touched (as CUDA libraries map gigabytes): fine under a 300 MB limit.

    The same kernel touching 600 MB is stopped, and the reason names its limit.
    """
    os.chmod(tmp_path, 0o711)
    maps = ("import mmap, time\nm = mmap.mmap(-1, 8 << 30, flags=mmap.MAP_PRIVATE | 0x4000)  # MAP_NORESERVE (Linux)\n"
            "m[:4096] = b'x' * 4096\n"
            "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
            "assert int(status['VmSize'].split()[0]) > 8 << 20, status['VmSize']  # kB: more than 8 GB mapped\n"
            "time.sleep(1)  # several of the watchdog's polls")
    touches = "import time\nbig = bytearray(600 << 20)\ntime.sleep(10)"
    results = run_cells(tmp_path, "t", [maps, "m[4096] = 1", touches, "m[0]"], Limits(timeout=30, memory_mb=300))
    assert [r["status"] for r in results] == ["ok", "ok", "died", "ok"], results
    assert results[2]["reason"].startswith("the kernel ran out of its 300 MB of memory (its processes used ")


def test_a_timeout_at_a_memory_limit_says_so(tmp_path):
    """A cell that runs out of time while at a limit (allocations failing and retried, as CUDA's PyTorch did
    against an address-space limit at --memory): the reason is the memory, not an infinite loop."""
    os.chmod(tmp_path, 0o711)
    limits = Limits(timeout=3, memory_mb=600)
    spin = "\nwhile True:\n    pass"
    most = int(0.95 * limits.address_space_mb()) << 20
    mapped = f"import mmap\nreserved = mmap.mmap(-1, {most}, flags=mmap.MAP_PRIVATE | 0x4000)" + spin
    resident = ("rss = int(next(line for line in open('/proc/self/status') if line.startswith('VmRSS')).split()[1])"
                "\nkept = bytearray(int(0.95 * (600 << 20)) - (rss << 10) - (8 << 20))" + spin)
    results = run_cells(tmp_path, "t", ["del reserved", mapped, "del reserved", resident, "1 + 1"], limits)
    assert [r["status"] for r in results] == ["error", "timeout", "ok", "timeout", "ok"], results
    assert results[1]["reason"].startswith("stopped after 3 s at its memory limit: a process had mapped ")
    assert f"of the {limits.address_space_mb()} MB of address space each may map" in results[1]["reason"]
    assert results[3]["reason"].startswith("stopped after 3 s at its memory limit: the kernel used ")
    assert results[3]["reason"].endswith("of its 600 MB")
    assert "reason" not in results[0]  # an ordinary NameError is not said to be memory
