"""The slicer fails closed (issue 24): a test cell that would leave its expected values in the kernel is refused.

Lesson 01's first test, rewritten as a loop over (input, expected) pairs, would keep the loop (and
``want``, the expected value of the case being checked) in the student's kernel. An echo submission,
one that returns what it finds there, then took the point. Now the grader refuses the lesson as
malformed, before any kernel runs: every row of it is an ``error`` worth nothing, and its message says
what the author must change. (Refused rather than graded: the grader cannot prove a loop's expected
values out of the kernel, and a lesson it cannot grade soundly is the author's to fix.)
"""

from __future__ import annotations

import sys

import nbformat
import pytest
from planted_lesson import grade_id

from helpers import ROOT
from instructor_tools import lesson
from instructor_tools.grading import Limits, grade_folder

LESSON = "01_why_upsampling.ipynb"
EXERCISE, TEST = "invented_fraction", "test_invented_fraction"

AS_A_LOOP = '''from helpers import checks

for scale, want in [(2, 0.75), (1, 0.0), (4, 0.9375), (3, 8 / 9)]:
    checks.check_value(invented_fraction(scale), want, name=f"invented_fraction({scale})")
'''

ECHO = '''import sys


def invented_fraction(scale):
    """Nothing computed: the value the test cell holds for this case, read from the caller's globals."""
    return sys._getframe(1).f_globals.get("want")
'''


def course_with_loop(root):
    """A course folder: lesson 01 with its first test written as a loop, the course's helpers and data."""
    course = root / "course"
    (course / "solutions").mkdir(parents=True)
    solution = nbformat.read(ROOT / "solutions" / LESSON, as_version=4)
    next(c for c in solution.cells if grade_id(c) == TEST).source = AS_A_LOOP
    nbformat.write(solution, course / "solutions" / LESSON)
    for folder in ("helpers", "data"):
        (course / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return course, solution


@pytest.mark.slow
def test_a_loop_over_expected_values_is_refused_and_the_echo_earns_nothing(tmp_path):
    course, solution = course_with_loop(tmp_path)
    echo = nbformat.read(ROOT / "notebooks" / LESSON, as_version=4)
    next(c for c in echo.cells if grade_id(c) == EXERCISE).source = ECHO
    (tmp_path / "submissions" / "echo").mkdir(parents=True)
    nbformat.write(echo, tmp_path / "submissions" / "echo" / LESSON)

    graded = grade_folder(tmp_path / "submissions", limits=Limits(timeout=120), jobs=1, course=course,
                          progress=lambda line: print(line, file=sys.stderr))

    assert [g.student_id for g in graded] == ["echo"]
    rows = graded[0].rows
    assert sum(r.points for r in rows) == 0, [(r.grade_id, r.status, r.message) for r in rows]
    assert {r.status for r in rows} == {"error"}, [(r.grade_id, r.status, r.message) for r in rows]
    assert all("malformed" in r.message and f"test {TEST!r}: a check in a loop" in r.message for r in rows), rows
    with pytest.raises(lesson.BuildError, match="a check in a loop"):  # and the build refuses it too
        lesson.student_version(lesson.normalise_solution(solution, LESSON), LESSON)
