"""The test cells the kernels run: without their expected values, with everything the student's side needs."""

from __future__ import annotations

import ast

import pytest

from instructor_tools.grading.answers import withheld
from instructor_tools.grading.batch import lessons_in
from instructor_tools.grading.notebook import load_lesson
from instructor_tools.grading.testcells import BadTestCell, student_side


def test_expected_values_and_what_only_they_need_are_gone():
    source = '''
def reference_thing(x):
    return secret_formula(x) * 31337


ref = reference_thing(3)
rng = make_rng(0)
checks.check_value(thing(3), ref, name="thing(3)")
checks.check_value(other(2), 424242)
checks.check_array(thing(rng), expected=reference_thing(rng), rtol=1e-3)
checks.check_function(thing, reference_thing, [(1,), (2,)])
checks.check_raises(thing, ValueError, -1)
'''
    out = student_side(source)
    for leak in ("31337", "424242", "reference_thing", "secret_formula", "ref ="):
        assert leak not in out
    assert "rng = make_rng(0)" in out and "thing(3)" in out and "check_raises(thing, ValueError, -1)" in out
    assert out.count("None") == 4
    ast.parse(out)


def test_a_test_cell_without_a_value_check_or_with_a_hidden_expected_argument_is_refused():
    with pytest.raises(BadTestCell, match="calls no check"):
        student_side("checks.check_raises(f, ValueError, 1)")
    with pytest.raises(BadTestCell, match="written out"):
        student_side("checks.check_value(*pair)")
    with pytest.raises(BadTestCell, match="not plain Python"):
        student_side("%timeit f()")


@pytest.mark.parametrize("name", sorted(lessons_in()))
def test_no_graded_run_of_a_lesson_mentions_an_answer_or_an_expected_argument(name):
    """What the kernels run of every lesson's test cells: no withheld helper, no expected value."""
    lesson = load_lesson(lessons_in()[name])
    answers = {f for names in withheld(name).values() for f in names}
    for test in lesson.tests:
        tree = ast.parse(lesson.code[test.index])
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in answers, (test.grade_id, node.attr)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("check_array", "check_value",
                                                                               "check_function"):
                assert len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value is None
