"""The hidden tests never travel back to a student, whatever the student's code does with them.

A kernel can read each cell's source as it runs (a ``pre_run_cell`` hook, an input transformer), the
graded test cells included, and hand it back in an error's message, in an exception class's name or
as the value it returns. A small planted batch of lesson 02 (graded once for this module) tries each;
no 20-character window of the hidden tests (that the student notebook does not show) may reach the
gradebook or the feedback, while a learner's error before the first graded test keeps its message.
"""

from __future__ import annotations

import re
import sys

import nbformat
import pytest
from planted_lesson import (
    EXERCISES,
    FIRST,
    LESSON,
    RECORD_BY_HOOK,
    TARGET,
    THE_LESSON,
    TIMEOUT,
    class_named_with_source,
    fails_with_the_last_test,
    hidden_windows,
    raises_with_source,
    returns_source,
    solution_code,
    student_notebook,
)

from instructor_tools.grading import Limits, grade_folder
from instructor_tools.grading.compare import WITHHELD
from instructor_tools.grading.report import feedback_text, write_gradebook

SECOND = EXERCISES[1]
LEARNER = "print(undefined_learner_name)\n"  # a learner's slip in the first exercise, before any graded test


def attacks() -> dict:
    solved = {ex: solution_code(ex) for ex in EXERCISES}
    return {
        # The first exercise fails on the learner's NameError; the last one raises with the test's source.
        "raises": student_notebook({**solved, FIRST: LEARNER + solution_code(FIRST),
                                    TARGET: raises_with_source(TARGET)}),
        # The second exercise's cell raises, named with the first test's source; the last one likewise when called.
        "class_named": student_notebook({**solved, FIRST: solution_code(FIRST) + RECORD_BY_HOOK,
                                         SECOND: fails_with_the_last_test(SECOND),
                                         TARGET: class_named_with_source(TARGET)}),
        "returns": student_notebook({**solved, TARGET: returns_source(TARGET)}),
    }


@pytest.fixture(scope="module")
def leaks(tmp_path_factory):
    """The attacks graded: ``{student: (Graded, the gradebook's text, the feedback's text)}``."""
    root = tmp_path_factory.mktemp("hidden")
    for student, nb in attacks().items():
        (root / "submissions" / student).mkdir(parents=True)
        nbformat.write(nb, root / "submissions" / student / LESSON)
    graded = grade_folder(root / "submissions", lessons=[LESSON[:2]], limits=Limits(timeout=TIMEOUT), jobs=2,
                          progress=lambda line: print(line, file=sys.stderr))
    out = {}
    for g in graded:
        write_gradebook([g], root / f"{g.student_id}.csv")
        out[g.student_id] = (g, (root / f"{g.student_id}.csv").read_text(encoding="utf-8"), feedback_text(g))
    return out


def normalised(text: str) -> str:
    return " ".join(text.replace('"', "'").split())


def test_the_hidden_tests_have_windows_to_look_for():
    windows = hidden_windows()
    assert len(windows) > 200 and any("rng.normal(size=(1, 2, 5, 4))" in w for w in hidden_windows(29))


@pytest.mark.slow
@pytest.mark.parametrize("student", ["raises", "class_named", "returns"])
def test_no_window_of_the_hidden_tests_reaches_the_gradebook_or_the_feedback(leaks, student):
    g, gradebook, feedback = leaks[student]
    assert g.rows and all(r.points == 0 for r in g.rows if r.exercise == TARGET)
    for text in (gradebook, feedback):
        text = normalised(text)
        leaked = sorted(w for w in hidden_windows() if w in text)
        assert not leaked, leaked[:5]


@pytest.mark.slow
def test_after_a_test_ran_an_error_is_named_only_by_a_builtin_exception(leaks):
    by_exercise = {ex: [r for r in leaks["raises"][0].rows if r.exercise == ex] for ex in EXERCISES}
    assert [(r.status, r.message) for r in by_exercise[TARGET]] == [("error", f"ValueError: {WITHHELD}")]
    named = leaks["class_named"][0].rows
    assert [r.message for r in named if r.exercise == TARGET] == [f"an exception: {WITHHELD}"]
    assert [r.message for r in named if r.exercise == SECOND] == [f"in the exercise cell: an exception: {WITHHELD}"]


@pytest.mark.slow
def test_a_returned_string_is_told_by_its_length(leaks):
    message = next(r.message for r in leaks["returns"][0].rows if r.exercise == TARGET)
    assert re.search(r"got str <\d+ characters, not shown>", message), message


@pytest.mark.slow
def test_a_learners_error_before_the_first_test_keeps_its_message(leaks):
    g = leaks["raises"][0]
    first = [r for r in g.rows if r.exercise == FIRST]
    assert first and all(r.status == "error" for r in first)
    assert "in the exercise cell: NameError: name 'undefined_learner_name' is not defined" in first[0].message
    others = [r for r in g.rows if r.exercise not in (FIRST, TARGET)]
    assert others and all(r.status == "passed" for r in others)
    assert g.max_points == THE_LESSON.max_points
