"""The watchdog: the process tree under a launcher, summed, and killed when over its limits."""

from __future__ import annotations

import subprocess
import sys
import time

from instructor_tools.grading.watchdog import Watchdog, tree_usage


def test_tree_usage_follows_children_and_sums_them():
    table = {1: (0, 1, 100, 200), 10: (1, 2, 1000, 2000), 11: (10, 3, 10, 20), 12: (11, 1, 1, 2), 20: (1, 5, 5, 9)}
    pids, threads, resident = tree_usage(10, table)
    assert sorted(pids) == [10, 11, 12] and threads == 6 and resident == 1011
    assert tree_usage(99, table) == ([], 0, 0)


def test_a_tree_over_its_thread_limit_is_killed_with_a_reason():
    code = ("import threading, time, subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "for _ in range(40): threading.Thread(target=time.sleep, args=(60,)).start()\ntime.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", code])
    watchdog = Watchdog(process.pid, memory_mb=100_000, threads=20, interval=0.1)
    watchdog.start()
    start = time.monotonic()
    assert process.wait(timeout=30) == -9 and time.monotonic() - start < 30
    watchdog.join(5)
    assert "threads and processes, more than the grader's 20" in watchdog.reason
