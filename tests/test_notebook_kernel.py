"""The stub handler: an unsolved exercise is one stderr line, every other error stays an error."""

import nbformat
from nbclient import NotebookClient

from helpers import checks
from instructor_tools import build


def run(sources, tmp_path, **client_kwargs):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(build.SETUP_CELL)] + [nbformat.v4.new_code_cell(s) for s in sources]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(build.ROOT / "notebooks")}}).execute()
    return nb.cells[1:]


def kinds(cell):
    return [o.output_type for o in cell.outputs]


def test_stub_becomes_a_line_and_other_errors_stay_errors(tmp_path):
    stub = f"def f():\n    raise NotImplementedError({checks.stub_message('f')!r})\nf()"
    cells = run([stub, "prnt('typo')", "raise NotImplementedError('a real one')", "print('still running')"], tmp_path)
    assert kinds(cells[0]) == ["stream"]
    assert cells[0].outputs[0].name == "stderr" and "Exercise 'f' is not solved yet" in cells[0].outputs[0].text
    assert kinds(cells[1]) == ["error"] and cells[1].outputs[0].ename == "NameError"
    assert kinds(cells[2]) == ["error"] and cells[2].outputs[0].ename == "NotImplementedError"
    assert cells[3].outputs[0].text == "still running\n"
