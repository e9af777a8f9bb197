"""Choosing the sandbox: bubblewrap or a refusal that says what to install; the command it builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from instructor_tools.grading import isolation as iso
from instructor_tools.grading import runner


def test_without_bubblewrap_the_grader_refuses_and_says_what_to_install(monkeypatch):
    monkeypatch.setattr(iso.shutil, "which", lambda name: None)
    with pytest.raises(iso.SandboxUnavailable, match="apt-get install bubblewrap") as refused:
        iso.detect()
    assert "--unsandboxed" in str(refused.value)
    unsafe = iso.detect(allow_unsandboxed=True)
    assert unsafe.kind == "none" and unsafe.job_uid() == 0 and unsafe.bounds.startswith("none: unsandboxed")


def test_a_bubblewrap_that_fails_here_is_refused_too(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(iso.shutil, "which", lambda name: str(fake))
    with pytest.raises(iso.SandboxUnavailable, match="No permissions to creating new namespace"):
        iso.detect()


def test_the_sandbox_holds_only_the_system_python_package_data_and_its_own_places(tmp_path):
    isolation = iso.Isolation("bubblewrap", "/usr/bin/bwrap", as_root=True)
    argv = iso.bwrap_argv(isolation, package=tmp_path / "helpers", data=tmp_path / "data", runtime=tmp_path / "rt",
                          launcher=Path("/x/sandbox.py"), startup=tmp_path / "s.py", tmpfs_mb=64)
    binds = [(argv[i], argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    writable = [b for b in binds if b[0] == "--bind"]
    assert writable == [("--bind", str(tmp_path / "rt"), str(tmp_path / "rt"))]  # the kernel's sockets, only
    sources = {b[1] for b in binds}
    assert str(tmp_path / "helpers") in sources and str(tmp_path / "data") in sources
    assert not any(s in sources for s in (os.path.expanduser("~"), "/", "/home", "/tmp", "/etc"))
    assert {"--unshare-pid", "--unshare-net", "--die-with-parent"} <= set(argv)
    assert argv[argv.index("--tmpfs") - 2:argv.index("--tmpfs") + 2] == ["--size", str(64 << 20), "--tmpfs", "/job"]
    assert os.path.realpath(sys.base_prefix) in sources or sys.base_prefix.startswith("/usr")
    unprivileged = iso.bwrap_argv(iso.Isolation("bubblewrap", "bwrap", as_root=False), package=tmp_path,
                                  data=tmp_path, runtime=tmp_path, launcher=Path("/x"), startup=tmp_path, tmpfs_mb=1)
    assert "--unshare-user" in unprivileged and "CAP_SETUID" not in unprivileged


def test_job_uids_are_fresh_and_never_root():
    isolation = iso.Isolation("bubblewrap", "bwrap", as_root=True)
    uids = {isolation.job_uid() for _ in range(50)}
    assert len(uids) > 45 and min(uids) >= 2_000_000_000
    assert iso.Isolation("bubblewrap", "bwrap", as_root=False).job_uid() == 0  # keeps the grader's own


def test_the_budget_is_a_small_multiple_of_the_cell_timeout():
    assert runner.Limits(timeout=5, isolation=iso.Isolation("none")).budget_s() == 60
    assert runner.Limits(timeout=60, budget=100, isolation=iso.Isolation("none")).budget_s() == 100


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


SEEN = """
import json, os, sys
site, checkout = sys.argv[1:]
def read(path):
    try:
        return sorted(os.listdir(path)) if os.path.isdir(path) else open(path).read()
    except FileNotFoundError:
        return None
    except PermissionError:
        return "unreadable"
print(json.dumps({p: read(p) for p in (f"{site}/helpers/reference.py", f"{site}/helpers/__pycache__",
            f"{site}/instructor_tools", f"{site}/course.pth", f"{site}/numpy.py", checkout,
            f"{checkout}/solutions/answers.ipynb", f"{checkout}/.venv/lib/site-packages/torch.py")}))
"""


def test_every_copy_of_the_course_in_the_mounted_installation_is_the_withheld_one_or_hidden(tmp_path, monkeypatch):
    """A non-editable install's site-packages/helpers (answers, bytecode), its instructor_tools, the course's .pth
    files, and a checkout on the import path (its solutions/ beside it) are replaced or hidden; the rest stays."""
    try:
        isolation = iso.detect()
    except iso.SandboxUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    os.chmod(tmp_path, 0o755)
    site = tmp_path / "env" / "site-packages"
    _write(site / "helpers" / "reference.py", "def upsample_nearest(x): return 'the answer'")
    _write(site / "helpers" / "__pycache__" / "reference.cpython-311.pyc", "bytecode of the answer")
    _write(site / "instructor_tools" / "grading" / "answers.py", "the grader")
    _write(site / "course.pth", str(tmp_path / "env" / "src" / "course"))
    _write(site / "numpy.py", "someone else's package")
    checkout = tmp_path / "env" / "src" / "course"  # in a mounted folder, on the path (a legacy editable install)
    _write(checkout / "helpers" / "reference.py", "the answer")
    _write(checkout / "solutions" / "answers.ipynb", "the solutions")
    _write(checkout / ".venv" / "lib" / "site-packages" / "torch.py", "a package the kernel needs")
    installation = iso.Installation(
        path=tuple(sorted({*iso.survey().path, str(tmp_path / "env"), str(site), str(checkout),
                           str(checkout / ".venv" / "lib" / "site-packages")})),
        sites=(str(site),), specs=(str(checkout / "helpers"),), pointers=(str(site / "course.pth"),))
    monkeypatch.setattr(iso, "survey", lambda: installation)
    withheld = _write(tmp_path / "withheld" / "helpers" / "reference.py", "withheld").parent
    startup = _write(tmp_path / "s.py", "")
    argv = iso.bwrap_argv(isolation, package=withheld, data=tmp_path, runtime=tmp_path / "rt", launcher=startup,
                          startup=startup, tmpfs_mb=1)
    (tmp_path / "rt").mkdir()
    done = subprocess.run([*argv, sys.executable, "-I", "-c", SEEN, str(site), str(checkout)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        f"{site}/helpers/reference.py": "withheld",
        f"{site}/helpers/__pycache__": None,
        f"{site}/instructor_tools": [],
        f"{site}/course.pth": "unreadable",  # Python's site skips a .pth file it cannot read
        f"{site}/numpy.py": "someone else's package",
        str(checkout): [".venv"],
        f"{checkout}/solutions/answers.ipynb": None,
        f"{checkout}/.venv/lib/site-packages/torch.py": "a package the kernel needs",
    }


def test_the_installation_is_surveyed_again_only_when_it_changed(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    site.mkdir()
    calls = []

    def survey_now():
        calls.append(1)
        return iso.Installation(path=(str(site),), sites=(str(site),), specs=(), pointers=())

    monkeypatch.setattr(iso, "survey_now", survey_now)
    monkeypatch.setattr(iso, "_surveyed", {})
    first = iso.survey()
    assert iso.survey() is first and len(calls) == 1  # one interpreter per batch, not one per job
    time.sleep(0.01)
    (site / "helpers").mkdir()  # the course installed meanwhile: its copy must be found and hidden
    iso.survey()
    assert len(calls) == 2
