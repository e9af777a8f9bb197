"""Grading throughput, and where a submission's time goes: ``python scripts/bench_grading.py``.

Grades ``--n`` copies of a lesson's solution (sandboxed, as ``python -m instructor_tools.grade``
does) and prints submissions per minute with a per-phase breakdown:

* ``solution runs``: how many times the solution ran for its expected values;
* ``start+stop``: a run's wall time less its cells' (the worker's Python, bubblewrap, the
  kernel's start and shutdown);
* ``setup cell``: the lesson's first code cell (its imports);
* ``other cells``: the rest of the lesson's smoke run;
* ``verdicts``: the grader's own work after a run (decoding probes, comparing).

``--tree DIR`` grades with the grader of another checkout (e.g. a ``git worktree`` of an older
commit), so that two versions are measured side by side in one session, on one machine:

    git worktree add /tmp/grader-before <commit>
    python scripts/bench_grading.py --tree /tmp/grader-before && python scripts/bench_grading.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout whose grader to measure (default: this one)")
    parser.add_argument("--lesson", default="02", help="lesson number (default 02)")
    parser.add_argument("--n", type=int, default=10, help="submissions, each a copy of the solution (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="as the grader's --jobs (default 2)")
    return parser


def _sandbox_start_s(repeat: int = 10) -> float:
    """Median seconds for bubblewrap to start and end ``/bin/true`` in the grader's namespaces."""
    from instructor_tools.grading import isolation as iso

    isolation = iso.detect()
    argv = [isolation.bwrap, *iso._namespaces(isolation.as_root), *iso._system_binds(), "--proc", "/proc",
            "--dev", "/dev", "--", "/bin/true"]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    args = _parser().parse_args()
    tree = args.tree.resolve()
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    import nbformat

    from instructor_tools.grading import Limits, batch, grade_folder

    runs: list[dict] = []
    verdicts: list[float] = []
    last = threading.local()  # this thread's last run, for the grade_one around it
    real_run_cells, real_grade_one = batch.run_cells, batch.grade_one

    def timed_run_cells(batch_dir, name, cells, *rest, **kw):
        start = time.monotonic()
        results = real_run_cells(batch_dir, name, cells, *rest, **kw)
        seconds = [r.get("seconds", 0.0) if isinstance(r, dict) else 0.0 for r in results]
        runs.append({"name": name, "wall": time.monotonic() - start, "setup": seconds[0] if seconds else 0.0,
                     "cells": sum(seconds[1:])})
        last.wall = runs[-1]["wall"]
        return results

    def timed_grade_one(*a, **kw):
        start = time.monotonic()
        graded = real_grade_one(*a, **kw)
        verdicts.append(time.monotonic() - start - last.wall)
        return graded

    batch.run_cells, batch.grade_one = timed_run_cells, timed_grade_one
    lesson = next(p for p in sorted((tree / "solutions").glob(f"{args.lesson}_*.ipynb")))
    folder = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        solution = nbformat.read(lesson, as_version=4)
        for i in range(args.n):
            (folder / f"s{i:03d}").mkdir()
            nbformat.write(solution, folder / f"s{i:03d}" / lesson.name)
        load = os.getloadavg()[0]
        start = time.monotonic()
        graded = grade_folder(folder, lessons=[args.lesson], limits=Limits(), jobs=args.jobs)
        wall = time.monotonic() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    full = sum(g.points == g.max_points > 0 for g in graded)
    solutions = [r for r in runs if r["name"] == "solution"]

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s" if values else "-"

    print(f"grader: {tree}  lesson {lesson.name}  {args.n} submissions, --jobs {args.jobs}, "
          f"load average {load:.1f} at the start")
    print(f"  {wall:.1f} s in all: {args.n / wall * 60:.1f} submissions per minute; {full}/{args.n} full marks")
    print(f"  solution runs: {len(solutions)}; kernel runs in all: {len(runs)}")
    print(f"  per run (median): wall {med([r['wall'] for r in runs])}, "
          f"start+stop {med([r['wall'] - r['setup'] - r['cells'] for r in runs])}, "
          f"setup cell {med([r['setup'] for r in runs])}, other cells {med([r['cells'] for r in runs])}, "
          f"verdicts {med(verdicts)}")
    print(f"  bubblewrap alone: {_sandbox_start_s():.3f} s")


if __name__ == "__main__":
    main()
