"""Frameworks only where used: no helpers module and no lesson pulls in both TensorFlow and PyTorch,
and the NumPy lessons (00–04) pull in neither."""

import ast

import nbformat
import pytest

from helpers import ROOT

NUMPY_LESSONS = ("00_", "01_", "02_", "03_", "04_")


@pytest.fixture(scope="module")
def frameworks_loaded():
    """{module: {"torch": bool, "tensorflow": bool}} measured by importing each module in a fresh process."""
    from test_design_doc import module_frameworks  # one measurement, shared with the design-doc check

    return {name: {"torch": "torch" in loaded, "tensorflow": "tensorflow" in loaded}
            for name, loaded in module_frameworks().items()}


def test_no_helpers_module_imports_both_frameworks(frameworks_loaded):
    both = [m for m, fw in frameworks_loaded.items() if fw["torch"] and fw["tensorflow"]]
    assert both == []


def test_core_modules_import_neither(frameworks_loaded):
    for name in ("helpers", "helpers.data", "helpers.runtime", "helpers.checks", "helpers.plotting",
                 "instructor_tools.build", "instructor_tools.lesson", "helpers.envcheck"):
        assert frameworks_loaded[name] == {"torch": False, "tensorflow": False}, name


def imported_modules(notebook_path):
    names = set()
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                if node.module == "helpers":
                    names.update(f"helpers.{alias.name}" for alias in node.names)
    return names


def lesson_frameworks(path, frameworks_loaded):
    uses = {"torch": False, "tensorflow": False}
    for name in imported_modules(path):
        top = name.split(".")[0]
        if top == "torch":
            uses["torch"] = True
        if top in ("tensorflow", "keras"):
            uses["tensorflow"] = True
        for fw, yes in frameworks_loaded.get(name, {}).items():
            uses[fw] = uses[fw] or yes
    return uses


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_lessons_import_at_most_one_framework(path, frameworks_loaded):
    uses = lesson_frameworks(path, frameworks_loaded)
    assert not (uses["torch"] and uses["tensorflow"]), f"{path.name} imports both frameworks"
    if path.name.startswith(NUMPY_LESSONS):
        assert uses == {"torch": False, "tensorflow": False}, f"{path.name} is a NumPy lesson but imports {uses}"
