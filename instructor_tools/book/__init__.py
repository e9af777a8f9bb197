"""The course as a book: ``python -m instructor_tools.book [--instructor] [--profile cpu] [--out _build/book]``.

Executes every solved lesson (``solutions/``) in a run profile, caching each lesson's outputs
(:mod:`instructor_tools.book.execute`), writes the Sphinx sources (:mod:`instructor_tools.book.pages`)
and builds a static HTML site with Sphinx, MyST-NB and the Furo theme: a page per lesson, the
README's lesson table as the front page, navigation and search, all of it offline. A lesson that
fails stops the build with its name and cell; Sphinx warnings are errors (no silent partial book).

Two books: the public one (the default, the one to publish) shows the lessons as learners get them,
without the solutions or the hidden tests that grading depends on (:mod:`instructor_tools.book.pages`),
and fails rather than write a page that still holds a region marker; ``--instructor`` shows everything,
in its own folder. Publishing: ``docs/book.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from helpers import ROOT
from helpers.runtime import PROFILES
from instructor_tools.lesson import BuildError

from .execute import LessonError, execute_all
from .pages import LESSONS, PageError, markers_in, write_sources

DEFAULT_OUT = ROOT / "_build" / "book"
#: The instructor's book has a folder of its own, so that the public book's folder never holds its pages.
INSTRUCTOR_OUT = ROOT / "_build" / "book-instructor"
DEFAULT_PROFILE = "cpu"


class SphinxError(RuntimeError):
    """Sphinx failed or warned (warnings are errors: a book with a broken page is not published)."""


class LeakError(RuntimeError):
    """The public book came out with a solution or hidden-test marker: its HTML is deleted, not published."""


def book_profile(option: str | None, environ=os.environ) -> str:
    """``--profile`` when given, else ``COURSE_PROFILE`` (as the lessons themselves honour it), else cpu.

    ``CI`` is not followed, unlike the lessons: the Pages workflow runs with it set, and a book published
    from a smoke run would show runs that never converge.
    """
    chosen = option or environ.get("COURSE_PROFILE") or DEFAULT_PROFILE
    if chosen not in PROFILES:
        raise ValueError(f"COURSE_PROFILE={chosen!r} is not a run profile: choose one of {', '.join(PROFILES)}")
    return chosen


def build(profile: str = DEFAULT_PROFILE, out: Path = DEFAULT_OUT, cell_timeout: int = 1800, log=print,
          instructor: bool = False) -> Path:
    """Execute (or reuse) every lesson, write the sources and run Sphinx; returns ``out/html``."""
    start = time.monotonic()
    which = "instructor's book (solutions and hidden tests)" if instructor else "public book"
    log(f"book: the {which}; executing the lessons, profile {profile} (cache: {out / 'cache' / profile})", flush=True)
    executed = execute_all(profile, out / "cache", cell_timeout=cell_timeout, log=log, instructor=instructor)
    changed = write_sources(out / "src", executed, profile, instructor=instructor)
    log(f"book: {len(changed)} source file(s) changed; rendering with Sphinx ...", flush=True)
    sphinx = time.monotonic()
    html = out / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
               "-d", str(out / "doctrees"), str(out / "src"), str(html)]
    result = subprocess.run(command, cwd=out, text=True, capture_output=True)
    if result.returncode:
        raise SphinxError(f"Sphinx failed (exit {result.returncode}):\n{result.stderr[-5000:]}")
    for old in (html / LESSONS).glob("*.html"):  # Sphinx leaves the page of a renamed lesson behind
        if old.stem not in {lesson.name for lesson in executed}:
            old.unlink()
    leaks = [] if instructor else markers_in(html)
    if leaks:  # the last guard before publishing: what grading depends on must not reach the site
        shutil.rmtree(html)
        raise LeakError("the public book holds region markers (its html/ is deleted):\n  " + "\n  ".join(leaks))
    ran = sum(not lesson.cached for lesson in executed)
    log(f"book: {len(executed)} lessons ({ran} executed, {len(executed) - ran} cached), "
        f"Sphinx {time.monotonic() - sphinx:.1f} s, total {time.monotonic() - start:.1f} s", flush=True)
    log(f"book: {html / 'index.html'}", flush=True)
    return html


def main(argv: list[str] | None = None) -> int:
    """The command line; exit status 1 when a lesson, Sphinx or the public book's guard fails."""
    parser = argparse.ArgumentParser(
        prog="python -m instructor_tools.book",
        description="Execute every solved lesson (cached per lesson) and build the course as an offline HTML book: "
                    "the public one (no solutions, no hidden tests) unless --instructor.")
    parser.add_argument("--profile", choices=PROFILES,
                        help=f"run profile of the lessons (default: COURSE_PROFILE if set, else {DEFAULT_PROFILE})")
    parser.add_argument("--instructor", action="store_true",
                        help="the instructor's book: solutions and hidden tests shown; never publish it "
                             f"(default --out: {INSTRUCTOR_OUT.relative_to(ROOT)})")
    parser.add_argument("--out", type=Path, help="cache, sources and html/ "
                                                 f"(default: {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--cell-timeout", type=int, default=1800, help="seconds a cell may run (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        profile = book_profile(args.profile)
    except ValueError as err:
        parser.error(str(err))
    out = args.out or (INSTRUCTOR_OUT if args.instructor else DEFAULT_OUT)
    try:
        build(profile, out.resolve(), args.cell_timeout, instructor=args.instructor)
    except (BuildError, LessonError, PageError, SphinxError, LeakError) as err:
        print(f"book: FAILED: {err}", file=sys.stderr)
        return 1
    return 0
