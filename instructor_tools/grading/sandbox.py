"""Start a student's kernel: ``python sandbox.py [options] -- KERNEL COMMAND``, run inside bubblewrap.

The grader starts this file as the first process inside the job's bubblewrap sandbox
(:mod:`isolation` builds that command); it then *becomes* the kernel with ``exec``, so
every limit below holds for the kernel and for anything it starts:

* resource limits: CPU time, file size, no core dumps, the process count, which Linux
  counts per user (started as root, the launcher takes the job's *own* uid: ``--uid``, no
  groups, no capabilities, so one job's processes cannot use up another's), and a
  backstop on each process's address space far above the job's memory (``--address-space-mb``:
  the memory limit itself is on what the job's processes *use*, kept by the worker's
  watchdog, :mod:`watchdog`);
* the kernel is the first process the system's out-of-memory killer picks
  (``oom_score_adj`` 1000), should memory run out on the host between two of the watchdog's
  polls: the grader and everything else come after it;
* ``no_new_privs``: no setuid program can give root back;
* its folders (work, HOME, TMPDIR, IPython's startup file, a copy of the connection file)
  are made in ``--job``, the sandbox's private tmpfs;
* Landlock (Linux 5.13+), an extra layer: writes only beneath ``--job``; in the kernel's
  socket folder (on the host's disk) only sockets, made and removed; no TCP at all, and
  (ABI 6+) no signals or abstract sockets outside. Landlock also keeps the kernel from
  ptrace-ing (or reading the memory of, through ``/proc``) any process outside its own domain.
  With ``--read`` (``--sandbox pod``, where no mount namespace hides the host's files) it also
  bounds what the kernel may *read* or execute: only beneath the ``--read`` folders and its own.

Without bubblewrap (``--unsandboxed``: trusted submissions only) the same launcher runs
on the host, as the grader's user, and only the limits and Landlock hold.

This module must not import anything from the course: it runs before the kernel.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import resource
import sys

# Landlock's system calls have the same numbers on every architecture that has them.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4

# Filesystem rights (include/uapi/linux/landlock.h). Reading and executing stay allowed
# everywhere (the kernel needs Python, the libraries, the data); every way of changing
# the filesystem is handled, i.e. denied except beneath the --write folders.
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE_CHAR, _MAKE_DIR, _MAKE_REG, _MAKE_SOCK = 1 << 6, 1 << 7, 1 << 8, 1 << 9
_MAKE_FIFO, _MAKE_BLOCK, _MAKE_SYM = 1 << 10, 1 << 11, 1 << 12
_REFER, _TRUNCATE = 1 << 13, 1 << 14  # ABI 2, ABI 3
_EXECUTE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 2, 1 << 3
_READ = _EXECUTE | _READ_FILE | _READ_DIR
_BIND_TCP, _CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6



class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class _Ruleset(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0: none)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        abi = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (AttributeError, OSError):
        return 0
    return max(int(abi), 0)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what}: {os.strerror(err)}")
    return result


def apply_landlock(write_dirs: list[str], write_files: list[str], ports: list[int],
                   socket_dirs: tuple[str, ...] = (), read_dirs: tuple[str, ...] = ()) -> int:
    """Restrict this process (and its future children) as described in the module docstring.

    ``read_dirs``: when given, reading and executing are denied too, except beneath them (and beneath the
    write and socket folders); when empty, reading stays allowed everywhere (bubblewrap's mounts bound it).
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    libc = _libc()
    fs = (_WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG | _MAKE_SOCK
          | _MAKE_FIFO | _MAKE_BLOCK | _MAKE_SYM)
    if abi >= 2:
        fs |= _REFER
    if abi >= 3:
        fs |= _TRUNCATE
    read = _READ if read_dirs else 0
    fs |= read
    attr = _Ruleset(fs, _BIND_TCP | _CONNECT_TCP if abi >= 4 else 0,
                    _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _check(libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
                     "create_ruleset")
    file_rights = _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0) | (_READ_FILE if read else 0)
    # A socket folder (on the host's disk): sockets made and removed, no file, folder or byte written.
    socket_rights = _MAKE_SOCK | _REMOVE_FILE | read
    rules = ([(p, fs) for p in write_dirs] + [(p, file_rights) for p in write_files]
             + [(p, socket_rights) for p in socket_dirs]
             + [(p, read if os.path.isdir(p) else read & ~_READ_DIR) for p in read_dirs if os.path.exists(p)])
    for path, rights in rules:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            rule = _PathBeneath(rights, fd)
            _check(libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)),
                   f"add_rule {path}")
        finally:
            os.close(fd)
    if abi >= 4:
        for port in ports:
            rule = _NetPort(_BIND_TCP, port)
            _check(libc.syscall(_ADD_RULE, ruleset, _RULE_NET_PORT, ctypes.byref(rule), ctypes.c_uint32(0)),
                   f"add_rule port {port}")
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "restrict_self")
    os.close(ruleset)
    return abi


def drop_capabilities() -> None:
    """Uid 0 without capabilities, for good: no mount, no module loading, no raw sockets..."""
    libc = _libc()
    # SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS_LOCKED, each with its lock:
    # exec must not give uid 0 its capabilities back.
    _check(libc.prctl(_PR_SET_SECUREBITS, 0x1 | 0x2 | 0x4 | 0x8 | 0x20, 0, 0, 0), "securebits")
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() == errno.EINVAL:
            break
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2): all empty
    _check(libc.capset(header, data), "capset")


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def first_to_go_when_memory_runs_out() -> None:
    """Make this process (and all it starts) the out-of-memory killer's first choice on the host.

    Raising one's own ``oom_score_adj`` needs no privilege; where ``/proc`` has no such file
    (not Linux), nothing changes.
    """
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def become(uid: int) -> None:
    """Leave root for ``uid`` (and the same gid), for good: the job's own user, no groups, no capabilities."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def set_up_job(job: str, connection: bytes, startup: str) -> str:
    """The kernel's folders in the job's private, writable place; returns its copy of the connection file."""
    os.umask(0o077)
    for sub in ("work", "home", "tmp", "home/.ipython/profile_default/startup"):
        os.makedirs(os.path.join(job, sub), exist_ok=True)
    with open(os.path.join(job, "home/.ipython/profile_default/startup/00-course-grader.py"), "w") as f:
        f.write(startup)
    path = os.path.join(job, "home", "kernel.json")
    with open(path, "wb") as f:
        f.write(connection)
    os.chdir(os.path.join(job, "work"))
    return path


def main(argv: list[str] | None = None) -> None:
    """Apply the limits, become the job's user, set up its folders, confine with Landlock, ``exec`` the kernel.

    Never returns: the process becomes the kernel (or ends with status 70 where Landlock is required and missing).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", required=True, help="the job's private, writable folder (a tmpfs under bubblewrap)")
    parser.add_argument("--uid", type=int, default=0, help="the job's own user id (when started as root)")
    parser.add_argument("--connection-file", required=True, help="the kernel's connection file (copied into --job)")
    parser.add_argument("--startup", required=True, help="an IPython startup file to install")
    parser.add_argument("--address-space-mb", type=int, default=32 << 10,
                        help="address space of each process: a backstop far above the job's memory limit")
    parser.add_argument("--file-mb", type=int, default=256)
    parser.add_argument("--processes", type=int, default=1024)
    parser.add_argument("--cpu-s", type=int, default=0, help="CPU seconds (0: no limit)")
    parser.add_argument("--landlock", choices=("require", "auto", "off"), default="auto")
    parser.add_argument("--read", action="append", default=[], metavar="PATH",
                        help="with Landlock, read and execute only beneath these (and the job's own folders)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    with open(args.connection_file, "rb") as f:  # read while still allowed to: it may be root's
        connection = f.read()
    with open(args.startup, encoding="utf-8") as f:
        startup = f.read()
    _limit(resource.RLIMIT_AS, args.address_space_mb << 20)
    _limit(resource.RLIMIT_FSIZE, args.file_mb << 20)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NPROC, args.processes)  # counted per user: the job's own uid makes it the job's
    if args.cpu_s:
        _limit(resource.RLIMIT_CPU, args.cpu_s)
    first_to_go_when_memory_runs_out()  # before leaving root: as the job's uid the file may not be ours to write
    if args.uid:
        become(args.uid)
    elif os.geteuid() == 0:  # no uid of its own (unsandboxed, trusted): at least no root powers
        drop_capabilities()
    if sys.platform.startswith("linux"):  # no setuid program gives root back (unsandboxed, macOS has no prctl)
        _check(_libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    kernel_json = set_up_job(args.job, connection, startup)
    command = [kernel_json if a == args.connection_file else a for a in command]
    if args.landlock != "off":
        try:
            apply_landlock([args.job], ["/dev/null"], [],
                           socket_dirs=(os.path.dirname(os.path.abspath(args.connection_file)),),
                           read_dirs=tuple(args.read))
        except OSError as exc:
            if args.landlock == "require":
                print(f"sandbox: {exc}", file=sys.stderr)
                os._exit(70)
    # ipykernel would watch this pid and quit when it is not its parent, which it never is in a PID
    # namespace; the sandbox dies with the grader's worker anyway.
    os.environ.pop("JPY_PARENT_PID", None)
    os.execv(command[0], command)


if __name__ == "__main__":
    raise SystemExit(main())
