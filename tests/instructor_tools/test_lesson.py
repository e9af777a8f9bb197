"""instructor_tools.lesson: the lesson format, which every tool reads from this one module."""

from __future__ import annotations

import ast

import pytest

from helpers import ROOT
from instructor_tools import lesson

#: Modules that read the format: they may import the format module, never the build command.
TOOLS = sorted([*(ROOT / "instructor_tools").rglob("*.py"), *(ROOT / "scripts").glob("*.py")])


def _imports(path) -> set[str]:
    """The modules ``path`` imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_lessons_are_the_files_the_pattern_names_in_order(tmp_path):
    folder = tmp_path / lesson.SOLUTIONS
    folder.mkdir()
    for name in ("02_b.ipynb", "01_a.ipynb", "notes.ipynb", "1_short.ipynb", "03_C.ipynb", "04_d.ipynb.txt"):
        (folder / name).write_text("{}")
    (folder / "05_folder.ipynb").mkdir()  # a folder is never a lesson, whatever its name
    assert [p.name for p in lesson.lessons(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]
    (tmp_path / lesson.NOTEBOOKS).mkdir()
    assert lesson.lessons(tmp_path, lesson.NOTEBOOKS) == []
    assert [p.name for p in lesson.lessons()] == sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", [p for p in TOOLS if p.name != "build.py"], ids=lambda p: p.name)
def test_no_tool_imports_the_build_command_for_the_format(path):
    assert "instructor_tools.build" not in _imports(path), f"{path}: import instructor_tools.lesson instead"


def _spelt_out(path) -> list[str]:
    """Where ``path`` spells a course key itself: the literal "course" as a key (``x["course"]``, ``x.get("course")``,
    ``{"course": …}``), or a literal key read from :func:`lesson.course_metadata`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        keys = []
        if isinstance(node, ast.Subscript):
            keys = [node.slice]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args and \
                node.func.attr in ("get", "setdefault"):
            keys = [node.args[0]]
            receiver = node.func.value
            if isinstance(receiver, ast.Call) and getattr(receiver.func, "id", getattr(receiver.func, "attr", "")) \
                    == "course_metadata" and isinstance(keys[0], ast.Constant):
                found.append(f"line {node.lineno}: course_metadata(...).get({keys[0].value!r})")
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]
        found += [f"line {node.lineno}: the key 'course'" for k in keys
                  if isinstance(k, ast.Constant) and k.value == lesson.COURSE]
    return found


def test_the_course_metadata_keys_are_spelt_once():
    """Every reader of ``cell.metadata["course"]`` uses lesson.py's constants: a key is renamed in one place."""
    for path in TOOLS:
        if path.name != "lesson.py":
            assert _spelt_out(path) == [], f"{path}: use instructor_tools.lesson's constants"


def test_the_check_sees_a_key_spelt_out(tmp_path):
    planted = tmp_path / "tool.py"
    planted.write_text('a = cell["metadata"]["course"]\nb = course_metadata(cell).get("answers")\n'
                       'c = lesson.course_metadata(cell).get(ANSWERS)\nd = {"course": {}}\n')
    assert _spelt_out(planted) == ["line 1: the key 'course'", "line 2: course_metadata(...).get('answers')",
                                   "line 4: the key 'course'"]


def test_course_metadata_reads_notebook_nodes_and_plain_json():
    assert lesson.course_metadata({"metadata": {lesson.COURSE: {lesson.ANSWERS: True}}}) == {lesson.ANSWERS: True}
    assert lesson.course_metadata({"metadata": {}}) == {} and lesson.course_metadata({}) == {}
    assert lesson.is_answers({"metadata": {lesson.COURSE: {lesson.ANSWERS: True}}})
    assert not lesson.is_header({"metadata": {lesson.COURSE: {lesson.ANSWERS: True}}})
