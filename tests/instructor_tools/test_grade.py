"""The grading command, ``python -m instructor_tools.grade``: its files, without a kernel.

What it grades and why it cannot be fooled is tested module by module in grading/.
"""

from __future__ import annotations

import csv
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
    assert list(rows[0]) == ["student_id", "notebook", "grade_id", "points", "max_points", "status", "message"]
    assert {(r["student_id"], r["status"]) for r in rows} == {
        ("ada", "invalid"), ("bob", "not_attempted"), ("bob", "invalid")}
    assert len([r for r in rows if r["student_id"] == "ada"]) == len(THE_LESSON.tests)
    totals = list(csv.DictReader((tmp_path / "grades_totals.csv").open()))
    assert {(t["student_id"], t["notebook"], t["points"], t["max_points"]) for t in totals} >= {
        ("ada", LESSON, "0", f"{THE_LESSON.max_points:g}")}
    assert "not valid JSON" in (tmp_path / "fb" / "ada" / f"{LESSON[:-6]}.md").read_text()
