"""The course as a book: ``python -m instructor_tools.book [--profile cpu] [--out _build/book]``.

Executes every solved lesson (``solutions/``) in a run profile, caching each lesson's outputs
(:mod:`instructor_tools.book.execute`), writes the Sphinx sources (:mod:`instructor_tools.book.pages`)
and builds a static HTML site with Sphinx, MyST-NB and the Furo theme: a page per lesson, the
README's lesson table as the front page, navigation and search, all of it offline. A lesson that
fails stops the build with its name and cell; Sphinx warnings are errors (no silent partial book).
Publishing: ``docs/book.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from helpers import ROOT
from helpers.runtime import PROFILES

from .execute import LessonError, execute_all
from .pages import LESSONS, PageError, write_sources

DEFAULT_OUT = ROOT / "_build" / "book"


class SphinxError(RuntimeError):
    """Sphinx failed or warned (warnings are errors: a book with a broken page is not published)."""


def build(profile: str = "cpu", out: Path = DEFAULT_OUT, cell_timeout: int = 1800, log=print) -> Path:
    """Execute (or reuse) every lesson, write the sources and run Sphinx; returns ``out/html``."""
    start = time.monotonic()
    log(f"book: executing the lessons, profile {profile} (cache: {out / 'cache' / profile})", flush=True)
    executed = execute_all(profile, out / "cache", cell_timeout=cell_timeout, log=log)
    changed = write_sources(out / "src", executed, profile)
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
    ran = sum(not lesson.cached for lesson in executed)
    log(f"book: {len(executed)} lessons ({ran} executed, {len(executed) - ran} cached), "
        f"Sphinx {time.monotonic() - sphinx:.1f} s, total {time.monotonic() - start:.1f} s", flush=True)
    log(f"book: {html / 'index.html'}", flush=True)
    return html


def main(argv: list[str] | None = None) -> int:
    """The command line; exit status 1 when a lesson or Sphinx fails."""
    parser = argparse.ArgumentParser(
        prog="python -m instructor_tools.book",
        description="Execute every solved lesson (cached per lesson) and build the course as an offline HTML book.")
    parser.add_argument("--profile", choices=PROFILES, default="cpu", help="run profile of the lessons (default: cpu)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache, sources and html/ (default: %(default)s)")
    parser.add_argument("--cell-timeout", type=int, default=1800, help="seconds a cell may run (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        build(args.profile, args.out.resolve(), args.cell_timeout)
    except (LessonError, PageError, SphinxError) as err:
        print(f"book: FAILED: {err}", file=sys.stderr)
        return 1
    return 0
