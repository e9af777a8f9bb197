"""The setup cell in a real kernel: an unsolved exercise or a failed check is one stderr line and the cell
completes (Run All goes on); every other error stays an error; graders see every error as an error."""

import os

import nbformat
from nbclient import NotebookClient

from helpers import ROOT, checks
from instructor_tools import lesson

STUB = f"def f():\n    raise NotImplementedError({checks.stub_message('f')!r})\nf()"
FAILED_CHECK = "from helpers import checks\nchecks.check_value(3, 4, name='three')"


def run(sources, env=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(lesson.SETUP_CELL)] + [nbformat.v4.new_code_cell(s) for s in sources]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute(**({"env": env} if env else {}))
    return nb.cells[1:]


def kinds(cell):
    return [o.output_type for o in cell.outputs]


def test_stub_and_failed_check_become_a_line_and_other_errors_stay_errors():
    cells = run([STUB, FAILED_CHECK, "prnt('typo')", "raise NotImplementedError('a real one')",
                 "print('still running')\n6 * 7"])
    assert kinds(cells[0]) == ["stream"] and cells[0].outputs[0].name == "stderr"
    assert cells[0].outputs[0].text == checks.unfinished_line(NotImplementedError(checks.stub_message("f"))) + "\n"
    assert kinds(cells[1]) == ["stream"]
    assert cells[1].outputs[0].text == "\u2717 three: expected 4, got 3 (difference 1)\n"
    assert kinds(cells[2]) == ["error"] and cells[2].outputs[0].ename == "NameError"
    assert kinds(cells[3]) == ["error"] and cells[3].outputs[0].ename == "NotImplementedError"
    assert cells[4].outputs[0].text == "still running\n"
    assert cells[4].outputs[1].data["text/plain"] == "42"  # the last expression is still displayed


def test_graders_see_errors():
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    cells = run([STUB, FAILED_CHECK], env={**env, "NBGRADER_EXECUTION": "autograde"})
    assert [c.outputs[0].ename for c in cells] == ["NotImplementedError", "CheckFailed"]
