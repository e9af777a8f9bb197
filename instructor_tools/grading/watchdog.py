"""Bound what all of a job's processes use together: memory, threads, and what they write on the host.

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

Memory is more than the resident sets: pages of shared memory (a memfd written and never
mapped, a file in ``/dev/shm``, a SysV segment attached by no one) belong to no process's RSS
and stay as long as something holds them. They are counted as objects, each once, whatever
holds them (a descriptor, a mapping, a name in the sandbox's ``/dev/shm``, the sandbox's IPC
namespace), by the pages they hold; the resident pages of their mappings are taken out of the
mapping processes' RSS so as not to count them twice (:func:`memory_in_use`).

Disk: the host folders a kernel may write (its socket folder; its work folder when unsandboxed)
are summed too, with the files it holds open there after removing them, and count against the
job's disk limit together with what its private tmpfs holds (:func:`disk_in_use`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import stat
import threading
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
#: How shared memory that is in no resident set shows in /proc: a memfd's and a SysV segment's names,
#: and files of the sandbox's /dev/shm (a tmpfs of its own under bubblewrap: the device of that mount).
SHARED_MEMORY_NAMES = ("/memfd:", "/SYSV", "/dev/shm/")
#: The most entries the watchdog walks in a folder the kernel can write on the host; more is itself a reason.
MAX_ENTRIES = 10_000
#: Over the disk limit, room for the grader's own files in the kernel's socket folder (its connection files).
DISK_SLACK = 1 << 20
_CLONE_NEWIPC = 0x08000000


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


def _fd_files(pid: int):
    """``(link, stat)`` of each file ``pid`` holds open (a descriptor that is not a file, or gone, is skipped)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return
    for fd in fds:
        try:
            link, st = os.readlink(f"/proc/{pid}/fd/{fd}"), os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            yield link, st


def _shared_mappings(pid: int, shm_devs: set[int]):
    """``(address range, (st_dev, st_ino), name)`` of each mapping of shared memory in ``pid``'s address space."""
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or fields[4] == "0":
            continue
        major, minor = (int(n, 16) for n in fields[3].split(":"))
        key, name = (os.makedev(major, minor), int(fields[4])), fields[5]
        if name.startswith(SHARED_MEMORY_NAMES) or key[0] in shm_devs:
            yield fields[0], key, name


def _resident_in(pid: int, ranges: set[str]) -> int:
    """The resident bytes of the mappings of ``pid`` at ``ranges`` (from ``/proc/PID/smaps``)."""
    total, counting = 0, False
    try:
        with open(f"/proc/{pid}/smaps") as smaps:
            for line in smaps:
                if line[0] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:
                    counting = line.split(" ", 1)[0] in ranges
                elif counting and line.startswith("Rss:"):
                    total += int(line.split()[1]) << 10
    except OSError:
        pass
    return total


def sysv_segments() -> dict:
    """The SysV shared memory segments of this thread's IPC namespace: ``("sysv", shmid)`` -> bytes held."""
    segments = {}
    try:
        lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return segments
    for line in lines:
        fields = line.split()
        segments[("sysv", int(fields[1]))] = int(fields[-2]) + int(fields[-1])  # rss + swap
    return segments


def memory_in_use(pids: list[int], table: dict, shm_devs: set[int], sysv: dict | None) -> int:
    """What the processes ``pids`` use together: resident memory plus shared memory held outside it, each once.

    ``shm_devs``: the devices of the sandbox's ``/dev/shm``; ``sysv``: its IPC namespace's segments
    (:func:`sysv_segments`), or None where they cannot be seen (then only their mapped pages count, in RSS).
    """
    objects = dict(sysv or {})
    resident = sum(table[p][2] for p in pids)
    for pid in pids:
        for link, st in _fd_files(pid):
            if link.startswith(SHARED_MEMORY_NAMES) or st.st_dev in shm_devs:
                objects[(st.st_dev, st.st_ino)] = st.st_blocks * 512
        counted = set()
        for where, key, name in _shared_mappings(pid, shm_devs):
            if name.startswith("/SYSV"):
                if sysv is not None:
                    counted.add(where)
                continue
            if key not in objects:  # mapped, its descriptor closed: the object through the mapping
                try:
                    objects[key] = os.stat(f"/proc/{pid}/map_files/{where}").st_blocks * 512
                except OSError:
                    continue  # not ours to open (no CAP_SYS_ADMIN): its mapped pages count, in RSS
            counted.add(where)
        if counted:
            resident -= _resident_in(pid, counted)
    return resident + sum(objects.values())


def disk_in_use(pids: list[int], folders: list[str], tmpfs: str | None) -> tuple[int, int]:
    """Bytes the processes ``pids`` hold on the host's disk in ``folders`` (files there, and files removed from
    there but still open), plus what their private tmpfs (``tmpfs``, a path in their root) holds; and the
    number of entries in ``folders`` (walked up to :data:`MAX_ENTRIES`)."""
    files, entries, devices = {}, 0, set()
    todo = [f for f in folders if os.path.isdir(f)]
    devices = {os.lstat(f).st_dev for f in todo}
    while todo and entries <= MAX_ENTRIES:
        try:  # read only, links never followed: nothing a kernel leaves here makes the grader change anything
            it = os.scandir(todo.pop())
        except OSError:  # gone, or (a grader that is not root, without Landlock) made unreadable by the kernel
            continue
        with it:
            for entry in it:
                entries += 1
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                files[(st.st_dev, st.st_ino)] = st.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    for pid in pids:
        for _, st in _fd_files(pid):
            if st.st_dev in devices:
                files[(st.st_dev, st.st_ino)] = st.st_blocks * 512
    used = sum(files.values())
    if tmpfs and len(pids) > 1:  # seen from inside the sandbox: the launcher (pids[0]) is outside it
        try:
            fs = os.statvfs(f"/proc/{pids[-1]}/root{tmpfs}")
            used += (fs.f_blocks - fs.f_bfree) * fs.f_frsize
        except OSError:
            pass
    return used, entries


def join_ipc_namespace(pid: int) -> bool:
    """Move this thread into the IPC namespace of ``pid`` (to read its SysV segments); False where not allowed.

    Only the calling thread moves (a namespace is a thread's), and only with CAP_SYS_ADMIN: the grader as root.
    """
    try:
        if os.readlink(f"/proc/{pid}/ns/ipc") == os.readlink("/proc/thread-self/ns/ipc"):
            return False
        fd = os.open(f"/proc/{pid}/ns/ipc", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).setns(fd, _CLONE_NEWIPC) == 0
    finally:
        os.close(fd)


class Watchdog(threading.Thread):
    """Kill ``root`` (the job's launcher) when its tree uses more than ``memory_mb``, ``threads`` or ``disk_mb``.

    Memory is :func:`memory_in_use`; disk (when ``disk_mb`` is given) is :func:`disk_in_use` of
    ``disk_folders`` (the host folders the kernel may write) and of its private ``tmpfs``.
    It also keeps the peaks since :meth:`reset_peaks` (the start of a cell): the tree's
    memory, and the most address space one of its processes mapped, so that a cell
    that timed out while at a memory limit (allocations failing, retried) can be told so.
    """

    def __init__(self, root: int, memory_mb: int, threads: int, interval: float = 0.2, *,
                 disk_mb: int | None = None, disk_folders: tuple[str, ...] = (), tmpfs: str | None = None):
        super().__init__(daemon=True)
        self.root, self.limit_bytes, self.threads, self.interval = root, memory_mb << 20, threads, interval
        self.disk_bytes, self.disk_folders, self.tmpfs = (disk_mb or 0) << 20, list(disk_folders), tmpfs
        self.reason: str | None = None
        self.peak_resident = self.peak_mapped = 0
        self._stopped = threading.Event()
        self._shm_devs: set[int] = set()
        self._looked = self._sysv = False  # _sysv: whether this thread is in the sandbox's IPC namespace

    def reset_peaks(self) -> None:
        """Start the peaks again (a new cell)."""
        self.peak_resident = self.peak_mapped = 0

    def _look_inside(self, pids: list[int]) -> None:
        """Once the sandbox exists: its /dev/shm's device, and its IPC namespace (for its SysV segments)."""
        if self._looked or len(pids) < 2:
            return
        self._looked = True
        inside = pids[-1]  # the launcher (pids[0]) is outside the sandbox's namespaces
        try:
            self._shm_devs = {os.stat(f"/proc/{inside}/root/dev/shm").st_dev}
        except OSError:
            pass
        self._sysv = join_ipc_namespace(inside)

    def run(self) -> None:
        """Poll until stopped or until the tree is over a limit (then kill it and say why)."""
        while not self._stopped.wait(self.interval):
            table = process_table()
            pids, threads, resident = tree_usage(self.root, table)
            if not pids:
                return
            self._look_inside(pids)
            used = resident  # the cheap measures first: a tree over them is stopped without reading each process
            if resident <= self.limit_bytes and threads <= self.threads:
                used = memory_in_use(pids, table, self._shm_devs, sysv_segments() if self._sysv else None)
            self.peak_resident = max(self.peak_resident, used)
            self.peak_mapped = max(self.peak_mapped, *(table[p][3] for p in pids))
            self.reason = self._over(pids, used, threads)
            if self.reason is None:
                continue
            for pid in pids:  # the launcher first: the sandbox goes with it; the others in case it does not
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            return

    def _over(self, pids: list[int], used: int, threads: int) -> str | None:
        """Which limit the tree is over, in words; None if none."""
        if used > self.limit_bytes:
            return (f"the kernel ran out of its {self.limit_bytes >> 20} MB of memory (its processes "
                    f"used {used >> 20} MB together) and was stopped")
        if threads > self.threads:
            return (f"the kernel was stopped: it ran {threads} threads and processes, "
                    f"more than the grader's {self.threads}")
        if not self.disk_bytes:
            return None
        written, entries = disk_in_use(pids, self.disk_folders, self.tmpfs)
        if written > self.disk_bytes + DISK_SLACK:
            return (f"the kernel was stopped: it wrote {written >> 20} MB, more than its {self.disk_bytes >> 20} MB "
                    "of disk")
        if entries > MAX_ENTRIES:
            return f"the kernel was stopped: it made more than {MAX_ENTRIES} files in a folder of the grader's"
        return None

    def stop(self) -> None:
        """Stop polling (the kernel is being shut down)."""
        self._stopped.set()
