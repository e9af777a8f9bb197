"""Choosing the sandbox: bubblewrap or a refusal that says what to install; the command it builds."""

from __future__ import annotations

import os
import sys
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
