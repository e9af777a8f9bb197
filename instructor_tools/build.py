"""Build the student notebooks from the solutions: ``python -m instructor_tools.build [--check]``.

``solutions/NN_*.ipynb`` is the one source of every lesson (the format: :mod:`instructor_tools.lesson`). For
each one the build

* stamps the shared header (Colab badge + setup cell) into the solution itself,
* writes ``notebooks/NN_*.ipynb`` where every ``### BEGIN SOLUTION`` … ``### END SOLUTION``
  region becomes a stub that raises ``NotImplementedError`` naming the exercise, and
  every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region is removed,
* replaces the answers to the lesson's questions (a Markdown cell whose metadata has
  ``course: {answers: true}``) by a place for the learner's own,
* keeps nbgrader's cell metadata, strips outputs and execution counts.

``--check`` writes nothing and exits 1 when a student notebook is stale, missing or
extra, when any notebook carries outputs or execution counts, when a solution's
header is out of date, or when a region is malformed (an unclosed or stray marker, a
marker outside a code cell, a solution region in a cell nbgrader does not know as a
solution cell, a duplicate ``grade_id``, a graded cell without points).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

from helpers import ROOT

from .lesson import NOTEBOOKS, SOLUTIONS, BuildError, lessons, normalise_solution, student_version


def dumps(nb) -> str:
    """The notebook's text as the build writes it: validated, minimal metadata, stable key order."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def has_outputs(nb) -> bool:
    """Whether any code cell carries outputs or an execution count."""
    return any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in nb.cells)


REBUILD = "run python -m instructor_tools.build"


def build(root: Path = ROOT, check: bool = False) -> list[str]:
    """Build (or with ``check``, verify) every lesson; return the list of problems found."""
    problems: list[str] = []
    students = {p.name for p in (root / NOTEBOOKS).glob("*.ipynb")}
    for path in lessons(root):
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        students.discard(path.name)
        try:
            solution_text = dumps(normalise_solution(nb, path.name))
            student_text = dumps(student_version(nbformat.reads(solution_text, as_version=4), path.name))
        except BuildError as err:
            problems.append(str(err))
            continue
        target = root / NOTEBOOKS / path.name
        if check:
            problems += _stale(path, nb, text, solution_text, target, student_text)
        else:
            _write_if_changed(path, text, solution_text)
            target.parent.mkdir(exist_ok=True)
            _write_if_changed(target, target.read_text(encoding="utf-8") if target.exists() else None, student_text)
    for extra in sorted(students):
        problems.append(f"{NOTEBOOKS}/{extra} has no source in {SOLUTIONS}/ "
                        "(student notebooks are generated, never written by hand)")
    return problems


def _stale(path: Path, nb, text: str, solution_text: str, target: Path, student_text: str) -> list[str]:
    """What ``--check`` finds wrong with one lesson: its solution on disk, and its student notebook."""
    problems = []
    if has_outputs(nb):
        problems.append(f"{SOLUTIONS}/{path.name} has outputs or execution counts (run without --check to strip them)")
    elif text != solution_text:
        problems.append(f"{SOLUTIONS}/{path.name} is not normalised (header or metadata out of date): {REBUILD}")
    if not target.exists():
        problems.append(f"{NOTEBOOKS}/{path.name} is missing: {REBUILD}")
        return problems
    current = target.read_text(encoding="utf-8")
    if has_outputs(nbformat.reads(current, as_version=4)):
        problems.append(f"{NOTEBOOKS}/{path.name} has outputs or execution counts")
    elif current != student_text:
        problems.append(f"{NOTEBOOKS}/{path.name} is stale or was edited by hand: {REBUILD}")
    return problems


def _write_if_changed(path: Path, current: str | None, text: str) -> None:
    if current != text:  # an unchanged lesson keeps its file untouched (and its mtime)
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Build or check the notebooks; print the problems; 1 if there were any."""
    parser = argparse.ArgumentParser(prog="python -m instructor_tools.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 if anything is stale or malformed")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder (default: this checkout)")
    args = parser.parse_args(argv)
    problems = build(args.root, check=args.check)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print("notebooks/ is up to date" if args.check else "built notebooks/ from solutions/")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
