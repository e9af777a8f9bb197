"""The kernel's sandbox: Landlock is there, and a kernel cannot write, connect or signal outside its folder."""

from __future__ import annotations

import os
import socket

from helpers import ROOT
from instructor_tools.grading import Limits, sandbox_available
from instructor_tools.grading.runner import run_cells


def test_this_machine_can_sandbox_submissions():
    assert sandbox_available(), "the grader needs Linux Landlock (5.13+) to keep submissions in their folder"


def test_sandbox_blocks_writes_connections_and_signals(tmp_path):
    batch, outside = tmp_path / "batch", tmp_path / "outside"
    batch.mkdir()
    outside.mkdir()
    os.chmod(batch, 0o711)
    os.chmod(outside, 0o777)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    attempts = {
        "write_course": f"open({str(ROOT / 'helpers' / 'pwned.py')!r}, 'w')",
        "write_outside": f"open({str(outside / 'pwned.txt')!r}, 'w')",
        "mkdir_outside": f"import os; os.mkdir({str(outside / 'pwned')!r})",
        "connect": f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)",
        "signal_grader": f"import os, signal; os.kill({os.getpid()}, signal.SIGTERM)",
        "shell": f"import subprocess; subprocess.run(['touch', {str(outside / 'by_shell')!r}], check=True)",
    }
    cells = list(attempts.values()) + ["open('mine.txt', 'w').write('ok'); import os, tempfile\n"
                                       "open(os.path.join(tempfile.gettempdir(), 'x'), 'w').write('ok')"]
    results = run_cells(batch, "t", cells, Limits(timeout=20))
    listener.close()
    for (what, _), r in zip(attempts.items(), results):
        assert r["status"] == "error", (what, r)
        assert r["ename"] in ("PermissionError", "CalledProcessError"), (what, r)
    assert results[-1]["status"] == "ok"  # its own folder and TMPDIR are writable
    assert not (ROOT / "helpers" / "pwned.py").exists() and list(outside.iterdir()) == []
