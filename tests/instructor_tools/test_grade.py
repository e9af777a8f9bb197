"""The grading command, ``python -m instructor_tools.grade``: its files, without a kernel.

What it grades and why it cannot be fooled is tested module by module in grading/.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys

from planted_lesson import LESSON, THE_LESSON

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
