"""How long a learner needs for each lesson, estimated from what the lesson holds.

    python -m instructor_tools.study_time            # one line per lesson, and the course's total
    python -m instructor_tools.study_time --check    # fail if a lesson's header or README.md states another time
    python -m instructor_tools.study_time --write    # write the estimates into the headers and README.md

A learner with ten hours should know which path fits, so every lesson's title cell states its study time next to
its machine time, and README.md's table repeats it. The number is an estimate from the lesson's own size, so that
it follows every edit rather than an author's guess; the rates are the assumptions, stated once here:

* reading: :data:`WORDS_PER_MINUTE` words of Markdown a minute (technical prose with formulas: slower than
  the 200–250 of light reading);
* every exercise (a solution cell): :data:`EXERCISE_MINUTES`, to write, run and fix it;
* every question at the end: :data:`QUESTION_MINUTES`, to try it and read the answer;
* every other code cell: :data:`CODE_CELL_MINUTES`, to read it, run it and look at what it shows.

The machine's own time (the long training cells) is not included: each header states it per run profile. A
level-2 heading that starts with "Optional" opens an optional part, which the next level-2 heading closes; its
minutes are counted apart.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS_PER_MINUTE = 100
EXERCISE_MINUTES = 20
QUESTION_MINUTES = 5
CODE_CELL_MINUTES = 1
#: How a lesson's title cell states the estimate (``--check`` looks for exactly this line).
HEADER_PREFIX = "**Study time:**"


@dataclass
class StudyTime:
    """The counts behind one lesson's estimate, and the estimate (core path and optional part, in minutes)."""

    lesson: str
    words: int = 0
    exercises: int = 0
    questions: int = 0
    code_cells: int = 0
    minutes: float = 0.0
    optional_minutes: float = 0.0


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’-]*", text))


def estimate(path: Path) -> StudyTime:
    """The study time of one lesson notebook (the shared header cells are not counted)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    result, optional = StudyTime(Path(path).stem), False
    for cell in cells:
        text = "".join(cell["source"])
        meta = cell.get("metadata", {})
        if meta.get("course", {}).get("header"):
            continue
        if cell["cell_type"] == "markdown":
            heading = re.match(r"## (.*)", text)
            if heading:
                optional = heading.group(1).lower().startswith("optional")
            if text.startswith("## Questions"):
                result.questions = len(re.findall(r"^\d+\. ", text, re.M))
                minutes = result.questions * QUESTION_MINUTES
            elif meta.get("course", {}).get("answers"):
                continue  # read while checking each question: counted in QUESTION_MINUTES
            else:
                words = _words("\n".join(line for line in text.splitlines() if not line.startswith(HEADER_PREFIX)))
                result.words += words
                minutes = words / WORDS_PER_MINUTE
        elif meta.get("nbgrader", {}).get("solution"):
            result.exercises += 1
            minutes = EXERCISE_MINUTES
        else:
            result.code_cells += 1
            minutes = CODE_CELL_MINUTES
        if optional:
            result.optional_minutes += minutes
        else:
            result.minutes += minutes
    return result


def duration(minutes: float) -> str:
    """Minutes rounded to 5, as '1 h 35 min' or '40 min'."""
    total = int(5 * round(minutes / 5))
    hours, rest = divmod(total, 60)
    return f"{hours} h {rest} min" if hours and rest else f"{hours} h" if hours else f"{rest} min"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def header_line(study: StudyTime) -> str:
    """The sentence a lesson's title cell carries."""
    optional = ""
    if study.optional_minutes:
        optional = f", plus about {duration(study.optional_minutes)} for the optional part"
    return (f"{HEADER_PREFIX} about {duration(study.minutes)}{optional} (estimated from its {study.words:,} words, "
            f"{_count(study.exercises, 'exercise')}, {_count(study.questions, 'question')} and "
            f"{_count(study.code_cells, 'code cell')}; "
            "`python -m instructor_tools.study_time` says how).")


def lessons(root: Path = ROOT) -> list[Path]:
    """The lesson sources, in order."""
    return sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))


def problems(root: Path = ROOT) -> list[str]:
    """Where a lesson's header or README.md's table states a study time other than the estimate."""
    out = []
    readme = (root / "README.md").read_text(encoding="utf-8")
    for path in lessons(root):
        study = estimate(path)
        title = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][2]["source"])
        if header_line(study) not in title:
            out.append(f"{path.name}: its title cell should say\n  {header_line(study)}")
        row = next((line for line in readme.splitlines() if line.startswith(f"| {path.name[:2]} |")), "")
        if f"| {readme_cell(study)} |" not in row:
            out.append(f"README.md: the row of lesson {path.name[:2]} should give the study time {readme_cell(study)}")
    return out


def write(root: Path = ROOT) -> None:
    """Put each lesson's :func:`header_line` into its title cell (before its run-time line, or replacing the old
    one) and its :func:`readme_cell` into README.md's lesson table (the column before Colab's)."""
    readme = (root / "README.md").read_text(encoding="utf-8").splitlines(keepends=True)
    for path in lessons(root):
        study = estimate(path)
        nb = json.loads(path.read_text(encoding="utf-8"))
        title = nb["cells"][2]
        lines = "".join(title["source"]).split("\n")
        for i in reversed([i for i, line in enumerate(lines) if line.startswith(HEADER_PREFIX)]):
            del lines[i: i + 2 if i + 1 < len(lines) and not lines[i + 1].strip() else i + 1]  # and its blank line
        run = next((i for i, line in enumerate(lines) if line.startswith(("**Run time**", "**Running time**"))), None)
        if run is None:
            lines += ["", header_line(study)]
        else:
            lines[run:run] = [header_line(study), ""]
        while lines and not lines[-1].strip():
            lines.pop()
        title["source"] = "\n".join(lines)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        for i, line in enumerate(readme):
            if line.startswith(f"| {path.name[:2]} |"):
                cells = line.rstrip("\n").split(" | ")
                cells[-2] = readme_cell(study)
                readme[i] = " | ".join(cells) + "\n"
    (root / "README.md").write_text("".join(readme), encoding="utf-8")


def readme_cell(study: StudyTime) -> str:
    """README's study-time cell for one lesson."""
    optional = f" + {duration(study.optional_minutes)} optional" if study.optional_minutes else ""
    return duration(study.minutes) + optional


def main(argv: list[str] | None = None) -> int:
    """Print the estimates (or, with ``--check``, the disagreements: exit status 1 if any)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a header or README.md disagrees")
    parser.add_argument("--write", action="store_true", help="write the estimates into the headers and README.md")
    args = parser.parse_args(argv)
    if args.write:
        write()
        print("wrote the estimates below into the lessons' title cells and README.md")
    if args.check:
        found = problems()
        print("\n".join(found) if found else "every lesson states its estimated study time")
        return 1 if found else 0
    studies = [estimate(path) for path in lessons()]
    for study in studies:
        print(f"{study.lesson:28s} {readme_cell(study):24s} {study.words:6,} words, "
              f"{_count(study.exercises, 'exercise')}, {_count(study.questions, 'question')}, "
              f"{_count(study.code_cells, 'code cell')}")
    core = sum(s.minutes for s in studies)
    optional = sum(s.optional_minutes for s in studies)
    print(f"{'the course':28s} {duration(core)} (+ {duration(optional)} optional)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
