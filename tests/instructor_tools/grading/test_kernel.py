"""The worker that drives one kernel, through run_cells with tiny notebooks: timeouts, deaths, limits."""

from __future__ import annotations

import os

from instructor_tools.grading import Limits
from instructor_tools.grading.compare import parse_probe
from instructor_tools.grading.runner import run_cells


def test_per_cell_timeout_interrupts_then_kills(tmp_path):
    os.chmod(tmp_path, 0o711)
    cells = ["x = 41", "while True:\n    pass",
             "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
             "from helpers import checks\nchecks.check_value(x + 1, 0, name='state replayed')"]
    results = run_cells(tmp_path, "t", cells, Limits(timeout=3))
    assert [r["status"] for r in results] == ["ok", "timeout", "timeout", "ok"]
    assert 3 <= results[1]["seconds"] < 3 + 3  # interrupted at the timeout
    assert results[2]["killed"] and 3 + 5 <= results[2]["seconds"] < 3 + 5 + 3  # killed after the grace period
    assert parse_probe(results[3]["probes"][0]).value == 42  # a new kernel, with the cells before replayed


def test_kernel_death_memory_and_output_limits(tmp_path):
    os.chmod(tmp_path, 0o711)
    cells = ["import os\nos._exit(3)", "x = bytearray(8 << 30)", "print('x' * 50_000_000)",
             "from helpers import checks\nchecks.check_value(1, 0, name='alive')"]
    results = run_cells(tmp_path, "t", cells, Limits(timeout=30, memory_mb=2048, output_kb=64))
    assert results[0]["status"] == "died" and results[0]["exit_code"] == 3
    assert results[1]["status"] == "error" and results[1]["ename"] == "MemoryError"
    assert results[2]["status"] == "ok" and results[2]["dropped_bytes"] < 100_000  # capped in the kernel
    assert len(results[3]["probes"]) == 1
