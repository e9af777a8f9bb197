"""How a grading kernel is isolated: a bubblewrap sandbox per job, or (explicitly) none.

bubblewrap (``bwrap``, Debian's ``bubblewrap`` package, what Flatpak uses) puts each
job's kernel in Linux namespaces of its own:

* a PID namespace: the kernel sees only its own processes, and everything it started
  dies with it (bubblewrap's ``--die-with-parent``, and the namespace's end);
* a network namespace with nothing in it: no TCP, UDP or abstract socket reaches out;
* a mount namespace holding only, read-only, the system's ``/usr`` (and its ``/lib``
  links), the Python installation, the course package without the lesson's answers
  (:mod:`answers`) and the course data; plus the kernel's socket folder and one private
  tmpfs of bounded size (``/job``), its only writable places. No home folder, no
  submissions, no solutions, no other job exists in it.

Started as root, bubblewrap needs no user namespace; the launcher inside
(:mod:`sandbox`) then takes the job's own uid, so the process limit is the job's own.
Started as another user, bubblewrap uses an unprivileged user namespace and the kernel
keeps the grader's uid: the process count is then bounded by the watchdog only (see
:attr:`Isolation.bounds`). cgroups are not used (they are often not writable; the
memory of all of a job's processes together is bounded by the worker's watchdog).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Where things are inside the sandbox.
JOB, COURSE, LAUNCHER, STARTUP = "/job", "/course", "/grader/sandbox.py", "/grader/startup.py"
_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC = ("/etc/ld.so.cache", "/etc/localtime")
_UID_BASE, _UID_SPAN = 2_000_000_000, 1 << 24  # far above any real user's uid


class SandboxUnavailable(RuntimeError):
    """No adequate sandbox here; the message says what to install."""


@dataclass(frozen=True)
class Isolation:
    """The kind of isolation the batch uses, and how to say so in the gradebook."""

    kind: str  # "bubblewrap" | "none"
    bwrap: str | None = None
    as_root: bool = False

    @property
    def bounds(self) -> str:
        """One line for the gradebook: what confined each kernel."""
        if self.kind == "none":
            return "none: unsandboxed (--unsandboxed), per-process limits and Landlock where available"
        users = ("own uid per job (process limit per job)" if self.as_root
                 else "grader's uid in a user namespace (process count bounded by the watchdog)")
        return f"bubblewrap: pid+net+mount namespaces, private tmpfs, {users}, memory watchdog"

    def job_uid(self) -> int:
        """A user id for one job: its own, when the grader can give one (as root)."""
        return _UID_BASE + secrets.randbelow(_UID_SPAN) if self.kind == "bubblewrap" and self.as_root else 0


def _namespaces(as_root: bool) -> list[str]:
    common = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
              "--die-with-parent", "--new-session"]
    if as_root:  # the launcher needs these two to take the job's uid; taking it drops every capability
        return [*common, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", *common]


def detect(allow_unsandboxed: bool = False) -> Isolation:
    """bubblewrap if it works here; else :class:`SandboxUnavailable`, unless ``allow_unsandboxed``."""
    bwrap = shutil.which("bwrap")
    as_root = os.geteuid() == 0
    why = "bubblewrap is not installed" if bwrap is None else _try(bwrap, as_root)
    if why is None:
        return Isolation("bubblewrap", bwrap, as_root)
    if allow_unsandboxed:
        return Isolation("none", None, as_root)
    raise SandboxUnavailable(
        f"cannot isolate the students' kernels: {why}. Install bubblewrap (Debian/Ubuntu: "
        "`apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`) on Linux; as a user other than root "
        "it also needs unprivileged user namespaces. To grade trusted submissions without it, pass --unsandboxed.")


def _try(bwrap: str, as_root: bool) -> str | None:
    """Why bubblewrap cannot make our sandbox here (None: it can)."""
    try:
        done = subprocess.run([bwrap, *_namespaces(as_root), *_system_binds(), "--proc", "/proc", "--dev", "/dev",
                               "--", "/bin/true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not run ({exc})"
    if done.returncode:
        return f"bubblewrap fails here ({done.stderr.decode(errors='replace').strip()[:200]})"
    return None


def _system_binds() -> list[str]:
    args: list[str] = []
    for name in _SYSTEM:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for path in _ETC:
        args += ["--ro-bind-try", path, path]
    return args


def _with_parents(path: str) -> list[str]:
    """bubblewrap makes missing parents mode 0700; the job's uid must be able to pass through them."""
    parents = list(reversed(Path(path).parents))[1:]  # without "/"
    return [arg for p in parents for arg in ("--perms", "0755", "--dir", str(p))]


def python_dirs() -> list[str]:
    """The folders of this Python installation (the venv and the Python it was made from) outside /usr."""
    dirs = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(sys.executable))}
    dirs = {d for d in dirs if not d.startswith("/usr/") and d != "/usr"}
    # the venv's own folder name too (sys.executable may be a link into it)
    dirs |= {os.path.abspath(sys.prefix)} if not os.path.abspath(sys.prefix).startswith("/usr") else set()
    return sorted(d for d in dirs if not any(d != o and d.startswith(o + "/") for o in dirs))


def bwrap_argv(isolation: Isolation, *, package: Path, data: Path, runtime: Path, launcher: Path, startup: Path,
               tmpfs_mb: int) -> list[str]:
    """The bubblewrap command up to (and including) ``--``: the kernel's launcher command follows it."""
    args = [isolation.bwrap, *_namespaces(isolation.as_root), *_system_binds()]
    for d in python_dirs():
        args += [*_with_parents(d), "--ro-bind", d, d]
    args += ["--perms", "0755", "--dir", COURSE, "--ro-bind", str(package), f"{COURSE}/helpers",
             "--ro-bind", str(data), f"{COURSE}/data",
             "--perms", "0755", "--dir", "/grader", "--ro-bind", str(launcher), LAUNCHER,
             "--ro-bind", str(startup), STARTUP,
             *_with_parents(str(runtime)), "--bind", str(runtime), str(runtime),
             "--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(tmpfs_mb << 20), "--tmpfs", JOB, "--chdir", "/", "--"]
    return args
