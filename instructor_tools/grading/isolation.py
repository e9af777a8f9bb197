"""How a grading kernel is isolated: a bubblewrap sandbox per job, or (explicitly) none.

bubblewrap (``bwrap``, Debian's ``bubblewrap`` package, what Flatpak uses) puts each
job's kernel in Linux namespaces of its own:

* a PID namespace: the kernel sees only its own processes, and everything it started
  dies with it (bubblewrap's ``--die-with-parent``, and the namespace's end);
* a network namespace with nothing in it: no TCP, UDP or abstract socket reaches out;
* a mount namespace holding only, read-only, the system's ``/usr`` (and its ``/lib``
  links), the Python installation (with what its .pth files add to the import path), the
  course package without the lesson's answers (:mod:`answers`) and the course data; plus
  the kernel's socket folder and one private tmpfs of bounded size (``/job``), its only
  writable places. No home folder, no submissions, no solutions, no other job exists in it;
  and no other copy of the course: however the course is installed (``pip install .`` puts
  a whole ``helpers``, answers and bytecode included, in site-packages), each copy those
  mounts would show is replaced by the withheld package or hidden (:func:`course_copies`).

Started as root, bubblewrap needs no user namespace; the launcher inside
(:mod:`sandbox`) then takes the job's own uid, so the process limit is the job's own.
Started as another user, bubblewrap uses an unprivileged user namespace and the kernel
keeps the grader's uid: the process count is then bounded by the watchdog only (see
:attr:`Isolation.bounds`). cgroups are not used (they are often not writable; the
memory of all of a job's processes together is bounded by the worker's watchdog).
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT

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


#: The course's packages (pyproject.toml installs both). The sandbox shows one copy of them: the lesson's
#: withheld ``helpers`` at /course/helpers. Any other that its mounts would show (a non-editable install's
#: site-packages/helpers with the answers and their bytecode, a checkout an editable install points at) is
#: replaced by the withheld copy or hidden (:func:`course_copies`).
COURSE_PACKAGES = ("helpers", "instructor_tools")

#: Site folders of other Pythons that /usr, mounted whole, shows (a course installed with the system's pip).
_OTHER_SITES = ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages", "/usr/lib/python3/dist-packages")

# Run by this Python with -I, as a kernel starts but without PYTHONPATH (the kernel's is /course): the folders
# its imports come from (.pth additions included), its site folders and its base installation's, where
# find_spec finds the course's packages (an editable install's finder points at the checkout), and the files
# the course's distributions put beside them (.pth files, editable finders and their bytecode, egg-links).
_SURVEY = """
import importlib.util, json, os, site, sys
from importlib import metadata

names = sys.argv[1:]
specs, pointers = [], []
for name in names:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    specs += list(getattr(spec, "submodule_search_locations", None) or [])
for dist in metadata.distributions():
    try:
        files = dist.files or []
        if set((dist.read_text("top_level.txt") or "").split()) & set(names) or any(
                f.parts and f.parts[0] in names for f in files):
            pointers += [str(dist.locate_file(f)) for f in files if f.suffix in (".pth", ".egg-link")
                         or len(f.parts) == 1 and f.suffix == ".py"
                         or len(f.parts) == 2 and f.parts[0] == "__pycache__"]
    except Exception:  # a broken distribution of someone else's is not the course's
        pass
print(json.dumps({
    "path": [p for p in sys.path if os.path.isdir(p)],
    "sites": site.getsitepackages() + site.getsitepackages([sys.base_prefix, sys.base_exec_prefix]),
    "specs": specs,
    "pointers": pointers,
}))
"""


@dataclass(frozen=True)
class Installation:
    """This Python installation as a fresh interpreter sees it (real paths): see ``_SURVEY``."""

    path: tuple[str, ...]  # the import path
    sites: tuple[str, ...]  # site folders: its own, its base installation's, other Pythons' under /usr
    specs: tuple[str, ...]  # where the course's packages are found
    pointers: tuple[str, ...]  # the files the course's distributions installed beside its packages


_surveyed: dict[str, tuple[tuple, Installation]] = {}


def _fingerprint(installation: Installation) -> tuple:
    """What changes when a package is installed or removed: the modification times of its import folders."""
    stamps = []
    for folder in (*installation.path, *installation.sites):
        try:
            stamps.append(os.stat(folder).st_mtime_ns)
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def survey() -> Installation:
    """:func:`survey_now`, asked again only when a folder it names has changed (an install, an uninstall).

    The survey starts an interpreter (0.4 s); asked once per job, it was a third of a job's start.
    """
    cached = _surveyed.get(sys.executable)
    if cached is not None and _fingerprint(cached[1]) == cached[0]:
        return cached[1]
    installation = survey_now()
    _surveyed[sys.executable] = (_fingerprint(installation), installation)
    return installation


def survey_now() -> Installation:
    """Ask this Python (a fresh, isolated interpreter) where it imports from and where the course is installed."""
    done = subprocess.run([sys.executable, "-I", "-c", _SURVEY, *COURSE_PACKAGES], capture_output=True, text=True,
                          timeout=60, check=True)
    found = json.loads(done.stdout.splitlines()[-1])  # a .pth file may print too
    other_sites = [p for pattern in _OTHER_SITES for p in glob.glob(pattern)]
    return Installation(*(tuple(sorted(_real(paths))) for paths in (
        found["path"], found["sites"] + other_sites, found["specs"], found["pointers"])))


def _real(paths) -> set[str]:
    return {os.path.realpath(p) for p in paths}


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(dirs: set[str]) -> list[str]:
    return sorted(d for d in dirs if not any(d != o and _within(d, o) for o in dirs))


def _is_site(folder: str, installation: Installation) -> bool:
    return folder in installation.sites or folder.endswith("-packages")


def course_copies(installation: Installation) -> tuple[list[str], list[str]]:
    """Every copy of a course package that an import or a path could reach, as (packages, checkouts).

    A copy in a site folder (site-packages/helpers) is a package to replace; a copy anywhere
    else is part of a checkout (the repository an editable install points at, with its
    solutions/ beside it; an egg) to hide whole. The grader's own copy counts too.
    """
    folders = set(installation.path) | set(installation.sites)
    copies = {os.path.join(f, name) for f in folders for name in COURSE_PACKAGES}
    copies |= set(installation.specs) | _real(ROOT / name for name in COURSE_PACKAGES)
    copies = {c for c in copies if os.path.isdir(c)}
    packages = sorted(c for c in copies if _is_site(os.path.dirname(c), installation))
    checkouts = sorted({os.path.dirname(c) for c in copies if not _is_site(os.path.dirname(c), installation)})
    return packages, checkouts


def _interpreter_dirs(installation: Installation) -> set[str]:
    """The folders the kernel's Python needs: its venv, the Python it was made from, its import path."""
    dirs = _real((sys.prefix, sys.base_prefix, os.path.dirname(sys.executable)))
    dirs.add(os.path.abspath(sys.prefix))  # the venv's own folder name too (sys.executable may be a link into it)
    _, checkouts = course_copies(installation)
    return dirs | {p for p in installation.path if p not in checkouts}  # never a checkout a .pth adds


def python_dirs(installation: Installation | None = None) -> list[str]:
    """The folders of this Python installation outside /usr (mounted whole): the venv, the Python it was made
    from, and what its .pth files add to the import path (a venv layered on another's packages)."""
    dirs = _interpreter_dirs(installation or survey())
    return _outermost({d for d in dirs if not _within(d, "/usr")})


def _hide_course_copies(package: Path, installation: Installation, mounts: list[str]) -> list[str]:
    """bubblewrap arguments that show, in place of each course copy its ``mounts`` hold, ``package`` (the
    withheld copy, for a copy of that package) or an empty, read-only folder (a checkout, a copy of another
    package); and the course distributions' .pth files and finders unreadable (they point at the checkout;
    a device node bound without its device, which Python's ``site`` skips like a missing .pth file)."""
    def visible(path: str) -> bool:
        return any(_within(path, m) for m in mounts)

    def empty(folder: str, keep: list[str] = ()) -> list[str]:
        kept = [a for d in keep for a in (*_with_parents(d), "--ro-bind", d, d)]
        return ["--tmpfs", folder, *kept, "--remount-ro", folder]

    packages, checkouts = course_copies(installation)
    args = [a for f in installation.pointers if visible(f) and os.path.isfile(f) for a in ("--ro-bind", "/dev/null", f)]
    for folder in checkouts:
        if folder in mounts:  # a mount's own root (/usr/helpers...): its course packages only, below
            packages += [c for c in (os.path.join(folder, n) for n in COURSE_PACKAGES) if os.path.isdir(c)]
        elif visible(folder):  # what Python needs inside it (a venv in the checkout) is shown again
            args += empty(folder, [d for d in sorted(_interpreter_dirs(installation)) if _within(d, folder)])
    for copy in packages:
        if visible(copy):
            args += ["--ro-bind", str(package), copy] if os.path.basename(copy) == package.name else empty(copy)
    return args


def bwrap_argv(isolation: Isolation, *, package: Path, data: Path, runtime: Path, launcher: Path, startup: Path,
               tmpfs_mb: int) -> list[str]:
    """The bubblewrap command up to (and including) ``--``: the kernel's launcher command follows it.

    ``package``: the course package without the lesson's answers; it is the only copy of it the kernel sees.
    """
    installation = survey()
    args = [isolation.bwrap, *_namespaces(isolation.as_root), *_system_binds()]
    pythons = python_dirs(installation)
    for d in pythons:
        args += [*_with_parents(d), "--ro-bind", d, d]
    system = [os.path.realpath(f"/{name}") for name in _SYSTEM if os.path.isdir(f"/{name}")]
    args += _hide_course_copies(package, installation, sorted(set(system) | set(pythons)))
    args += ["--perms", "0755", "--dir", COURSE, "--ro-bind", str(package), f"{COURSE}/helpers",
             "--ro-bind", str(data), f"{COURSE}/data",
             "--perms", "0755", "--dir", "/grader", "--ro-bind", str(launcher), LAUNCHER,
             "--ro-bind", str(startup), STARTUP,
             *_with_parents(str(runtime)), "--bind", str(runtime), str(runtime),
             "--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(tmpfs_mb << 20), "--tmpfs", JOB, "--chdir", "/", "--"]
    return args
