"""Grade a folder of submissions into a gradebook: ``python -m instructor_tools.grade SUBMISSIONS --out grades.csv``.

SUBMISSIONS holds one folder per student: ``SUBMISSIONS/<student_id>/<lesson file name>.ipynb``.
Writes ``grades.csv`` (one row per student × lesson × graded test), ``grades_totals.csv``
(one row per student × lesson) and, with ``--feedback DIR``, one Markdown file per student
and lesson. How it works and why it cannot be fooled: :mod:`instructor_tools.grading`, docs/grading.md.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from helpers.runtime import PROFILES

from .grading import Limits, SandboxUnavailable, detect, grade_folder
from .grading.report import terminal_safe, write_feedback, write_gradebook, write_totals


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m instructor_tools.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="SUBMISSIONS/<student_id>/<lesson>.ipynb")
    parser.add_argument("--out", type=Path, required=True, help="the gradebook CSV to write")
    parser.add_argument("--totals", type=Path, help="totals per student and lesson (default: OUT_totals.csv)")
    parser.add_argument("--feedback", type=Path, metavar="DIR", help="write DIR/<student_id>/<lesson>.md")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel (default 2)")
    parser.add_argument("--timeout", type=float, default=60, metavar="SECONDS", help="per cell (default 60)")
    parser.add_argument("--lessons", nargs="+", metavar="NN", help="grade only these lessons (default: all submitted)")
    parser.add_argument("--memory", type=int, default=4096, metavar="MB",
                        help="memory each kernel may use, all its processes together (resident memory, not the "
                        "address space that libraries map; default 4096)")
    parser.add_argument("--profile", default="smoke", choices=PROFILES,
                        help="run profile of the graded runs (default smoke: heavy cells take seconds)")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="wall-clock budget of one notebook's whole run (default 6 × --timeout + 30)")
    parser.add_argument("--disk", type=int, default=512, metavar="MB", help="private disk of each kernel (default 512)")
    parser.add_argument("--processes", type=int, default=1024, help="processes and threads per kernel (default 1024)")
    parser.add_argument("--unsandboxed", action="store_true",
                        help="grade without bubblewrap where it is missing: a submission can then read your files, "
                        "use the network and outlive its job (trusted submissions only)")
    return parser


def _stop(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the grader as ``SystemExit``, Ctrl-C as ``KeyboardInterrupt``: never abruptly.

    Either unwinds through :func:`grading.grade_folder`, which then ends every worker and its
    sandbox (their own process groups, which no signal to the grader reaches) before it returns.
    SIGINT is set too: a grader started in the background by a script inherits it ignored.
    """
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _write_all(graded: list, out: Path, totals: Path, feedback: Path | None) -> bool:
    """The gradebook, the totals and the feedback, each attempted whatever happened to the others
    (each file is written whole or not at all); ``False``, having said why, if one could not be written."""
    writers = [(out, write_gradebook), (totals, write_totals)] + ([(feedback, write_feedback)] if feedback else [])
    ok = True
    for target, write in writers:
        try:
            write(graded, target)
        except OSError as exc:
            print(terminal_safe(f"could not write {target}: {exc}"), file=sys.stderr)
            ok = False
    return ok


def main(argv: list[str] | None = None) -> int:
    """Grade, write the gradebook, the totals and the feedback; 0 on success (argparse exits 2 on bad usage)."""
    stop_on_signals()
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    try:
        isolation = detect(allow_unsandboxed=args.unsandboxed)
    except SandboxUnavailable as exc:
        parser.error(str(exc))
    print(f"isolation: {isolation.bounds}", file=sys.stderr)
    limits = Limits(timeout=args.timeout, memory_mb=args.memory, profile=args.profile, budget=args.budget,
                    disk_mb=args.disk, processes=args.processes, isolation=isolation)
    start = time.monotonic()
    try:
        graded = grade_folder(args.submissions, lessons=args.lessons, limits=limits, jobs=args.jobs,
                              progress=lambda line: print(terminal_safe(line), file=sys.stderr, flush=True))
    except ValueError as exc:
        parser.error(str(exc))
    except (KeyboardInterrupt, SystemExit) as exc:  # the workers and their sandboxes have ended
        print("grading stopped: every kernel has ended; nothing was written", file=sys.stderr)
        return exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 128 + signal.SIGINT
    totals = args.totals or args.out.with_name(f"{args.out.stem}_totals.csv")
    if not _write_all(graded, args.out, totals, args.feedback):
        return 1
    runs = sum(1 for g in graded if g.seconds)
    minutes = (time.monotonic() - start) / 60
    print(f"graded {runs} notebook(s) of {len({g.student_id for g in graded})} student(s) in {minutes * 60:.0f} s "
          f"({runs / minutes:.1f} per minute); wrote {args.out}, {totals}"
          + (f", feedback in {args.feedback}/" if args.feedback else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
