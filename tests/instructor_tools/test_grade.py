"""The grading command, ``python -m instructor_tools.grade``: its files, and that stopping it stops everything.

What it grades and why it cannot be fooled is tested module by module in grading/.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from planted_lesson import FIRST, LESSON, THE_LESSON, solution_code, solved_except

from helpers import ROOT


def test_command_writes_gradebook_totals_and_feedback(tmp_path):
    """No kernel needed: a broken notebook, a missing one and a misnamed one."""
    folder = tmp_path / "submissions"
    (folder / "ada").mkdir(parents=True)
    (folder / "ada" / LESSON).write_text("not json")
    (folder / "bob").mkdir()
    (folder / "bob" / "02_upsampling.ipynb").write_text("{}")
    out = tmp_path / "grades.csv"
    done = subprocess.run([sys.executable, "-m", "instructor_tools.grade", str(folder), "--out", str(out), "--feedback",
                           str(tmp_path / "fb"), "--lessons", LESSON[:2]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["student_id", "notebook", "grade_id", "points", "max_points", "status", "message",
                             "isolation"]
    assert {(r["student_id"], r["status"]) for r in rows} == {
        ("ada", "invalid"), ("bob", "not_attempted"), ("bob", "invalid")}
    assert len([r for r in rows if r["student_id"] == "ada"]) == len(THE_LESSON.tests)
    totals = list(csv.DictReader((tmp_path / "grades_totals.csv").open()))
    assert {(t["student_id"], t["notebook"], t["points"], t["max_points"]) for t in totals} >= {
        ("ada", LESSON, "0", f"{THE_LESSON.max_points:g}")}
    assert "not valid JSON" in (tmp_path / "fb" / "ada" / f"{LESSON[:-6]}.md").read_text()


def test_names_that_are_not_utf8_still_give_every_output_whole(tmp_path):
    """A student folder and a file whose names are not UTF-8: rows with escaped names, the totals and the
    feedback written in full, every feedback file in its folder, no temporary file left behind."""
    folder = tmp_path / "submissions"
    odd = os.path.join(os.fsencode(folder), b"caf\xe9")
    os.makedirs(odd)
    with open(os.path.join(odd, LESSON.encode()), "w") as f:
        f.write("not json")
    (folder / "zed").mkdir()
    with open(os.path.join(os.fsencode(folder), b"zed", b"\xff.ipynb"), "w") as f:
        f.write("{}")
    feedback = tmp_path / "fb"
    done = grade(folder, tmp_path / "grades.csv", "--feedback", str(feedback), "--lessons", LESSON[:2])
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert {(r["student_id"], r["notebook"], r["status"]) for r in rows} == {
        ("caf\\xe9", LESSON, "invalid"), ("zed", "\\xff.ipynb", "invalid"), ("zed", LESSON, "not_attempted")}
    totals = list(csv.DictReader((tmp_path / "grades_totals.csv").open(encoding="utf-8")))
    assert sorted(t["student_id"] for t in totals) == ["caf\\xe9", "zed", "zed"]
    written = sorted(str(p.relative_to(feedback)) for p in feedback.rglob("*") if p.is_file())
    assert written == [f"caf\\xe9/{LESSON[:-6]}.md", f"zed/{LESSON[:-6]}.md", "zed/\\xff.md"]
    assert sorted(os.listdir(tmp_path)) == ["fb", "grades.csv", "grades_totals.csv", "submissions"]
    assert "caf\\xe9" in done.stderr


def grade(folder, out, *options, env=None):
    return subprocess.run([sys.executable, "-m", "instructor_tools.grade", str(folder), "--out", str(out), *options],
                          cwd=ROOT, capture_output=True, text=True, env=env)


def test_without_bubblewrap_it_refuses_and_says_what_to_install_unless_told(tmp_path):
    folder = tmp_path / "submissions"
    (folder / "ada").mkdir(parents=True)
    (folder / "ada" / LESSON).write_text("not json")
    no_bwrap = {**os.environ, "PATH": str(tmp_path / "empty")}  # bwrap cannot be found
    refused = grade(folder, tmp_path / "grades.csv", env=no_bwrap)
    assert refused.returncode == 2 and "apt-get install bubblewrap" in refused.stderr
    assert not (tmp_path / "grades.csv").exists()
    allowed = grade(folder, tmp_path / "grades.csv", "--unsandboxed", env=no_bwrap)
    assert allowed.returncode == 0, allowed.stderr
    assert "isolation: none: unsandboxed" in allowed.stderr


def test_names_with_control_characters_are_escaped_on_the_terminal(tmp_path):
    folder = tmp_path / "submissions"
    evil = "eve\x1b[2J\x1b]0;pwned\x07"
    (folder / evil).mkdir(parents=True)
    (folder / evil / LESSON).write_text("not json")
    done = grade(folder, tmp_path / "grades.csv", "--unsandboxed")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "eve" in done.stderr


def sleeper(token: str) -> str:
    """The first exercise solved, then a child process marked with ``token`` and a cell that sleeps."""
    return solution_code(FIRST) + (
        f"\nimport subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', "
        f"{token!r}])\ntime.sleep(300)\n")


def processes_with(*markers: str) -> list[str]:
    """The processes whose command line or environment holds one of ``markers``: 'pid command'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            seen = command + (entry / "environ").read_bytes()
        except OSError:  # it ended meanwhile, or is not ours to read
            continue
        if any(m.encode() in seen for m in markers):
            found.append(f"{entry.name} {command.replace(bytes(1), b' ')[:200].decode(errors='replace')}")
    return found


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"no {what} after {seconds:g} s"
        time.sleep(0.2)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_stopped_grader_leaves_no_worker_sandbox_or_kernel_behind(tmp_path, signum, isolation):
    """Two submissions sleep in a cell, each in its sandbox under its worker; the grader gets ``signum``.

    Every process of the grader's tree is marked: the workers carry its TMPDIR in their environment,
    bubblewrap and the kernels its job folders in their command lines, the cells' children a token.
    """
    token = f"course-sleeper-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "submissions"
    for student in ("ada", "bob"):
        (folder / student).mkdir(parents=True)
        nbformat.write(solved_except(FIRST, sleeper(token)), folder / student / LESSON)
    marker = tempfile.mkdtemp(prefix="cgsig-")  # short: the kernels' socket paths are made in it
    grader = subprocess.Popen([sys.executable, "-m", "instructor_tools.grade", str(folder), "--out",
                               str(tmp_path / "grades.csv"), "--jobs", "2", "--timeout", "300"], cwd=ROOT,
                              env={**os.environ, "TMPDIR": marker}, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(processes_with(token)) >= 2, 180, "two sleeping cells")
        assert [p for p in processes_with(marker) if "bwrap" in p], "no sandbox in sight"
        grader.send_signal(signum)
        stderr = grader.communicate(timeout=30)[1]
        wait_for(lambda: not processes_with(marker, token), 10, "end of the grader's processes")
    finally:
        if grader.poll() is None:
            grader.kill()
        shutil.rmtree(marker, ignore_errors=True)
    if signum != signal.SIGKILL:  # stopped, not killed: it said so, ended everything and cleaned up after itself
        assert grader.returncode == 128 + signum and "grading stopped" in stderr, stderr
        assert not (tmp_path / "grades.csv").exists()


#: The notebook stack that grading needs and its command line does not.
NOTEBOOK_STACK = ("nbformat", "nbclient", "nbconvert", "jupyter_client")


def test_help_works_where_the_notebook_stack_is_not_installed():
    """``--help`` (and a usage error) must not need nbformat: an instructor reads them before installing anything.

    ``sys.modules[name] = None`` makes every import of ``name`` fail as if it were not installed.
    """
    blocker = "; ".join(f"sys.modules[{name!r}] = None" for name in NOTEBOOK_STACK)
    start = (f"import runpy, sys; {blocker}; sys.argv = ['grade', '--help']; "
             "runpy.run_module('instructor_tools.grade', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", start], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m instructor_tools.grade") and "--unsandboxed" in result.stdout
    blocked = subprocess.run([sys.executable, "-c", f"import sys; {blocker}; import nbformat"], capture_output=True,
                             text=True, timeout=60)
    assert blocked.returncode == 1 and "ModuleNotFoundError" in blocked.stderr  # the blocker does block
