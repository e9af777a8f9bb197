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


def test_known_mistakes_are_expected_values_too():
    """A mistake's version of the answer is a near-answer: gone from the kernel, like the reference."""
    source = '''
def not_flipped(x, w):
    return reference.conv_transpose2d(x, w[..., ::-1, ::-1]) * 271828


x, w = make(0), make(1)
checks.check_function(mine, reference.conv_transpose2d, [(x, w)], mistakes={"with the kernel not flipped": not_flipped},
                      hints={"broadcast": "in and out not swapped"})
checks.check_value(crop(3, 2), (0, 1), mistakes={"with the odd row on top": (1, 0) if 161803 else None})
'''
    out = student_side(source)
    for leak in ("271828", "161803", "not_flipped", "conv_transpose2d", "odd row"):
        assert leak not in out
    assert out.count("mistakes=None") == 2 and "in and out not swapped" in out  # a hint is words, no answer
    solution_run = student_side(source, keep_mistakes=True)  # the solution's run reports the mistakes' values
    assert "def not_flipped" in solution_run and "mistakes={'with the kernel not flipped': not_flipped}" in solution_run
    assert "mistakes={'with the odd row on top'" in solution_run and "reference.conv_transpose2d, [" not in solution_run
    with pytest.raises(BadTestCell, match="uses the value of `y`, an input that the student's kernel holds"):
        student_side("y = mine(x)\nchecks.check_value(y, 3, mistakes={'doubled': y * 2})")


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
                for kw in node.keywords:  # a known mistake's value is a near-answer
                    assert kw.arg != "mistakes" or (isinstance(kw.value, ast.Constant) and kw.value.value is None)


# ------------------------------------------------------------------ the slicer fails closed (issue 24)
# Common ways of writing a check of ``f`` whose expected value is 0.7531 (or ``reference_f(2)``, or
# ``want``). Each one is either refused (BadTestCell, with the words that say what to do instead)
# or reduced to a student's side that holds no trace of the expected value.

REFUSED = {
    "loop over (input, expected) pairs": (
        "for n, want in [(2, 0.7531), (4, 0.9375)]:\n    checks.check_value(f(n), want)", "in a loop"),
    "while loop": ("i = 0\nwhile i < 1:\n    checks.check_value(f(2), 0.7531)\n    i += 1", "in a loop"),
    "helper function that calls a check": (
        "def check(n, want):\n    checks.check_value(f(n), want)\n\n\ncheck(2, 0.7531)", "in a function"),
    "lambda that calls a check": ("run = lambda n, want: checks.check_value(f(n), want)\nrun(2, 0.7531)",
                                  "in a lambda"),
    "comprehension": ("[checks.check_value(f(n), w) for n, w in [(2, 0.7531)]]", "in a comprehension"),
    "check inside an if": ("if f(2) is not None:\n    checks.check_value(f(2), 0.7531)", "in an if"),
    "check inside a try": ("try:\n    checks.check_value(f(2), 0.7531)\nexcept ValueError:\n    pass", "in a try"),
    "keyword arguments assembled in a dict": (
        'kw = {"expected": 0.7531, "name": "f(2)"}\nchecks.check_value(f(2), **kw)', "written out"),
    "arguments assembled in a tuple": ("pair = (f(2), 0.7531)\nchecks.check_value(*pair)", "written out"),
    "expected taken out of a dict the actual side reads too": (
        'case = {"n": 2, "expected": 0.7531}\nchecks.check_value(f(case["n"]), case["expected"])',
        "takes a part of `case`"),
    "expected computed in an earlier cell (unknown)": ("checks.check_value(f(2), want)", "earlier cell"),
    "walrus": ("checks.check_value(f(n := 2), want := 0.7531)", ":="),
    "expected computed in a with block": (
        "with ctx():\n    want = reference_f(2)\nchecks.check_value(f(2), want)", "in the student's kernel"),
    "expected computed in an if block": (
        "if True:\n    want = 0.7531\nchecks.check_value(f(2), want)", "in the student's kernel"),
    "expected computed in a try block": (
        "try:\n    want = reference_f(2)\nexcept ValueError:\n    want = 0.7531\nchecks.check_value(f(2), want)",
        "in the student's kernel"),
    "tuple unpacking of input and expected": ("n, want = 2, 0.7531\nchecks.check_value(f(n), want)",
                                              "in the student's kernel"),
    "check function under another name": (
        "checks.check_value(f(1), 0.0)\nsame = checks.check_value\nsame(f(2), 0.7531)", "without calling it"),
    "check function imported under another name": (
        "from helpers.checks import check_value as same\nchecks.check_value(f(1), 0.0)\nsame(f(2), 0.7531)",
        "under another name"),
    "check reached through getattr": (
        'checks.check_value(f(1), 0.0)\ngetattr(checks, "check_" + "value")(f(2), 0.7531)', "`getattr`"),
    "check in a class body": ("class Case:\n    checks.check_value(f(2), 0.7531)", "in a class"),
    "expected appended to a list": (
        "wants = []\nwants.append(0.7531)\nchecks.check_value(f(2), wants[0])", "in the student's kernel"),
    "a name rebound between an expected and an input": (
        "x = 0.7531\nchecks.check_value(f(2), x)\nx = 3\nchecks.check_value(f(x), 9)", "bound 2 times"),
    "expected printed too": (
        'want = reference_f(2)\nprint("expecting", want)\nchecks.check_value(f(2), want)', "in the student's kernel"),
    "expected as a method of an input": (
        "x = make_input(0)\nchecks.check_array(f(x), x.astype(float) / 2)", "reads an attribute of `x`"),
}

PROVEN_CLEAN = {
    "literal at the top level": ('checks.check_value(f(2), 0.7531, name="f(2)")', ("0.7531",)),
    "keyword expected": ("checks.check_value(actual=f(2), expected=0.7531)", ("0.7531",)),
    "dropped name and function": (
        "def reference_f(n):\n    return secret_formula(n) * 31337\n\n\nwant = reference_f(2)\n"
        "checks.check_value(f(2), want)\nchecks.check_function(f, reference_f, [(3,)])",
        ("reference_f", "secret_formula", "31337", "want")),
    "expected a course function of the inputs, in a with block": (
        "x = make_input(0)\nwith torch.no_grad():\n    checks.check_array(f(x), reference.f(x, 0.7531))",
        ("reference", "0.7531")),
    "lambda reference of its own arguments": (
        "checks.check_function(lambda s: f(s), lambda s: float(reference.f(s)) * 31337, [(2,)])",
        ("reference", "31337")),
    "expected bound in two dropped steps": (
        "want = 0.5\nwant += 0.2531\nchecks.check_value(f(2), want)", ("0.2531", "want")),
}


@pytest.mark.parametrize("way", sorted(REFUSED))
def test_a_form_whose_expected_value_could_stay_in_the_kernel_is_refused(way):
    source, words = REFUSED[way]
    with pytest.raises(BadTestCell, match=words) as refused:
        student_side(source)
    assert "instead" in str(refused.value), str(refused.value)  # the message says how to write the cell


@pytest.mark.parametrize("way", sorted(PROVEN_CLEAN))
def test_a_form_the_grader_can_prove_clean_keeps_no_trace_of_the_expected_value(way):
    source, leaks = PROVEN_CLEAN[way]
    out = student_side(source)
    assert not [leak for leak in leaks if leak in out], out
    ast.parse(out)


def test_a_name_from_an_earlier_cell_is_refused_unless_an_import_bound_it():
    test = "checks.check_value(f(2), want)\nchecks.check_function(g, helpers_answer, [(1,)])"
    with pytest.raises(BadTestCell, match="earlier cell"):
        student_side(test, earlier=["import numpy as np\nwant = np.float64(0.7531)", "from helpers import x"])
    with pytest.raises(BadTestCell, match="earlier cell"):
        student_side("checks.check_function(g, helpers_answer, [(1,)])",
                     earlier=["def helpers_answer(n):\n    return 1"])
    clean = student_side("checks.check_function(g, reference.g, [(1,)])\nchecks.check_value(g(2), np.log(2))",
                         earlier=["import numpy as np\nfrom helpers import reference"])
    assert "reference" not in clean and "log" not in clean


def test_the_build_proves_a_cell_without_checks_clean_and_the_grader_refuses_it():
    """Nothing to leak in a graded cell that only prints; it is the grader that needs a check to compare."""
    assert student_side('print("visible:", double(2))', earlier=[], checks_required=False) == \
        "print('visible:', double(2))\n"
    with pytest.raises(BadTestCell, match="calls no check"):
        student_side('print("visible:", double(2))')
