"""docs/design.md stays true: its tables are recomputed here from the code and the lessons.

* the lesson → module map equals what each notebook in ``solutions/`` imports (``ast`` on its code cells);
* the architecture table names every module of ``helpers`` and ``instructor_tools``, with the frameworks
  that importing it loads (measured in a fresh process);
* every test function the "Facts" section cites exists somewhere under ``tests/``.

``python tests/test_design_doc.py`` prints both tables as this file computes them, ready to paste.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
PACKAGES = ("helpers", "instructor_tools")
#: Top-level import names → the framework they belong to.
FRAMEWORKS = {"torch": "torch", "torchvision": "torch", "torchinfo": "torch", "tensorflow": "tensorflow",
              "keras": "keras"}


def module_files() -> dict[str, Path]:
    """{dotted module name: file} for every ``.py`` file of the two packages (``__init__`` → the package)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[dotted] = path
    return modules


def _absolute(node: ast.ImportFrom, current: str | None, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = (current or "").split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(tree: ast.AST, known: set[str], current: str | None = None,
               is_package: bool = False) -> tuple[set[str], set[str]]:
    """(course modules, frameworks) that the import statements of ``tree`` name, lazy imports included.

    ``from helpers import checks`` names ``helpers.checks`` (a module); ``from helpers import ROOT``
    names ``helpers`` itself.
    """
    modules, frameworks = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            modules.update(n for n in names if n in known)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, current, is_package)
            names = [base]
            for alias in node.names:
                full = f"{base}.{alias.name}"
                modules.add(full if full in known else base)
        else:
            continue
        frameworks.update(FRAMEWORKS[n.split(".")[0]] for n in names if n.split(".")[0] in FRAMEWORKS)
    return {m for m in modules if m in known}, frameworks


def notebook_tree(path: Path) -> ast.Module:
    """The code cells of a notebook as one module, IPython magics and shell lines left out."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    body = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        body.extend(ast.parse("\n".join(lines)).body)
    return ast.Module(body=body, type_ignores=[])


def lesson_map() -> dict[str, tuple[list[str], list[str]]]:
    """{"00": (course modules, frameworks)} for each ``solutions/NN_*.ipynb``."""
    known = set(module_files())
    result = {}
    for path in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        modules, frameworks = imports_of(notebook_tree(path), known)
        result[path.name[:2]] = (sorted(modules), sorted(frameworks))
    return result


PROBE = ("import importlib, json, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\n"
         "print(json.dumps([f for f in ('torch', 'tensorflow') if f in sys.modules]))")


@functools.cache  # some forty fresh interpreters: measured once per test process (tests/test_imports.py too)
def module_frameworks() -> dict[str, list[str]]:
    """{module: the frameworks that importing it loads}, each measured in a fresh process.

    A ``__main__`` module would run its command: its imports are measured instead.
    """
    files = module_files()
    known = set(files)
    procs = {}
    for name, path in files.items():
        targets = [name]
        if path.stem == "__main__":
            targets = sorted(imports_of(ast.parse(path.read_text(encoding="utf-8")), known, name)[0])
        procs[name] = subprocess.Popen([sys.executable, "-c", PROBE, *targets], cwd=ROOT, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    result = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"importing {name} failed:\n{err}"
        result[name] = json.loads(out.strip().splitlines()[-1])
    return result


def section(markdown: str, heading: str) -> str:
    """The text under the ``##`` heading that starts with ``heading``, up to the next ``##`` heading."""
    match = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"docs/design.md has no section '## {heading}…'"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The cells of each body row of the Markdown tables in ``text`` (header and rule rows dropped)."""
    rows = []
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        if i + 1 < len(lines) and lines[i + 1].startswith("|") and set(lines[i + 1]) <= set("|-: "):
            continue  # a header row
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def code_names(cell: str) -> list[str]:
    """The names in backticks in a table cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


def documented_lesson_map() -> dict[str, tuple[list[str], list[str]]]:
    rows = table_rows(section(DESIGN.read_text(encoding="utf-8"), "Lesson → module map"))
    result = {}
    for row in rows:
        lesson = re.match(r"\D*(\d\d)", row[0])
        assert lesson, f"a lesson row must start with the lesson's number: {row}"
        result[lesson.group(1)] = (sorted(code_names(row[1])), sorted(code_names(row[2])))
    return result


def render_lesson_map() -> str:
    names = {p.name[:2]: p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")}
    lines = ["| lesson | course modules it imports | frameworks it imports |", "|---|---|---|"]
    for lesson, (modules, frameworks) in lesson_map().items():
        fw = ", ".join(f"`{f}`" for f in frameworks) or "none"
        lines.append(f"| {names[lesson]} | {', '.join(f'`{m}`' for m in modules)} | {fw} |")
    return "\n".join(lines)


def documented_modules() -> dict[str, list[str]]:
    """{module named in the first column of the architecture table: the frameworks its last column names}."""
    rows = table_rows(section(DESIGN.read_text(encoding="utf-8"), "Architecture"))
    return {name: sorted(code_names(row[-1])) for row in rows for name in code_names(row[0])}


def cited_tests() -> set[str]:
    text = section(DESIGN.read_text(encoding="utf-8"), "Facts the course must state correctly")
    return set(re.findall(r"`(?:[\w/.]+\.py::)?(test_\w+)`", text))


def defined_functions() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
    return names


def test_lesson_module_map_is_what_the_notebooks_import():
    documented, actual = documented_lesson_map(), lesson_map()
    assert documented == actual, "docs/design.md's lesson → module map is stale; the computed table:\n" \
        + render_lesson_map()


def test_every_module_is_in_the_architecture_table_with_its_frameworks():
    documented, actual = documented_modules(), module_frameworks()
    missing = sorted(set(actual) - set(documented))
    assert not missing, f"modules missing from docs/design.md's architecture table: {missing}"
    unknown = sorted(m for m in documented if m.startswith(PACKAGES) and m not in actual)
    assert not unknown, f"docs/design.md's architecture table names modules that do not exist: {unknown}"
    wrong = {m: (documented[m], fw) for m, fw in actual.items() if documented[m] != fw}
    assert not wrong, f"frameworks in docs/design.md differ from the imports (documented, actual): {wrong}"


def test_every_cited_test_exists():
    cited = cited_tests()
    assert len(cited) >= 12, "the facts section should cite the tests that prove the facts"
    assert sorted(cited - defined_functions()) == []


def test_every_fact_is_numbered_and_has_a_proof():
    text = section(DESIGN.read_text(encoding="utf-8"), "Facts the course must state correctly")
    numbers = [int(n) for n in re.findall(r"^\*\*F(\d+)\*\*", text, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 12
    for block in re.split(r"^(?=\*\*F\d+\*\*)", text, flags=re.M)[1:]:
        assert "Proof:" in block, block.splitlines()[0]


def test_design_doc_stands_on_its_own():
    text = DESIGN.read_text(encoding="utf-8")
    for phrase in ("COURSE-" + "DESIGN", "../shared", "the brief", "issue #", "the issue"):
        assert phrase.lower() not in text.lower(), phrase


if __name__ == "__main__":
    print(render_lesson_map())
    print()
    for module, frameworks in module_frameworks().items():
        print(f"| `{module}` |  |  | {', '.join(f'`{f}`' for f in frameworks) or 'none'} |")


def test_every_helpers_module_says_which_lessons_use_it():
    """CONTRIBUTING's style rule: a helpers module's docstring ends with the lessons that import it
    ("Used in lessons 05 and 07."), or, when no lesson imports it directly, who does ("Used by …")."""
    used_in = {}
    for lesson, (modules, _) in lesson_map().items():
        for module in modules:
            used_in.setdefault(module, set()).add(lesson)
    for name, path in module_files().items():
        if not name.startswith("helpers") or name.endswith("__main__"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        last = doc.strip().splitlines()[-1] if doc.strip() else ""
        if name in used_in:
            assert last.startswith("Used in lesson"), f"{name}: the docstring should end 'Used in lesson…': {last!r}"
            assert set(re.findall(r"\b\d\d\b", last)) == used_in[name], (last, sorted(used_in[name]))
        else:
            assert last.startswith("Used by ") or last.startswith("Used through its modules"), f"{name}: {last!r}"


def test_every_used_by_line_names_modules_that_import_it():
    """The "Used by …" part of a helpers docstring's last line tells the truth: each course module it names
    exists and imports the module (lazy imports count), so the line cannot outlive a move."""
    files = module_files()
    known = set(files)
    imported_by = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module in imports_of(tree, known, name, path.stem == "__init__")[0]:
            imported_by.setdefault(module, set()).add(name)
    checked = 0
    for name, path in files.items():
        if not name.startswith("helpers"):
            continue
        doc = (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
        last = doc.splitlines()[-1] if doc else ""
        by = re.search(r"(?:^Used by |; by )(.*)$", last)
        if not by:
            continue
        named = re.findall(r"\b((?:helpers|instructor_tools)(?:\.\w+)+)", by.group(1))
        for user in named:
            assert user in known, f"{name}: its docstring names {user}, which is no module"
            users = {u for u in imported_by.get(name, ()) if u == user or u.startswith(user + ".")}
            assert users, f"{name}: its docstring says it is used by {user}, which does not import it"
            checked += 1
        if last.startswith("Used by "):  # no lesson imports it: the line is all it says of its users, so all of them
            importers = {u for u in imported_by.get(name, ()) if not (u == name or name.startswith(u + "."))}
            unnamed = {u for u in importers if not any(u == n or u.startswith(n + ".") for n in named)}
            assert not unnamed, f"{name}: its docstring's 'Used by' line leaves out {sorted(unnamed)}"
    assert checked > 20  # the check reads real lines: the docstrings' convention, not an empty set


def code_environment_variables() -> set[str]:
    """The environment variables the course's code reads: every quoted ``COURSE_*`` / ``NBGRADER_*`` name
    and ``CI`` in the packages, the browser tests, conftest and the lessons (the setup cell included)."""
    paths = [*(ROOT / "helpers").rglob("*.py"), *(ROOT / "instructor_tools").rglob("*.py"),
             *(ROOT / "tests" / "browser").rglob("*.py"), ROOT / "conftest.py",
             *(ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")]
    names = set()
    for path in paths:
        text = path.read_text(encoding="utf-8").replace('\\"', '"')  # a notebook's JSON escapes its quotes
        names.update(re.findall(r"""["']((?:COURSE|NBGRADER)_[A-Z_]+)["']""", text))
        if re.search(r"""environ\.get\(["']CI["']""", text):
            names.add("CI")
    return names - {"NBGRADER_VALIDATING"}  # never read: only removed from the book's kernels, as nbgrader's


def test_the_environment_variable_table_names_every_variable_the_code_reads():
    rows = table_rows(section(DESIGN.read_text(encoding="utf-8"), "Environment variables"))
    documented = {code_names(row[0])[0] for row in rows}
    assert documented == code_environment_variables()
    assert all(len(row) == 4 and all(row) for row in rows), "each row: variable, who reads it, default, who sets it"
