"""The grader on a course installed the way a grading image installs it (``pip install .``, not editable).

Such an install puts a whole copy of the course's packages, the answers included
(``helpers/reference.py`` and its ``.pyc``), in the site-packages of the Python
installation the sandbox mounts. Here a throwaway venv that sees the dev venv's packages
(through a ``.pth`` file) gets the course installed into it, and grades, with its own
Python and its own installed grader, lesson 02 submissions whose target exercise takes the
answer from that installed copy: by file path, by its source, by its bytecode, through
``sys.path``. Each must earn nothing for it, while the solution earns full marks.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from planted_lesson import EXERCISES, LESSON, POINTS, SOLUTION, TARGET, TIMEOUT, function_name, solved_except

from helpers import ROOT

NAME = function_name(TARGET)

# Each defines the target exercise's function from the installed copy's helpers.reference.
_INSTALLED = 'import os, sysconfig\n_installed = os.path.join(sysconfig.get_paths()["purelib"], "helpers")\n'
ATTACKS = {
    "by_file_path": _INSTALLED + f'''
import importlib.util
_spec = importlib.util.spec_from_file_location("_reference", os.path.join(_installed, "reference.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
{NAME} = _module.{NAME}
''',
    "by_source": _INSTALLED + f'''
_namespace = {{"__name__": "_reference"}}
with open(os.path.join(_installed, "reference.py")) as _f:
    exec(compile(_f.read(), "reference.py", "exec"), _namespace)
{NAME} = _namespace["{NAME}"]
''',
    "by_bytecode": _INSTALLED + f'''
import glob, marshal
_namespace = {{"__name__": "_reference"}}
with open(glob.glob(os.path.join(_installed, "__pycache__", "reference.*.pyc"))[0], "rb") as _f:
    exec(marshal.loads(_f.read()[16:]), _namespace)
{NAME} = _namespace["{NAME}"]
''',
    "by_sys_path": _INSTALLED + f'''
import sys
sys.path.insert(0, os.path.dirname(_installed))
for _name in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
    del sys.modules[_name]
from helpers.reference import {NAME}
''',
}

# Run in the sandbox of the installed grader: which helpers a kernel imports, what else of the course it sees.
SEEN = '''
import glob, os, sysconfig, helpers
_purelib = sysconfig.get_paths()["purelib"]
assert helpers.__file__ == "/course/helpers/__init__.py", helpers.__file__
assert not glob.glob(os.path.join(_purelib, "instructor_tools", "**", "*.py*"), recursive=True), "instructor_tools"
assert not glob.glob(os.path.join(_purelib, "helpers", "**", "*.pyc"), recursive=True), "bytecode"
'''

# What the installed venv's Python runs, from a folder outside the repository: its own installed grader.
GRADE = '''
import json, sys, tempfile
from pathlib import Path

import helpers, instructor_tools
from instructor_tools.grading import Limits, grade_folder
from instructor_tools.grading.runner import lesson_course, run_cells, snapshot

submissions, course, timeout = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
graded = grade_folder(submissions, course=course, lessons=["02"], limits=Limits(timeout=timeout), jobs=2,
                      progress=lambda line: print(line, file=sys.stderr))
batch = Path(tempfile.mkdtemp(dir=submissions.parent))
seen = run_cells(batch, "seen", [sys.argv[4]], Limits(timeout=timeout),
                 course=lesson_course(batch, snapshot(batch, course), "02"))[0]
print(json.dumps({
    "imported": [helpers.__file__, instructor_tools.__file__],
    "graded": {g.student_id: [[r.exercise, r.points, r.status, r.message] for r in g.rows] for g in graded},
    "seen": {k: seen.get(k) for k in ("status", "ename", "evalue")},
}))
'''


def _clean_env() -> dict:
    """The test's environment without what would make the venv's Python import the repository or the dev venv."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _run(argv: list, cwd: Path, timeout: float) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _source_tree(dest: Path) -> Path:
    """What ``pip install .`` needs of the repository, copied: the build writes into its source folder."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("LICENSES", "helpers", "instructor_tools"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory, isolation) -> dict:
    """A venv with the course installed non-editable (``pip install .``); its Python and site-packages."""
    root = tmp_path_factory.mktemp("installed")
    os.chmod(root, 0o755)  # the sandboxed kernel runs the venv's Python as the job's own user
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], root, 120)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root, 60).strip())
    # The dev venv's packages (numpy, torch, ipykernel, pip, setuptools...) without copying them.
    (purelib / "dev-venv.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    source = _source_tree(root / "source")
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "--ignore-installed", source], root, 600)
    # The copy the attacks read is there, bytecode included, as in a grading image.
    assert "def " + NAME in (purelib / "helpers" / "reference.py").read_text()
    assert list((purelib / "helpers" / "__pycache__").glob("reference.*.pyc"))
    assert (purelib / "instructor_tools" / "grading" / "isolation.py").exists()
    return {"root": root, "python": python, "purelib": purelib}


@pytest.fixture(scope="module")
def graded(installed) -> dict:
    submissions = installed["root"] / "submissions"
    notebooks = {"full": SOLUTION, **{name: solved_except(TARGET, code) for name, code in ATTACKS.items()}}
    for student, nb in notebooks.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(nb, submissions / student / LESSON)
    out = _run([installed["python"], "-c", GRADE, submissions, ROOT, TIMEOUT, SEEN], installed["root"], 1800)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_grader_that_ran_is_the_installed_one(installed, graded):
    assert all(Path(f).is_relative_to(installed["purelib"]) for f in graded["imported"]), graded["imported"]


@pytest.mark.slow
def test_the_solution_gets_full_marks_from_the_installed_grader(graded):
    rows = graded["graded"]["full"]
    assert {r[2] for r in rows} == {"passed"}, rows
    assert sum(r[1] for r in rows) == sum(POINTS.values())


@pytest.mark.slow
@pytest.mark.parametrize("student", list(ATTACKS))
def test_the_installed_copy_of_the_answer_earns_nothing(graded, student):
    rows = graded["graded"][student]
    assert sum(r[1] for r in rows if r[0] == TARGET) == 0, rows
    for exercise in EXERCISES:
        if exercise != TARGET:
            assert sum(r[1] for r in rows if r[0] == exercise) == POINTS[exercise], rows


@pytest.mark.slow
def test_a_kernel_imports_the_withheld_helpers_and_sees_no_other_copy(graded):
    assert graded["seen"]["status"] == "ok", graded["seen"]
