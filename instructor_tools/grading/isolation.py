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

``--sandbox pod`` is for a container that *is* the sandbox, where bubblewrap cannot make
namespaces (default container runtimes refuse user namespaces): one shard per pod, a non-root
user without capabilities, no egress, read-only course files, limits set by the Job. The grader
checks what it can of that (:func:`pod_problems`) and refuses to run where a check fails. Each
kernel is then confined by Landlock alone (:mod:`sandbox`, ABI 6+ required): it reads and
executes only beneath its Python, its lesson's withheld package and data and the system's
folders (:func:`pod_read_paths`), never the course's checkout, the solutions or the batch's
folders; it cannot ptrace, read the memory of or signal any process outside its own Landlock
domain (the grader, its worker, other kernels), and it has no TCP.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT

from .sandbox import landlock_abi

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

    kind: str  # "bubblewrap" | "pod" | "none"
    bwrap: str | None = None
    as_root: bool = False

    @property
    def bounds(self) -> str:
        """One line for the gradebook: what confined each kernel."""
        if self.kind == "none":
            return "none: unsandboxed (--unsandboxed), per-process limits and Landlock where available"
        if self.kind == "pod":
            return ("pod: the container is the sandbox (non-root, no capabilities, no egress, read-only course "
                    "files); per kernel Landlock: reads only its Python, package and data, no ptrace, signals or "
                    "TCP outside its job; memory watchdog")
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


def detect(allow_unsandboxed: bool = False, sandbox: str = "bwrap") -> Isolation:
    """bubblewrap if it works here; else :class:`SandboxUnavailable`, unless ``allow_unsandboxed``.

    ``sandbox="pod"``: the pod's own confinement instead (see the module), or :class:`SandboxUnavailable`
    naming each check that fails; ``allow_unsandboxed`` never stands in for a pod that fails its checks.
    """
    if sandbox == "pod":
        problems = pod_problems()
        if problems:
            raise SandboxUnavailable(
                "cannot grade in --sandbox pod: " + "; ".join(problems) + ". Run the grader in a pod as "
                "deploy/k8s/grade-job.yaml sets it up, or use --sandbox bwrap where bubblewrap works")
        return Isolation("pod")
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


# --------------------------------------------------------------------------- --sandbox pod

#: The Landlock ABI a pod's kernels need: 6 (Linux 6.12) scopes signals and abstract sockets to the kernel's own
#: domain; without it a kernel, which runs as the grader's uid, could kill the grader or another kernel.
POD_LANDLOCK_ABI = 6
_CAP_NAMES = dict(enumerate(("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
                               "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP")))
_CAP_NAMES.update({19: "CAP_SYS_PTRACE", 21: "CAP_SYS_ADMIN"})
#: Where a pod's egress is tried when it has a route out: the cluster's API server, when Kubernetes names it, and
#: two public resolvers. ``COURSE_GRADER_EGRESS_PROBES`` ("host:port host:port") replaces them.
EGRESS_PROBES = ("1.1.1.1:443", "8.8.8.8:53")
EGRESS_TIMEOUT_S = 2.0


def root_problem(euid: int | None = None) -> str | None:
    """In a pod the grader, and so each kernel, runs as a user other than root."""
    euid = os.geteuid() if euid is None else euid
    return ("it runs as root (uid 0): run the pod as a non-root user (securityContext runAsNonRoot: true, "
            "runAsUser)") if euid == 0 else None


def capability_problem(status: str | None = None) -> str | None:
    """No capability at all (what a kernel could inherit): ``CapEff`` and ``CapPrm`` of /proc/self/status."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return "/proc/self/status cannot be read, so its capabilities cannot be checked"
    caps = {line.split(":")[0]: int(line.split(":")[1], 16) for line in status.splitlines()
            if line.startswith(("CapEff:", "CapPrm:", "CapAmb:"))}
    held = 0
    for value in caps.values():
        held |= value
    if not held:
        return None
    names = [_CAP_NAMES.get(bit, f"capability {bit}") for bit in range(64) if held >> bit & 1]
    return f"it holds capabilities ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''}): drop them all " \
           "(securityContext capabilities: drop: [ALL])"


def routes_out(ipv4: str | None = None, ipv6: str | None = None) -> list[str]:
    """The interfaces other than loopback that have a route (/proc/net/route, /proc/net/ipv6_route)."""
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""
    ipv4 = read("/proc/net/route") if ipv4 is None else ipv4
    ipv6 = read("/proc/net/ipv6_route") if ipv6 is None else ipv6
    interfaces = {line.split()[0] for line in ipv4.splitlines()[1:] if line.split()}
    interfaces |= {line.split()[-1] for line in ipv6.splitlines() if line.split()}
    return sorted(i for i in interfaces if i != "lo")


def egress_probes(environ: dict | None = None) -> list[tuple[str, int]]:
    """Where to try to connect: ``COURSE_GRADER_EGRESS_PROBES``, else the API server and :data:`EGRESS_PROBES`."""
    environ = os.environ if environ is None else environ
    named = environ.get("COURSE_GRADER_EGRESS_PROBES", "").split()
    if not named:
        api = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
        named = ([f"{api[0]}:{api[1]}"] if all(api) else []) + list(EGRESS_PROBES)
    return [(host.strip("[]"), int(port)) for host, _, port in (p.rpartition(":") for p in named)]


def answered(address: tuple[str, int], timeout: float = EGRESS_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``address`` is made (a network policy that denies egress drops it)."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def network_problem(routes: list[str] | None = None, probes: list[tuple[str, int]] | None = None) -> str | None:
    """No route out, or every route's egress denied: no probe address answers."""
    routes = routes_out() if routes is None else routes
    if not routes:
        return None
    for address in egress_probes() if probes is None else probes:
        if answered(address):
            return (f"the network reaches out ({address[0]}:{address[1]} answered through {', '.join(routes)}): "
                    "deny the pod's egress (the NetworkPolicy in deploy/k8s/grade-job.yaml)")
    return None


def writable_problem(paths: list[Path] | None = None) -> str | None:
    """The course's files (its packages, the solutions, the Python installation) are read-only to the grader."""
    if paths is None:
        paths = [ROOT / name for name in (*COURSE_PACKAGES, "solutions", "data")] + [Path(sys.prefix)]
    writable = [str(p) for p in paths if p.exists() and os.access(p, os.W_OK)]
    return (f"course files are writable ({', '.join(writable)}): mount them read-only "
            "(securityContext readOnlyRootFilesystem: true, the course in the image)") if writable else None


def landlock_problem(abi: int | None = None) -> str | None:
    """Landlock, at the ABI that scopes signals: the kernels' only confinement in a pod."""
    abi = landlock_abi() if abi is None else abi
    if abi >= POD_LANDLOCK_ABI:
        return None
    found = f"ABI {abi}" if abi else "none"
    return (f"Landlock ABI {POD_LANDLOCK_ABI} or later (Linux 6.12+, not blocked by the runtime's seccomp profile) "
            f"is needed to confine each kernel, found {found}")


def installed_copy_problem(installation: Installation | None = None) -> str | None:
    """No copy of the course with its answers where a pod's kernel may read: a non-editable install's
    site-packages/helpers, or the checkout itself inside a folder the kernel reads (a venv around it, /usr).
    In a pod nothing hides them, as bubblewrap's mounts do."""
    installation = installation or survey()
    packages, checkouts = course_copies(installation)
    readable = _pod_readable(installation)
    exposed = [p for p in (*packages, *checkouts, str(ROOT.resolve())) if any(_within(p, d) for d in readable)]
    return (f"a copy of the course with its answers is where the kernels read ({', '.join(sorted(set(exposed)))}): "
            "install the course editable (pip install -e .) outside the venv and /usr, as the Containerfile "
            "does") if exposed else None


def pod_problems() -> list[str]:
    """Every check of :func:`detect` ``(sandbox="pod")`` that fails here, in words (empty: the pod will do)."""
    checks = (root_problem, capability_problem, network_problem, writable_problem, landlock_problem,
              installed_copy_problem)
    return [problem for problem in (check() for check in checks) if problem]


def pod_read_paths(course: Path, data: Path) -> list[str]:
    """What a pod's kernel may read and execute (:mod:`sandbox`'s ``--read``): the system's folders and /etc,
    /proc, /sys and /dev (the memory and files of other processes stay behind Landlock's ptrace rule), this
    Python installation (never a checkout it lives in), and the lesson's course folder (its withheld package, the
    link to the data: its import path, which Python lists) and the data."""
    return sorted({*_pod_readable(survey()), os.path.realpath(course), os.path.realpath(data)})


def _pod_readable(installation: Installation) -> set[str]:
    system = [os.path.realpath(f"/{name}") for name in _SYSTEM if os.path.isdir(f"/{name}")]
    return {*system, "/etc", "/proc", "/sys", "/dev", *python_dirs(installation)}
