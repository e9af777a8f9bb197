"""The watchdog: the process tree under a launcher, summed, and killed when over its limits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from instructor_tools.grading.watchdog import MAX_ENTRIES, Watchdog, tree_usage


def disk_watchdog_reason(folder: Path, code: str) -> str:
    """Run ``code`` under a watchdog that allows 64 MB in ``folder``; it must be killed: the watchdog's reason."""
    process = subprocess.Popen([sys.executable, "-c", code])
    watchdog = Watchdog(process.pid, memory_mb=100_000, threads=1000, interval=0.1, disk_mb=64,
                        disk_folders=(str(folder),))
    watchdog.start()
    assert process.wait(timeout=60) == -9
    watchdog.join(5)
    return watchdog.reason or ""


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


def test_a_memfd_written_and_never_mapped_counts_as_memory_once():
    """Shared memory in no resident set (memfds written with write(2)) counts against the limit, each memfd once
    however many descriptors hold it: 300 MB held through three descriptors is under 400 MB; 450 MB is not."""
    code = ("import os, sys, time\ndef held():\n    fd = os.memfd_create('held')\n"
            "    for _ in range(150):\n        os.write(fd, b'x' * (1 << 20))\n    return fd\n"
            "first, second = held(), held()\nos.dup(first)\ntime.sleep(1.5)  # several polls\n"
            "print('more', flush=True)\nthird = held()\ntime.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    watchdog = Watchdog(process.pid, memory_mb=400, threads=1000, interval=0.1)
    watchdog.start()
    assert process.wait(timeout=30) == -9
    watchdog.join(5)
    assert process.stdout.read() == "more\n", watchdog.reason  # not stopped while it held 300 MB
    used = int(watchdog.reason.split("used ")[1].split(" MB")[0])
    assert "ran out of its 400 MB of memory" in watchdog.reason and 400 < used < 500, watchdog.reason


def test_what_a_process_writes_in_a_watched_folder_counts_against_its_disk(tmp_path):
    """Without Landlock, the kernel's socket folder is writable: its files, and one removed but held open, count."""
    code = (f"import os, time\nf = open({str(tmp_path / 'held')!r}, 'wb')\nos.remove(f.name)\n"
            "for _ in range(40):\n    f.write(b'x' * (1 << 20))\n    f.flush()\n"
            f"open({str(tmp_path / 'kept')!r}, 'wb').write(b'x' * (30 << 20))\ntime.sleep(60)")
    reason = disk_watchdog_reason(tmp_path, code)
    assert "more than its 64 MB of disk" in reason, reason


def test_a_folder_of_many_empty_files_is_over_the_disk_limit_too(tmp_path):
    code = (f"import os, time\nfor i in range({MAX_ENTRIES + 10}):\n"
            f"    open(os.path.join({str(tmp_path)!r}, str(i)), 'w').close()\ntime.sleep(60)")
    reason = disk_watchdog_reason(tmp_path, code)
    assert f"more than {MAX_ENTRIES} files" in reason, reason
