"""The answers withheld while a lesson is graded: every exercise accounted for, the bodies and sources gone."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import answer_search
import pytest

from helpers import ROOT
from instructor_tools.grading.answers import ANSWERS, withheld, without_answers
from instructor_tools.grading.batch import lessons_in
from instructor_tools.grading.notebook import load_lesson

LESSONS = lessons_in()


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_every_exercise_of_every_lesson_says_which_helpers_answer_it(name):
    assert set(ANSWERS[name[:2]]) == set(load_lesson(LESSONS[name]).exercises)


@pytest.mark.parametrize(("module", "function"), sorted({tuple(t.split(":")) for lesson in ANSWERS.values()
                                                          for targets in lesson.values() for t in targets}))
def test_every_withheld_helper_exists(module, function):
    assert inspect.isfunction(getattr(importlib.import_module(module), function))


def test_the_copy_for_a_lesson_has_its_answers_without_body_or_source(tmp_path):
    copy = without_answers(ROOT / "helpers", tmp_path / "helpers", "02_upsampling_from_scratch.ipynb")
    text = (copy / "reference.py").read_text()
    functions = {n.name: n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    originals = {n.name: n for n in ast.parse((ROOT / "helpers" / "reference.py").read_text()).body
                 if isinstance(n, ast.FunctionDef)}
    for name in withheld("02")["helpers.reference"]:
        assert [type(s) for s in functions[name].body] == [ast.Raise]  # the body, docstring included, is gone
        assert ast.unparse(originals[name].body[-1]) not in ast.unparse(functions[name])
        assert f"helpers.reference.{name} computes an answer to an exercise" in text
    assert "def max_pool2d" in text and "def conv2d" in text  # the rest of the module stays
    sys.path.insert(0, str(tmp_path))
    try:
        for key in [k for k in sys.modules if k == "helpers" or k.startswith("helpers.")]:
            sys.modules[f"_saved_{key}"] = sys.modules.pop(key)
        stripped = importlib.import_module("helpers.reference")
        assert stripped.__file__.startswith(str(tmp_path))
        with pytest.raises(NotImplementedError, match="not available while the lesson is graded"):
            stripped.upsample_nearest([[[[1.0]]]], 2)
        assert stripped.max_pool2d([[[[1.0, 2.0], [3.0, 4.0]]]], 2).item() == 4.0
    finally:
        sys.path.remove(str(tmp_path))
        for key in [k for k in sys.modules if k == "helpers" or k.startswith("helpers.")]:
            del sys.modules[key]
        for key in [k for k in sys.modules if k.startswith("_saved_")]:
            sys.modules[key[len("_saved_"):]] = sys.modules.pop(key)


def test_a_renamed_answer_is_an_error_not_a_silent_leak(tmp_path, monkeypatch):
    monkeypatch.setitem(ANSWERS, "02", {"upsample_nearest": ("helpers.reference:no_such_function",)})
    with pytest.raises(LookupError, match="no_such_function"):
        without_answers(ROOT / "helpers", tmp_path / "helpers", "02")


SEARCH = Path(answer_search.__file__)


def test_the_search_covers_every_exercise_of_every_lesson():
    for lesson, exercises in ANSWERS.items():
        searched = set(answer_search.CASES[lesson]()) if lesson in answer_search.CASES else set()
        assert searched | answer_search.NOT_SEARCHED.get(lesson, set()) == set(exercises), lesson


def _search_script(*args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"MPLBACKEND": "Agg", "HOME": str(cwd)}
    done = subprocess.run([sys.executable, str(SEARCH), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", sorted(answer_search.CASES))
def test_no_function_of_the_withheld_copy_returns_an_answer(lesson, tmp_path):
    """Every function of the copy grading uses, tried on each exercise's inputs (answer_search.py): none answers."""
    course = tmp_path / "course"
    without_answers(ROOT / "helpers", course / "helpers", lesson)  # what runner.lesson_course gives a kernel
    # A copy, not the link grading makes: the search calls every function, those that write files too.
    shutil.copytree(ROOT / "data", course / "data")
    work = tmp_path / "work"
    work.mkdir()
    _search_script("expected", lesson, str(tmp_path / "expected.pickle"), cwd=work)
    _search_script("search", lesson, str(course), str(tmp_path / "expected.pickle"), str(tmp_path / "found.json"),
                   cwd=work)
    found = json.loads((tmp_path / "found.json").read_text())
    assert "helpers.reference" in found["modules"] and found["functions"] > 200  # the whole package was tried
    assert found["hits"] == []
