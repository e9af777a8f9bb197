"""Bound what all of a job's processes use together: resident memory and threads.

This is *the* memory limit of a job: what its processes use (resident), not the address
space they map. A CUDA build of PyTorch maps over 3 GB of address space on ``import torch``
and touches a few hundred MB of it; a per-process ``RLIMIT_AS`` at the memory limit made
such kernels fail, or thrash for minutes, while using a fraction of it (the launcher,
:mod:`sandbox`, keeps ``RLIMIT_AS`` only as a backstop far above). Per-process limits do not
add up either: a kernel that forks ten children gets ten times its memory. Where no cgroup
can be made (cgroups v1 not writable, no systemd), the worker polls the process tree under
the job's launcher every ``interval`` seconds and kills the whole sandbox (its launcher:
bubblewrap takes everything in it along) when the sum of resident memory or of threads goes
over the job's limits. The tree is read from ``/proc``;
a process that ``setsid``s or double-forks stays in it, because inside the sandbox's PID
namespace orphans are adopted by the namespace's init, itself a child of the launcher.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def process_table() -> dict[int, tuple[int, int, int, int]]:
    """Every visible process: pid -> (parent pid, threads, resident bytes, mapped bytes)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            mapped, resident = (int(pages) * PAGE for pages in (entry / "statm").read_text().split()[:2])
        except (OSError, IndexError, ValueError):
            continue  # it ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
        table[int(entry.name)] = (int(fields[1]), int(fields[17]), resident, mapped)
    return table


def tree_usage(root: int, table: dict[int, tuple[int, ...]]) -> tuple[list[int], int, int]:
    """The processes under ``root`` (itself included), their threads and resident bytes in all."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root] if root in table else []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found, sum(table[p][1] for p in found), sum(table[p][2] for p in found)


class Watchdog(threading.Thread):
    """Kill ``root`` (the job's launcher) when its tree uses more than ``memory_mb`` or ``threads``.

    It also keeps the peaks since :meth:`reset_peaks` (the start of a cell): the tree's
    resident memory, and the most address space one of its processes mapped, so that a cell
    that timed out while at a memory limit (allocations failing, retried) can be told so.
    """

    def __init__(self, root: int, memory_mb: int, threads: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.limit_bytes, self.threads, self.interval = root, memory_mb << 20, threads, interval
        self.reason: str | None = None
        self.peak_resident = self.peak_mapped = 0
        self._stopped = threading.Event()

    def reset_peaks(self) -> None:
        """Start the peaks again (a new cell)."""
        self.peak_resident = self.peak_mapped = 0

    def run(self) -> None:
        """Poll until stopped or until the tree is over a limit (then kill it and say why)."""
        while not self._stopped.wait(self.interval):
            table = process_table()
            pids, threads, resident = tree_usage(self.root, table)
            if not pids:
                return
            self.peak_resident = max(self.peak_resident, resident)
            self.peak_mapped = max(self.peak_mapped, *(table[p][3] for p in pids))
            if resident > self.limit_bytes:
                self.reason = (f"the kernel ran out of its {self.limit_bytes >> 20} MB of memory (its processes "
                               f"used {resident >> 20} MB together) and was stopped")
            elif threads > self.threads:
                self.reason = (f"the kernel was stopped: it ran {threads} threads and processes, "
                               f"more than the grader's {self.threads}")
            else:
                continue
            for pid in pids:  # the launcher first: the sandbox goes with it; the others in case it does not
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            return

    def stop(self) -> None:
        """Stop polling (the kernel is being shut down)."""
        self._stopped.set()
