"""What a learner sees from an exercise's instant check when the exercise holds a typical wrong answer.

:func:`feedback` runs a lesson's solution notebook, as a learner's kernel would (smoke profile, Run All
mode), up to the graded test cells named; after each, it runs every wrong version given for that exercise
followed by the test cell again, then the right version back, so the lesson goes on as written. It returns,
for each wrong version, the ``✗`` line the test cell printed (or "" if the check passed). One kernel per
call: the lesson's slow cells run once, however many mistakes are tried.

:func:`names_each_mistake` makes a lesson's test from its table of mistakes (``tests/test_known_mistakes_NN.py``).
"""

from __future__ import annotations

import functools

import nbformat
import pytest
from nbclient import NotebookClient
from test_run_all import CELL_TIMEOUT, learner_env

from helpers import ROOT

MARK = "\u2717 "


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def feedback(lesson: str, wrong: dict[str, list[str]]) -> dict[str, list[str]]:
    """``{grade_id: [the ✗ line for each wrong source]}`` for ``wrong = {grade_id: [exercise cell sources]}``."""
    nb = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
    exercise = {_grade_id(c): c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    missing = set(wrong) - set(exercise)
    if missing:
        raise KeyError(f"{lesson} has no exercise {sorted(missing)}")
    cells, tried = [], {}  # tried: grade_id -> indices of the test cells run after each wrong version
    last = max(i for i, c in enumerate(nb.cells) if _grade_id(c) in {f"test_{g}" for g in wrong})
    for cell in nb.cells[:last + 1]:
        cells.append(cell)
        grade_id = (_grade_id(cell) or "").removeprefix("test_")
        if _grade_id(cell) == f"test_{grade_id}" and grade_id in wrong:
            for source in wrong[grade_id]:
                cells.append(nbformat.v4.new_code_cell(source))
                cells.append(nbformat.v4.new_code_cell(cell.source))
                tried.setdefault(grade_id, []).append(len(cells) - 1)
            cells.append(nbformat.v4.new_code_cell(exercise[grade_id].source))
    run = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in cells], metadata=nb.metadata)
    NotebookClient(run, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(ROOT / "solutions")}}).execute(env=learner_env())
    return {grade_id: [_failure_line(run.cells[i]) for i in indices] for grade_id, indices in tried.items()}


def _failure_line(cell) -> str:
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            for line in output.text.splitlines():
                if line.startswith(MARK):
                    return line[len(MARK):]
    return ""


def names_each_mistake(lesson: str, mistakes: list[tuple[str, str, str]]):
    """The test that each ``(exercise, typical wrong source, words)`` of ``mistakes`` gets a ✗ line with ``words``.

    One test per mistake; the lesson runs once, in one kernel, for all of them.
    """
    @functools.cache
    def lines() -> dict[tuple[str, str], str]:
        wrong: dict[str, list[str]] = {}
        for grade_id, source, _ in mistakes:
            if source not in wrong.setdefault(grade_id, []):
                wrong[grade_id].append(source)
        said = feedback(lesson, wrong)
        return {(g, source): said[g][i] for g, sources in wrong.items() for i, source in enumerate(sources)}

    @pytest.mark.slow
    @pytest.mark.parametrize(("grade_id", "source", "words"), mistakes, ids=[w[:60] for _, _, w in mistakes])
    def test_the_check_names_the_mistake(grade_id: str, source: str, words: str) -> None:
        line = lines()[grade_id, source]
        assert words in line, line

    return test_the_check_names_the_mistake
