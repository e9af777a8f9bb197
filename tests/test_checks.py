import ast
import json
import os
import random
import re
import subprocess
import sys
import textwrap
import traceback
import types

import numpy as np
import pytest

from helpers import checks
from helpers.checks import CheckFailed, explain_mismatch


def test_matching_values_pass_and_print_a_tick(capsys):
    checks.check_array(np.ones((2, 3)), np.ones((2, 3)), name="ones")
    checks.check_value((1, 28, 28), (1, 28, 28), name="shape")
    out = capsys.readouterr().out
    assert out.count("\u2713") == 2 and "ones" in out


@pytest.mark.parametrize("actual, expected, words", [
    (None, np.zeros(3), "got None. Did the function forget to `return`"),
    (np.zeros((3, 2)), np.zeros((2, 3)), "expected shape (2, 3), got (3, 2) (same number of elements"),
    (np.zeros((2, 3, 1)), np.zeros((2, 3)), "3 dimensions instead of 2"),
    ("text", np.zeros(2), "expected an array of shape (2,), got str"),
    (np.array([1.0, 2.5, 3.0]), np.array([1.0, 2.0, 3.0]),
     "1 of 3 values differ; the first at position (1,): expected 2, got 2.5"),
    (np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "NaN at position (0,)"),
    (np.array([0.5, 1.0]), np.array([0, 1]), "expected whole numbers"),
    (3, 4, "expected 4, got 3"),
    ("4", 4, "expected a number like 4, got str"),
    ((1, 2), (1, 2, 3), "expected 3 items"),
    ([(1, 4, 4), (2, 8, 9)], [(1, 4, 4), (2, 8, 8)], "result[1][2]: expected 8, got 9"),
    ([[1, 2], [3]], np.zeros((2, 3)), "shape (2, 3), got a ragged list (rows of different lengths)"),
    ([np.zeros(3), np.zeros(2)], np.zeros((2, 3)), "got a ragged list"),
    ([[1, 2, 3], [4, "5", 6]], np.zeros((2, 3)), "expected numbers, got str '5' at position (1, 1)"),
    ([1.0, None], np.zeros(2), "expected numbers, got None at position (1,)"),
    (np.array(["a", "b"]), np.zeros(2), "expected numbers, got an array of strings"),
    (np.array([1, None]), np.zeros(2), "expected numbers, got an array of Python objects"),
    (np.array([0.0, np.nan]), np.array([0, 1]), "NaN at position (1,)"),
    (np.array([1 + 1j, 2]), np.array([1.0, 2.0]), "1 of 2 values differ"),
    (10**400, 3, "expected 3, got <int of about 401 digits>"),
    (np.array(3), (3,), "expected a sequence like (3,), got ndarray"),
    ("x" * 10**6, "y", "got 'xxxxxx"),
], ids=lambda v: f"{type(v).__name__} {len(v)}" if isinstance(v, str) else None)
def test_mismatch_messages_name_the_problem(actual, expected, words):
    message = explain_mismatch(actual, expected)
    assert message is not None and words in message


def test_dtype_only_checked_when_asked():
    a, e = np.zeros(2, np.float64), np.zeros(2, np.float32)
    assert explain_mismatch(a, e) is None
    assert "expected dtype float32, got float64" in explain_mismatch(a, e, check_dtype=True)


def test_always_equal_object_does_not_pass():
    class Liar:
        def __eq__(self, other):
            return True

    assert explain_mismatch(Liar(), np.zeros(2)) is not None
    assert explain_mismatch(Liar(), 3) is not None
    assert explain_mismatch(Liar(), "x") is not None


def test_check_function_names_the_failing_case():
    def bad(x, factor):
        return x if factor == 1 else x * 0

    with pytest.raises(CheckFailed, match=r"bad\(<array \(2,\)>, 2\)"):
        checks.check_function(bad, lambda x, f: x, [(np.ones(2), 1), (np.ones(2), 2)])


def test_a_known_mistake_is_named_when_the_result_equals_it():
    flipped = lambda x: -x  # noqa: E731 - a known mistake's version of the reference
    with pytest.raises(CheckFailed, match=r"2 of 2 values differ.*Your result is exactly the one computed with the "
                                          r"sign flipped\.$"):
        checks.check_function(lambda x: -x, lambda x: x, [(np.ones(2),)], mistakes={"with the sign flipped": flipped})
    with pytest.raises(CheckFailed) as caught:  # another wrong answer: no mistake named
        checks.check_function(lambda x: 2 * x, lambda x: x, [(np.ones(2),)],
                              mistakes={"with the sign flipped": flipped})
    assert "Your result" not in str(caught.value)
    with pytest.raises(CheckFailed) as caught:  # a mistake that cannot run on the case explains nothing
        checks.check_function(lambda x: -x, lambda x: x, [(np.ones(2),)], mistakes={"broken": lambda x: 1 / 0})
    assert "Your result" not in str(caught.value)


def test_values_and_arrays_name_known_mistakes_too():
    with pytest.raises(CheckFailed, match="the one computed with np.tile"):
        checks.check_array(np.tile([1, 2], 2), np.repeat([1, 2], 2), mistakes={"with np.tile": np.tile([1, 2], 2)})
    with pytest.raises(CheckFailed, match=r"result\[0\]: expected 0, got 1 \(difference 1\)\. Your result is "
                                          r"exactly the one computed with the odd row on top\."):
        checks.check_value((1, 0), (0, 1), mistakes={"with the odd row on top": (1, 0)})


def test_an_error_in_the_exercise_is_one_line_with_the_learners_line_and_a_hint():
    def swapped(x):
        total = x + np.ones(3)  # the line the message must quote
        return total

    with pytest.raises(CheckFailed) as caught:
        checks.check_function(swapped, lambda x: x, [(np.ones(2),)],
                              hints={"could not be broadcast": "in and out channels not swapped"})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("swapped(<array (2,)>) raised ValueError: operands could not be broadcast")
    assert "of your code: `total = x + np.ones(3)  # the line the message must quote`" in message
    assert message.endswith("This usually means in and out channels not swapped.")
    with pytest.raises(CheckFailed) as caught:  # no hint matches: the line alone
        checks.check_function(swapped, lambda x: x, [(np.ones(2),)], hints={"index": "never"})
    assert "usually" not in str(caught.value)


def test_the_line_quoted_is_the_exercises_own_not_the_course_code_it_calls():
    def course_tool(x):
        return x @ np.ones((3, 3))  # course code in the notebook: fails on the learner's input

    def exercise(x):
        flat = x.reshape(-1)
        return course_tool(flat)  # the learner's line

    with pytest.raises(CheckFailed, match=r"of your code: `return course_tool\(flat\)  # the learner's line`$"):
        checks.check_function(exercise, lambda x: x, [(np.ones(2),)])
    # through a lambda of the test cell, the innermost line that is not a library's
    with pytest.raises(CheckFailed, match=r"of your code: `return x @ np.ones\(\(3, 3\)\)"):
        checks.check_function(lambda x: exercise(x), lambda x: x, [(np.ones(2),)], name="exercise")


def test_under_a_grader_an_error_in_the_exercise_stays_an_error(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(ZeroDivisionError):
        checks.check_function(lambda x: 1 / 0, lambda x: x, [(1,)])


@pytest.mark.parametrize("actual, words", [
    (["Dense", "Conv", "BN", "Conv"], "expected 6 items, got 5; item 2 is missing: 'BN'"),
    (["Dense", "BN", "Bias", "Conv", "BN", "Conv"], "expected 6 items, got 7; item 3 is one too many: 'Bias'"),
    (["Dense", "BN", "Conv"], "expected 6 items, got 4; missing from item 4 on: 'BN'"),
    (["Dense", "BN", "Conv", "BN", "Conv", "Tanh"], "item 6 is one too many: 'Tanh'"),
    (["Dense", "Conv", "Conv", "BN"], "the first difference is item 2: expected 'BN', got 'Conv'"),
])
def test_a_list_of_another_length_is_told_by_its_first_difference(actual, words):
    long_name = "x" * 90  # item 0: longer than any cut, so the difference must be found, not shown in a repr
    message = explain_mismatch([long_name, *actual], [long_name, "Dense", "BN", "Conv", "BN", "Conv"], "layers")
    assert message.endswith(words), message


def test_a_case_names_an_object_with_a_long_repr_by_its_type():
    class Model:
        def __repr__(self):
            return "Model(\n  (conv): Conv2d(...)\n)"

    with pytest.raises(CheckFailed, match=r"^f\(<Model>, 2\): expected 3, got 2"):
        checks.check_function(lambda m, k: k, lambda m, k: 3, [(Model(), 2)], name="f")
    # a function argument is named the same in every run (the grader matches the solution's names)
    with pytest.raises(CheckFailed, match=r"^f\(1, transpose=<function turned>\): expected 3, got 1"):
        checks.check_function(lambda k, transpose: k, lambda k, transpose: 3, [((1,), {"transpose": turned})], name="f")


def turned(y):
    return y


def test_check_raises():
    def strict(x):
        if x < 0:
            raise ValueError("x must be >= 0")
        return x

    checks.check_raises(strict, ValueError, -1)
    with pytest.raises(CheckFailed, match="expected ValueError for this edge case, but it raised nothing"):
        checks.check_raises(strict, ValueError, 1)


def test_stub_errors_propagate_out_of_checks():
    def stub(x):
        raise NotImplementedError(checks.stub_message("stub"))

    with pytest.raises(NotImplementedError, match="is not solved yet"):
        checks.check_function(stub, lambda x: x, [(1,)])
    with pytest.raises(NotImplementedError):
        checks.check_raises(stub, ValueError, 1)
    assert checks.is_stub_error(NotImplementedError(checks.stub_message("a")))
    assert not checks.is_stub_error(NotImplementedError("something else"))


def test_probe_mode_reports_plain_data_and_does_not_judge(monkeypatch):
    shown = []
    monkeypatch.setenv("COURSE_PROBE", "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    checks.check_array(np.arange(4, dtype=np.int16), np.zeros(4), name="wrong but probed")
    payload = json.loads(shown[0][checks.PROBE_MIME])
    assert payload["name"] == "wrong but probed"
    assert payload["value"]["kind"] == "array" and payload["value"]["shape"] == [4]
    assert checks.encode(object())["kind"] == "invalid"
    assert checks.encode(np.array([object()]))["kind"] == "invalid"


def test_a_probe_says_when_an_expected_value_reached_the_kernel(monkeypatch):
    shown = []
    monkeypatch.setenv("COURSE_PROBE", "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    checks.check_value(3, None, name="reduced")  # what the grader sends: no expected value
    checks.check_value(3, 9, name="missed")
    checks.check_array(np.ones(2), np.ones(2), name="missed array")
    checks.check_function(abs, abs, [(-1,)], name="missed reference")
    options = [json.loads(obj[checks.PROBE_MIME])["options"] for obj in shown]
    assert [o.get("expected_in_kernel", False) for o in options] == [False, True, True, True]


class Hostile:
    """Everything a value can do to a comparison: raising repr, eq, len, float, bool, attribute look-ups."""

    def __getattr__(self, name):
        raise RuntimeError(name)

    def __repr__(self):
        raise RuntimeError("repr")

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __len__(self):
        raise RuntimeError("len")

    def __float__(self):
        raise RuntimeError("float")

    def __bool__(self):
        raise RuntimeError("bool")

    __hash__ = object.__hash__


def deep_list(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


class HostileList(list):
    def __len__(self):
        raise RuntimeError("len")


ODD_ACTUALS = [Hostile(), [Hostile()], (1, Hostile()), HostileList([1, 2]), deep_list(10_000), 10**5000, -(10**400),
               float("nan"), float("-inf"), -0.0, True, np.bool_(False), 1 + 2j, b"bytes", {"a": 1}, {1, 2}, range(3),
               (x for x in range(3)), np.array(3.0), np.array([]), np.zeros((2, 0)), np.array(["a"]), np.array([None]),
               np.array(["2020-01-01"], dtype="M8[D]"), np.zeros(2, dtype=[("a", "f8")]), [[1, 2], [3]], [1, "a"],
               [[10**400]], np.float16(1.5), np.longdouble(1e300) * 10, np.uint64(2**64 - 1), "", None, object()]
ODD_EXPECTED = [np.zeros((2, 3)), np.arange(3), np.array(2.0), np.array(["a"]), np.zeros(0), 0.75, 3, 10**400, True,
                "a", (1, 2), [[1, 2], [3]], None, {"a": 1}]


@pytest.mark.parametrize("actual", ODD_ACTUALS, ids=lambda v: type(v).__name__)
def test_explain_mismatch_is_total(actual):
    for expected in ODD_EXPECTED:
        message = explain_mismatch(actual, expected, rtol=1e-5, atol=1e-6)
        assert message is None or (isinstance(message, str) and len(message) < 400), (expected, message)
        if isinstance(actual, (Hostile, HostileList)):
            assert message is not None  # never a pass by accident


def random_value(rng, depth=0):
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return rng.choice([0, 1, -1, 2.5, -0.0, float("nan"), float("inf"), 10**30, 10**400, True, None, "", "a",
                           np.int8(3), np.float32(0.5), 1j])
    if roll < 0.8:
        items = [random_value(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 2, 3]))]
        return items if rng.random() < 0.5 else tuple(items)
    shape = rng.choice([(), (0,), (2,), (3,), (2, 3), (3, 2)])
    return np.full(shape, rng.choice([0, 1, 2.5, np.nan, -np.inf])).astype(rng.choice(["f8", "f4", "f2", "?"]))


def test_random_values_give_none_or_a_message():
    rng = random.Random(7)
    for _ in range(3000):
        actual, expected = random_value(rng), random_value(rng)
        if rng.random() < 0.3:  # a regular list of numbers stands for an expected array
            try:
                expected = np.asarray(expected, dtype=float)
            except (TypeError, ValueError, OverflowError):
                pass
        message = explain_mismatch(actual, expected)
        assert message is None or isinstance(message, str)


def test_a_huge_integer_is_named_by_its_size():
    assert "got int <int of about 5001 digits>" in explain_mismatch(10**5000, np.zeros(2))
    assert explain_mismatch(10**5000, 10**5000) is None


# --------------------------------------------------------------------------- notebook support: Run All

def stub(name):
    def unsolved(*args, **kwargs):
        raise NotImplementedError(checks.stub_message(name))

    unsolved.__name__ = name
    return unsolved


def run_cell(source, namespace):
    """Run ``source`` in ``namespace`` as KeepRunning rewrites a cell; return the rewritten module."""
    tree = checks.KeepRunning().visit(ast.parse(source))
    exec(compile(tree, "<cell>", "exec"), namespace)
    return tree


@pytest.fixture
def learner(monkeypatch):
    """A learner's session: none of the graders' variables set."""
    for name in (*checks.GRADING_ENV, checks.STUB_ERRORS_ENV):
        monkeypatch.delenv(name, raising=False)


def test_transformer_keeps_running_after_a_stub_or_a_failed_check(learner, capsys):
    namespace = {"f": stub("upsample_nearest"), "checks": checks}
    run_cell("x = 1\nf()\nx = 2", namespace)
    assert namespace["x"] == 1  # the cell stopped at the stub, and completed
    run_cell("checks.check_value(3, 4, name='three')", namespace)
    err = capsys.readouterr().err
    assert err.splitlines() == ["\u2717 upsample_nearest: not solved yet (write it in its cell, run that cell, "
                                "then this one)", "\u2717 three: expected 4, got 3 (difference 1)"]


def test_transformer_keeps_the_last_expression_for_display(learner):
    namespace = {"f": stub("f")}
    tree = run_cell("y = 6\ny * 7", namespace)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Name)  # what IPython displays
    assert namespace[last.value.id] == 42
    run_cell("f()\n'never'", namespace)
    assert namespace[last.value.id] is None  # nothing to display after a stub
    assert run_cell("z = 1", namespace).body[-1].__class__ is ast.With  # no expression, nothing added
    assert run_cell("from __future__ import annotations\n3", namespace).body[0].__class__ is ast.ImportFrom


@pytest.mark.parametrize("source, error", [
    ("prnt(1)", NameError),
    ("raise NotImplementedError('abstract, not a stub')", NotImplementedError),
    ("raise AssertionError('a bare assert')", AssertionError),
    ("raise KeyboardInterrupt", KeyboardInterrupt),
])
def test_transformer_lets_other_errors_raise(learner, source, error):
    with pytest.raises(error) as caught:
        run_cell(source, {})
    assert caught.traceback[-1].lineno == 0  # raised from the cell's own line, not from the wrapper


def cell_traceback(source, transform):
    """What a traceback shows of ``source`` run as a cell: per frame, the function, line, column span and the frame's
    own last line (``f_lineno``, which ipykernel's traceback shows); the same list with and without KeepRunning."""
    tree = ast.parse(source)
    if transform:
        tree = checks.KeepRunning().visit(tree)
    try:
        exec(compile(tree, "<cell>", "exec"), {"raises": raises})
    except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt is one of the cases
        frames = traceback.extract_tb(error.__traceback__)
        own_lines = [frame.f_lineno for frame, _ in traceback.walk_tb(error.__traceback__)]
        return type(error).__name__, [(f.filename, f.name, f.lineno, f.colno, f.end_colno, own)
                                      for f, own in zip(frames, own_lines, strict=True) if f.filename == "<cell>"]
    raise AssertionError("the cell did not raise")


def raises(error):
    raise error


#: Cells whose error is raised before their last line, with the line a traceback must point at.
MIDDLE_OF_A_CELL = {
    "numpy error": ("import numpy as np\nx = np.ones(3)\ny = np.sum(x, axis=4)\nz = 3\nz", 3),
    "no expression at the end": ("import numpy as np\nx = np.ones(3)\ny = np.sum(x, axis=4)\nz = 3", 3),
    "a NotImplementedError of the learner's": ("a = 1\nraises(NotImplementedError('abstract'))\nb = 2\nb", 2),
    "KeyboardInterrupt": ("a = 1\nraises(KeyboardInterrupt())\nb = 2\nb", 2),
    "in a function of the cell": ("def f(x):\n    return x / 0\n\nf(1)\nb = 2\nb", 4),
    "a statement over lines": ("a = (1,\n     2 / 0,\n     3)\nb = 2\nb", 2),
    "the learner's own try": ("try:\n    a = 1 / 0\nexcept KeyError:\n    pass\nb = 2\nb", 2),
    "after a handled error": ("try:\n    1 / 0\nexcept ZeroDivisionError:\n    a = 1\nint('x')\nb = 2", 5),
    "a single line": ("1 / 0", 1),
}


@pytest.mark.parametrize("source, line", MIDDLE_OF_A_CELL.values(), ids=MIDDLE_OF_A_CELL.keys())
def test_other_errors_keep_their_traceback_exactly(learner, source, line):
    """Not the wrapper's last line: the failing line, columns and frame line that the cell gives without it."""
    plain = cell_traceback(source, transform=False)
    assert plain[1][0][2] == line  # the case is what its name says
    assert cell_traceback(source, transform=True) == plain


@pytest.mark.parametrize("name, value", [("COURSE_PROBE", "1"), ("NBGRADER_EXECUTION", "autograde"),
                                         ("NBGRADER_EXECUTION", "validate"), ("COURSE_STUB_ERRORS", "raise")])
def test_graders_see_every_error(learner, monkeypatch, name, value):
    shell = types.SimpleNamespace(ast_transformers=[])
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    checks.install_stub_handler()
    checks.install_stub_handler()  # the setup cell run twice registers it once
    assert len(shell.ast_transformers) == 1
    monkeypatch.setenv(name, value)
    with pytest.raises(NotImplementedError):  # set after the setup cell: the transformer steps aside per cell
        run_cell("f()", {"f": stub("f")})
    checks.install_stub_handler()  # the setup cell in a grader's kernel: nothing installed
    assert shell.ast_transformers == []


def test_last_expression_is_displayed_by_ipython():
    """The real thing: an IPython shell (in a child process: it takes over sys.modules['__main__'])."""
    script = textwrap.dedent("""
        import json
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=config)
        from helpers import checks
        checks.install_stub_handler()
        shell.run_cell("from helpers import checks\\n"
                       "def f():\\n    raise NotImplementedError(checks.stub_message('f'))")
        results = [shell.run_cell(source, store_history=True)
                   for source in ("6 * 7", "6 * 7;", "f()\\n1", "checks.check_value(1, 2)", "prnt(1)")]
        print(json.dumps([[r.success, r.result, type(r.error_in_exec).__name__] for r in results]))
    """)
    env = {k: v for k, v in os.environ.items() if k not in (*checks.GRADING_ENV, checks.STUB_ERRORS_ENV)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [
        [True, 42, "NoneType"], [True, None, "NoneType"], [True, None, "NoneType"], [True, None, "NoneType"],
        [False, None, "NameError"]]
    assert "\u2717 f: not solved yet" in done.stderr and "\u2717 result: expected 2, got 1" in done.stderr


@pytest.mark.parametrize("compiler", ["ipython", "ipykernel"])
def test_ipython_traceback_points_at_the_failing_line(learner, compiler):
    """The arrow IPython draws: from ``tb_lineno`` (a terminal IPython) or from the frame's ``f_lineno`` (Jupyter)."""
    script = textwrap.dedent("""
        import json, sys, traceback
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        config.InteractiveShell.colors = "nocolor"
        if sys.argv[1] == "ipykernel":  # cells named /tmp/ipykernel_<pid>/<hash>.py, as in Jupyter
            from ipykernel.compiler import XCachingCompiler
            config.InteractiveShell.compiler_class = XCachingCompiler
        shell = InteractiveShell.instance(config=config)
        from helpers import checks
        checks.install_stub_handler()
        assert [type(t).__name__ for t in shell.ast_transformers] == ["KeepRunning"]
        shell.run_cell("import numpy as np")
        print("=== traceback")
        result = shell.run_cell("x = np.ones(3)\\ny = np.sum(x, axis=4)\\nz = 3\\nz", store_history=True)
        print("=== end")
        cell = [(frame, line) for frame, line in traceback.walk_tb(result.error_in_exec.__traceback__)
                if frame.f_code.co_name == "<module>"][-1]
        print(json.dumps([type(result.error_in_exec).__name__, cell[1], cell[0].f_lineno]))
    """)
    env = {k: v for k, v in os.environ.items() if k not in (*checks.GRADING_ENV, checks.STUB_ERRORS_ENV)}
    done = subprocess.run([sys.executable, "-c", script, compiler], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    shown = done.stdout.split("=== traceback\n")[1].split("=== end\n")[0]
    assert "AxisError" in shown and re.search(r"Cell In\[\d+\], line 2\n", shown), shown
    arrows = [line for line in shown.splitlines() if re.match(r"-+> ", line)]
    assert arrows[0] == "----> 2 y = np.sum(x, axis=4)", shown  # the cell's frame first, then numpy's
    assert json.loads(done.stdout.splitlines()[-1]) == ["AxisError", 2, 2]


def test_yours_or_reference_falls_back_only_for_the_stub(capsys):
    draw = checks.yours_or_reference(stub("upsample_nearest"), np.negative)
    assert draw(1) == -1 and draw(2) == -2
    assert capsys.readouterr().out == ("upsample_nearest: not solved yet, so the course's numpy.negative "
                                       "stands in for it here\n")
    assert checks.yours_or_reference(np.positive, np.negative)(3) == 3

    def broken(x):
        raise NotImplementedError("a real one")

    with pytest.raises(NotImplementedError, match="a real one"):
        checks.yours_or_reference(broken, np.negative)(1)
