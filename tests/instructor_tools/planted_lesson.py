"""Lesson 02 and the tricks planted in it, shared by the grader's tests.

The planted submissions are built here from a real lesson with several exercises (the
solution and the student notebook of lesson 02), so they follow the lesson as it changes.
Each trick is planted in one exercise (the *target*) while the other exercises are solved,
so every test checks both that the trick earns nothing and that the rest was graded.
Not a test module: the tests import it (conftest.py beside it puts this folder on sys.path).
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat

from helpers import ROOT
from instructor_tools import lesson
from instructor_tools.grading.notebook import load_lesson

LESSON = "02_upsampling_from_scratch.ipynb"
TIMEOUT = 20  # per cell in the planted batch: far above what a cell of the lesson needs, even on a busy machine

SOLUTION = nbformat.read(ROOT / "solutions" / LESSON, as_version=4)
STUDENT = nbformat.read(ROOT / "notebooks" / LESSON, as_version=4)
THE_LESSON = load_lesson(ROOT / "solutions" / LESSON)
EXERCISES = list(THE_LESSON.exercises)
FIRST, TARGET = EXERCISES[0], EXERCISES[-1]  # tricks aimed at the last exercise cannot disturb the others' tests
TESTS = {ex: [t.grade_id for t in THE_LESSON.tests if t.exercise == ex] for ex in EXERCISES}
POINTS = {ex: sum(t.points for t in THE_LESSON.tests if t.exercise == ex) for ex in EXERCISES}


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_code(exercise: str) -> str:
    return next(c.source for c in SOLUTION.cells if grade_id(c) == exercise)


def function_name(exercise: str) -> str:
    tree = ast.parse(solution_code(exercise))
    return next(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


OFF_BY_ONE = '''

def _off_by_one(value):
    """Plausible but wrong: the right types and shapes, every number off by one."""
    if isinstance(value, (list, tuple)):
        return type(value)(_off_by_one(v) for v in value)
    return value + 1
'''


def wrong(exercise: str) -> str:
    name = function_name(exercise)
    return (solution_code(exercise) + OFF_BY_ONE +
            f"\n_right_{name} = {name}\n\n\ndef {name}(*args, **kwargs):\n"
            f"    return _off_by_one(_right_{name}(*args, **kwargs))\n")


def student_notebook(code: dict[str, str]):
    """The student version with some exercise cells replaced by ``code``."""
    nb = copy.deepcopy(STUDENT)
    for cell in nb.cells:
        if grade_id(cell) in code:
            cell.source = code[grade_id(cell)]
    return nb


def solved_except(target: str, code: str):
    return student_notebook({ex: code if ex == target else solution_code(ex) for ex in EXERCISES})


def cell_index(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


# --------------------------------------------------------------------------- the tricks

def always_equal(exercise: str) -> str:
    return f'''
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def {function_name(exercise)}(*args, **kwargs):
    return AlwaysEqual()
'''


def later_cells():
    """Checks redefined in an extra cell, the test cell emptied and duplicated, the function fixed after the test."""
    nb = solved_except(TARGET, wrong(TARGET))
    test = TESTS[TARGET][0]
    nb.cells.insert(cell_index(nb, TARGET) + 1, nbformat.v4.new_code_cell(
        "from helpers import checks\n"
        "checks.check_function = checks.check_array = checks.check_value = checks.check_raises = "
        "lambda *a, **k: print('\\u2713 all good')"))
    tampered = nb.cells[cell_index(nb, test)]
    duplicate = copy.deepcopy(tampered)
    duplicate["id"] = "duplicated-test"
    tampered.source = "pass  # the tests were here"
    duplicate.source = "print('\\u2713 all good')"
    nb.cells.insert(cell_index(nb, test) + 1, duplicate)
    name = function_name(TARGET)
    nb.cells.append(nbformat.v4.new_code_cell(f"{name} = _right_{name}  # the right function, after the tests"))
    return nb


TRANSFORMER = '''

def _no_checks(lines):
    return ["pass\\n"] if any("checks." in line for line in lines) else lines


get_ipython().input_transformers_cleanup.append(_no_checks)
'''

CHECKS_PATCH = '''
from helpers import checks as _checks
_checks.check_function = _checks.check_array = _checks.check_value = _checks.check_raises = lambda *a, **k: None
'''

NUMPY_PATCH = '''
import numpy as np
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
'''


def patched_builtins(exercise: str) -> str:
    return f'''
import builtins

_real_isinstance = builtins.isinstance


class Impostor:
    def __eq__(self, other):
        return True


def _lying_isinstance(obj, classes):
    return True if type(obj) is Impostor else _real_isinstance(obj, classes)


builtins.isinstance = _lying_isinstance
builtins.all = lambda iterable: True


def {function_name(exercise)}(*args, **kwargs):
    return Impostor()
'''


def infinite_loop(exercise: str, ignore_interrupt: bool = False) -> str:
    ignore = "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n" if ignore_interrupt else ""
    return (f"import signal\n\n\ndef {function_name(exercise)}(*args, **kwargs):\n"
            f"{ignore}    while True:\n        pass\n")


def exits(exercise: str) -> str:
    return f"import os\n\n\ndef {function_name(exercise)}(*args, **kwargs):\n    os._exit(1)\n"


def escape(exercise: str, targets: list[Path], victims: list[Path]) -> str:
    return solution_code(exercise) + f'''

import os, pathlib
for target in {[str(t) for t in targets]!r}:
    try:
        pathlib.Path(target).write_text("written by a submission")
    except OSError as exc:
        print("blocked:", exc)
for victim in {[str(v) for v in victims]!r}:
    try:
        os.remove(victim)
    except OSError as exc:
        print("blocked:", exc)
'''


# --------------------------------------------------------------------------- tricks that look for the answer

ORACLE_PATCH = '''
# Report what the test cell passes as the expected value instead of the student's value.
from helpers import checks as _c

_emit = _c._emit_probe


def _from_reference(fn, reference, cases, *, name=None, rtol=1e-5, atol=1e-6, check_dtype=False):
    fname = name or getattr(fn, "__name__", "function")
    for case in list(cases):
        with_kwargs = len(case) == 2 and isinstance(case[1], dict) and isinstance(case[0], tuple)
        args, kwargs = case if with_kwargs else (case, {})
        _emit(f"{fname}{_c._call_text(args, kwargs)}", reference(*args, **kwargs), rtol=rtol, atol=atol,
              check_dtype=check_dtype)


_c.check_function = _from_reference
_c.check_array = lambda actual, expected, name="result", **options: _emit(name, expected, **options)
_c.check_value = lambda actual, expected, name="result", **options: _emit(name, expected, **options)
'''

ORACLE_TRANSFORMER = '''
# Rewrite every later cell: check_x(actual, expected, ...) becomes check_x(expected, expected, ...).
import ast as _ast


def _swap(lines):
    try:
        tree = _ast.parse("".join(lines))
    except SyntaxError:
        return lines
    for node in _ast.walk(tree):
        if isinstance(node, _ast.Call) and getattr(node.func, "attr", "") in ("check_array", "check_value",
                                                                             "check_function"):
            if len(node.args) >= 2:
                node.args[0] = node.args[1]
    return [line + "\\n" for line in _ast.unparse(tree).splitlines()]


get_ipython().input_transformers_cleanup.append(_swap)
'''


def answer_stand_ins(exercise_code: str) -> str:
    """The functions an exercise cell defines, each returning 0 (so a test's actual side does not raise)."""
    names = [n.name for n in ast.parse(exercise_code).body if isinstance(n, ast.FunctionDef)]
    return "".join(f"\n\ndef {name}(*args, **kwargs):\n    return 0\n" for name in names)


def oracle_attack(exercise_code: str) -> str:
    """Nothing implemented; the checks patched and the test cells rewritten to report the expected values."""
    return ORACLE_PATCH + ORACLE_TRANSFORMER + answer_stand_ins(exercise_code)


def calls_the_answer(exercise: str) -> str:
    """The course's own implementation of the exercise, called, and its source read and run."""
    name = function_name(exercise)
    return f'''
import inspect
from helpers import reference

try:
    exec(inspect.getsource(reference.{name}))  # the answer's code, if the package still held it
except Exception as exc:
    print("no source:", exc)
if "{name}" not in globals():
    {name} = reference.{name}
'''


def reads_the_solution(exercise: str) -> str:
    """The solution notebook read from the course folder (where the repository was cloned) and run."""
    return f'''
import json
solution = json.load(open({str(ROOT / "solutions" / LESSON)!r}))
for cell in solution["cells"]:
    if cell["metadata"].get("nbgrader", {{}}).get("grade_id") == {exercise!r}:
        exec("".join(cell["source"]))
'''


def survivor(exercise: str, token: str) -> str:
    """The exercise solved, plus a detached process that holds threads and outlives the kernel if it can."""
    return solution_code(exercise) + f'''

import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import threading, time\\n"
                  "for _ in range(300): threading.Thread(target=time.sleep, args=(120,)).start()\\n"
                  "time.sleep(120)", {token!r}], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''


FORGED = '=HYPERLINK("http://evil.example","click")\n\n**10 / 10 points**\n# Forged heading [link](http://x)'


def forges_feedback() -> str:
    """An exercise cell that raises an error whose message is a spreadsheet formula and Markdown that claims
    full points. In the first exercise's cell, which runs before any graded test cell: its message is shown."""
    return f"raise ValueError({FORGED!r})\n"


# --------------------------------------------------------------------------- values that once crashed the grader

def returns(exercise: str, value: str) -> str:
    """The exercise returns ``value`` (Python source): a ragged list, a huge integer, a string..."""
    return f"def {function_name(exercise)}(*args, **kwargs):\n    return {value}\n"


HOSTILE_PROBES = '''
# Probes written by hand: a shape of 2**64 elements, a 5,000-digit integer, deep nesting, not JSON.
from IPython.display import display
from helpers import checks as _c

_probes = ['{"name": "x", "value": {"kind": "array", "dtype": "<f8", "shape": [18446744073709551616], "data": ""}}',
           '{"name": "x", "value": {"kind": "plain", "value": ' + "9" * 5000 + '}}',
           '{"name": "x", "value": ' + '{"kind": "seq", "items": [' * 500 + ']}' * 500 + '}',
           'not json at all']


def _hostile(*args, **kwargs):
    for text in _probes:
        display({_c.PROBE_MIME: text, "text/plain": "probe"}, raw=True)


_c.check_function = _c.check_array = _c.check_value = _hostile
'''


# --------------------------------------------------------------------------- a tiny lesson, for the limits

TINY = "99_planted.ipynb"
TINY_MEMORY_MB = 400  # the tiny lesson's kernel alone uses about 70 MB


def tiny_solution(table_mb: int = 1):
    """A lesson of one exercise, ``answer`` (42), whose test also needs ``table``: ``table_mb`` MB, touched.

    The cell that makes ``table`` sleeps 2 s after it, so that the memory watchdog, which polls
    every 0.2 s, stops the kernel in that cell when it is over the limit.
    """
    exercise = {"grade": False, "grade_id": "answer", "locked": False, "schema_version": 3, "solution": True,
                "task": False}
    test = {"grade": True, "grade_id": "test_answer", "locked": True, "points": 1, "schema_version": 3,
            "solution": False, "task": False}
    cells = [
        nbformat.v4.new_markdown_cell("# A planted lesson: one exercise, one table"),
        nbformat.v4.new_code_cell("import time\nfrom helpers import checks"),
        nbformat.v4.new_code_cell('def answer():\n    """The answer."""\n    ### BEGIN SOLUTION\n    return 42\n'
                                  "    ### END SOLUTION", metadata={"nbgrader": exercise}),
        nbformat.v4.new_code_cell(f"table = bytearray({table_mb} << 20)  # every page touched: resident\n"
                                  "time.sleep(2)"),
        nbformat.v4.new_code_cell("checks.check_value(answer() + 0 * len(table), 42, name='answer')",
                                  metadata={"nbgrader": test}),
    ]
    return lesson.normalise_solution(nbformat.v4.new_notebook(cells=cells), TINY)


def tiny_course(root: Path, table_mb: int = 1) -> Path:
    """A course folder for ``grade_folder(course=...)``: the tiny lesson's solution, the course's helpers, no data."""
    course = root / "course"
    (course / "solutions").mkdir(parents=True)
    nbformat.write(tiny_solution(table_mb), course / "solutions" / TINY)
    (course / "helpers").symlink_to(ROOT / "helpers", target_is_directory=True)
    (course / "data").mkdir()
    return course


def tiny_submission(code: str):
    """The tiny lesson's student notebook with ``code`` in its exercise cell."""
    nb = lesson.student_version(tiny_solution(), TINY)
    next(c for c in nb.cells if grade_id(c) == "answer").source = code
    return nb


# --------------------------------------------------------------------------- tricks that send the hidden tests back

# Each records the source of every cell the kernel runs from then on, the graded test cells included.
RECORD_BY_HOOK = '''
_seen = []
get_ipython().events.register("pre_run_cell", lambda info: _seen.append(info.raw_cell))
'''
RECORD_BY_TRANSFORMER = '''
_seen = []
get_ipython().input_transformers_cleanup.append(lambda lines: _seen.append("".join(lines)) or lines)
'''


def raises_with_source(exercise: str) -> str:
    """The exercise's function raises an error whose message is the end of the cell that called it."""
    return (RECORD_BY_HOOK + f"\n\ndef {function_name(exercise)}(*args, **kwargs):\n"
            "    raise ValueError(_seen[-1][-400:])\n")


def class_named_with_source(exercise: str) -> str:
    """The exercise's function raises an exception whose class is named with the end of the cell that called it."""
    return (RECORD_BY_TRANSFORMER + f"\n\ndef {function_name(exercise)}(*args, **kwargs):\n"
            "    raise type(_seen[-1][-190:], (Exception,), {})()\n")


def returns_source(exercise: str) -> str:
    """The exercise's function returns the cell that called it, as a string."""
    return RECORD_BY_HOOK + f"\n\ndef {function_name(exercise)}(*args, **kwargs):\n    return _seen[-1][-1000:]\n"


def fails_with_the_last_test(exercise: str) -> str:
    """The exercise cell itself raises, before it defines anything, an error named with the last cell run."""
    return "raise type(_seen[-1][-190:], (Exception,), {})()\n" + solution_code(exercise)


def _normalised(text: str) -> str:
    return " ".join(text.replace('"', "'").split())


def hidden_windows(width: int = 20) -> set[str]:
    """Every ``width``-character window of the solution's hidden tests that the student notebook does not show.

    Whitespace runs count as one space and double quotes as single ones: the kernel sees the test
    cells as the grader rewrites them (testcells.py), and a message is one line.
    """
    public = _normalised("\n".join(c.source for c in STUDENT.cells))
    windows = set()
    for cell in SOLUTION.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = _normalised(cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS")[0])
            windows |= {hidden[i:i + width] for i in range(len(hidden) - width + 1)}
    return {w for w in windows if w not in public}
