"""How long a learner needs for each lesson, estimated from what the lesson holds.

    python -m instructor_tools.study_time            # one line per lesson, and the course's total
    python -m instructor_tools.study_time --check    # fail if a lesson's header or README.md states another time
    python -m instructor_tools.study_time --write    # write the estimates and run times into the headers, README.md

A learner with ten hours should know which path fits, so every lesson's title cell states its study time next to
its machine time, and README.md's table repeats it. The number is an estimate from the lesson's own size, so that
it follows every edit rather than an author's guess; the rates are the assumptions, stated once here:

* reading: :data:`WORDS_PER_MINUTE` words of Markdown a minute (technical prose with formulas: slower than
  the 200–250 of light reading);
* every exercise (a solution cell): :data:`EXERCISE_MINUTES`, to write, run and fix it;
* every question at the end: :data:`QUESTION_MINUTES`, to try it and read the answer;
* every other code cell: :data:`CODE_CELL_MINUTES`, to read it, run it and look at what it shows.

The machine's own time (the long training cells) is not included: each header states it per run profile, in
a line stamped here too (:func:`run_time_line`) from the whole-lesson times that ``scripts/make_healthy_run.py``
records in ``data/healthy_run/times.json`` (:data:`LESSON_TIMES`), never typed by hand. A level-2 heading that
starts with "Optional" opens an optional part, which the next level-2 heading closes; its minutes are counted apart.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT, healthy_run
from helpers.runtime import PROFILES

from .lesson import ANSWERS, CPU_ONLY, HEADER, course_metadata, lessons

WORDS_PER_MINUTE = 100
EXERCISE_MINUTES = 20
QUESTION_MINUTES = 5
CODE_CELL_MINUTES = 1
#: How a lesson's title cell states the estimate (``--check`` looks for exactly this line).
HEADER_PREFIX = "**Study time:**"
#: How a lesson's title cell states its machine time (a paragraph of its own; "**Running time**" was the old wording).
RUN_TIME_PREFIXES = ("**Run time**", "**Running time**")
#: The key of ``times.json`` that holds each lesson's whole Run All time: ``{"04": {"smoke": s, "cpu": s}}``.
LESSON_TIMES = "_lessons"
#: Where ``times.json`` lives, below the course's root.
TIMES_DIR = healthy_run.HEALTHY_RUN_DIR.relative_to(ROOT)


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


def _paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def _prose(text: str) -> str:
    """A Markdown cell's text without the lines this module stamps (study time, run time): they are not read."""
    kept = "\n\n".join(p for p in _paragraphs(text) if not p.startswith(RUN_TIME_PREFIXES))
    return "\n".join(line for line in kept.splitlines() if not line.startswith(HEADER_PREFIX))


def estimate(path: Path) -> StudyTime:
    """The study time of one lesson notebook (the shared header cells are not counted)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    result, optional = StudyTime(Path(path).stem), False
    for cell in cells:
        text = "".join(cell["source"])
        meta = cell.get("metadata", {})
        if course_metadata(cell).get(HEADER):
            continue
        if cell["cell_type"] == "markdown":
            heading = re.match(r"## (.*)", text)
            if heading:
                optional = heading.group(1).lower().startswith("optional")
            if text.startswith("## Questions"):
                result.questions = len(re.findall(r"^\d+\. ", text, re.M))
                minutes = result.questions * QUESTION_MINUTES
            elif course_metadata(cell).get(ANSWERS):
                continue  # read while checking each question: counted in QUESTION_MINUTES
            else:
                words = _words(_prose(text))
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


def _about(seconds: float) -> str:
    """A whole lesson's time as a header states it: 'about 40 s', 'about 4 min'."""
    return f"about {max(1, round(seconds))} s" if seconds < 120 else f"about {round(seconds / 60)} min"


def run_time_line(lesson: str, cpu_only: bool, times: dict) -> str:
    """The paragraph a lesson's title cell states its machine time in, from ``times.json``'s :data:`LESSON_TIMES`.

    ``lesson``: its number ("04"); ``cpu_only``: nothing in it runs on a GPU (its title cell's
    ``course: {cpu_only: true}``), so the ``gpu`` profile does the ``cpu`` profile's work.
    """
    measured = times.get(LESSON_TIMES, {}).get(lesson, {})
    if not measured:
        return f"{RUN_TIME_PREFIXES[0]}: not measured yet (`python scripts/make_healthy_run.py --lessons {lesson}`)."
    cores = times.get("_run", {}).get("cores")
    machine = f"a {cores}-core CPU" if cores else "a CPU"
    shown = [p for p in PROFILES if p in measured and not (cpu_only and p == "gpu")]
    line = (f"{RUN_TIME_PREFIXES[0]} (Run All, kernel start included, measured on {machine}): "
            + ", ".join(f"`{p}` {_about(measured[p])}" for p in shown))
    if cpu_only:
        return line + "; `gpu` does the same work as `cpu`, since nothing here runs on a GPU."
    missing = [f"`{p}`" for p in PROFILES if p not in measured]
    return line + (f"; {', '.join(missing)} not measured." if missing else ".")


def _title(path: Path) -> dict:
    """A lesson's title cell (the first after the shared header), as JSON."""
    return json.loads(path.read_text(encoding="utf-8"))["cells"][2]


def expected_run_time(path: Path, times: dict) -> str:
    """:func:`run_time_line` for the lesson at ``path``."""
    return run_time_line(path.name[:2], bool(course_metadata(_title(path)).get(CPU_ONLY)), times)


def problems(root: Path = ROOT) -> list[str]:
    """Where a lesson's header or README.md's table states a study time other than the estimate, or a header
    another run time than ``times.json``."""
    out = []
    readme = (root / "README.md").read_text(encoding="utf-8")
    times = healthy_run.load_times(root / TIMES_DIR)
    for path in lessons(root):
        study = estimate(path)
        title = "".join(_title(path)["source"])
        if header_line(study) not in title:
            out.append(f"{path.name}: its title cell should say\n  {header_line(study)}")
        if expected_run_time(path, times) not in _paragraphs(title):
            out.append(f"{path.name}: its title cell should state its run time as a paragraph of its own\n  "
                       f"{expected_run_time(path, times)}")
        row = next((line for line in readme.splitlines() if line.startswith(f"| {path.name[:2]} |")), "")
        if f"| {readme_cell(study)} |" not in row:
            out.append(f"README.md: the row of lesson {path.name[:2]} should give the study time {readme_cell(study)}")
    return out


def _stamp_run_time(text: str, line: str) -> str:
    """``text`` with its run-time paragraph replaced by ``line`` (added at the end where it has none)."""
    paragraphs = _paragraphs(text)
    at = next((i for i, p in enumerate(paragraphs) if p.startswith(RUN_TIME_PREFIXES)), None)
    if at is None:
        return text.rstrip("\n") + "\n\n" + line
    paragraphs[at] = line
    return "\n\n".join(paragraphs)


def write(root: Path = ROOT) -> None:
    """Put each lesson's :func:`header_line` into its title cell (before its run-time paragraph, or replacing the
    old one), its :func:`run_time_line` in place of that paragraph, and its :func:`readme_cell` into README.md's
    lesson table (the column before Colab's)."""
    readme = (root / "README.md").read_text(encoding="utf-8").splitlines(keepends=True)
    times = healthy_run.load_times(root / TIMES_DIR)
    for path in lessons(root):
        study = estimate(path)
        run_time = expected_run_time(path, times)
        nb = json.loads(path.read_text(encoding="utf-8"))
        title = nb["cells"][2]
        lines = _stamp_run_time("".join(title["source"]), run_time).split("\n")
        for i in reversed([i for i, line in enumerate(lines) if line.startswith(HEADER_PREFIX)]):
            del lines[i: i + 2 if i + 1 < len(lines) and not lines[i + 1].strip() else i + 1]  # and its blank line
        run = lines.index(run_time)
        lines[run:run] = [header_line(study), ""]
        while lines and not lines[-1].strip():
            lines.pop()
        title["source"] = "\n".join(lines)
        path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
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
    parser = argparse.ArgumentParser(prog="python -m instructor_tools.study_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if a header or README.md disagrees (study time; run time with times.json)")
    parser.add_argument("--write", action="store_true",
                        help="write the estimates and the run times into the headers, the estimates into README.md")
    args = parser.parse_args(argv)
    if args.write:
        write()
        print("wrote the estimates below and the run times of times.json into the lessons' title cells, "
              "the estimates into README.md")
    if args.check:
        found = problems()
        print("\n".join(found) if found else "every lesson states its estimated study time and its measured run time")
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
    raise SystemExit(main())
