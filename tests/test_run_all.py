"""Run All on every student notebook, every exercise unsolved: the learner is never stuck.

JupyterLab's and Colab's Run All stop at the first cell whose execution fails. nbclient with
``allow_errors=False`` does the same (it sends ``stop_on_error`` and raises at the first failed cell), so a
lesson passes when its last cell ran: the unsolved exercises and their checks each printed one line
(``helpers.checks.KeepRunning``), and no other cell failed. The kernels run the smoke profile, with none of
the graders' variables set (there the errors stay errors: ``tests/test_notebook_kernel.py``).
"""

from __future__ import annotations

import importlib.util
import os

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from helpers import ROOT, checks


def _root_conftest():
    """The repository's conftest.py (``import conftest`` finds tests/conftest.py): its stderr allow-list."""
    spec = importlib.util.spec_from_file_location("course_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


unexpected_stderr = _root_conftest().unexpected_stderr

LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 300  # seconds; the slowest smoke cell takes a few


def learner_env() -> dict[str, str]:
    """The environment of a learner's kernel, in the smoke profile."""
    hidden = {*checks.GRADING_ENV, checks.STUB_ERRORS_ENV, "PYTEST_CURRENT_TEST", "NBGRADER_VALIDATING"}
    return {**{k: v for k, v in os.environ.items() if k not in hidden}, "COURSE_PROFILE": "smoke"}


def describe(nb, index: int) -> str:
    cell = nb.cells[index]
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "") + ":\n" + cell.source[:400]


def test_every_lesson_is_listed():
    assert len(LESSONS) == 11, LESSONS


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_run_all_reaches_the_last_cell(lesson):
    nb = nbformat.read(ROOT / "notebooks" / lesson, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    try:
        client.execute(env=learner_env())
    except (CellExecutionError, CellTimeoutError) as error:
        failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and any(o.output_type == "error" for o in c.get("outputs", []))), None)
        where = describe(nb, failed) if failed is not None else "(no cell shows the error)"
        pytest.fail(f"{lesson}: Run All stopped at {where}\n\n{str(error)[-3000:]}", pytrace=False)

    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert nb.cells[code[-1]].get("execution_count"), f"{lesson}: the last code cell did not run"
    unsolved = 0
    for i in code:
        outputs = nb.cells[i].outputs
        assert not any(o.output_type == "error" for o in outputs), f"{lesson}: {describe(nb, i)}"
        bad = unexpected_stderr(outputs)  # a failed check ("✗ <message>"), a warning, a framework's log
        assert not bad, f"{lesson}: unexpected stderr in {describe(nb, i)}\n" + "\n".join(bad[:10])
        unsolved += sum("not solved yet" in o.get("text", "") for o in outputs if o.output_type == "stream")
    assert unsolved, f"{lesson}: no cell reported an unsolved exercise: is this the student version?"
