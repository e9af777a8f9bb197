"""Grade a folder of submissions into a gradebook: ``python -m instructor_tools.grade SUBMISSIONS --out grades.csv``.

SUBMISSIONS holds one folder per student: ``SUBMISSIONS/<student_id>/<lesson file name>.ipynb``.
Writes ``grades.csv`` (one row per student × lesson × graded test), ``grades_totals.csv``
(one row per student × lesson) and, with ``--feedback DIR``, one Markdown file per student
and lesson. How it works and why it cannot be fooled: :mod:`instructor_tools.grading`, docs/grading.md.

With ``--num-shards N`` it grades one shard of the batch (``--shard-index``, else the index a Kubernetes
Indexed Job or a Slurm array gives) and writes a manifest beside the gradebook, for
``python -m instructor_tools.merge`` (:mod:`instructor_tools.grading.shards`). A failure that a retry
cannot mend (no sandbox, an unreadable input or output, a wrong command line) exits with
:data:`~instructor_tools.grading.shards.INFRASTRUCTURE_FAILURE`; a submission's failure is a row, never a
failed process.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from helpers.runtime import PROFILES

from .grading import Limits, SandboxUnavailable, detect, grade_folder
from .grading.exports import EXPORTS
from .grading.report import terminal_safe, write_feedback, write_gradebook, write_totals
from .grading.shards import (
    INDEX_VARIABLES,
    INFRASTRUCTURE_FAILURE,
    ShardError,
    manifest,
    results_json,
    shard_index,
    shard_of,
    write_feedback_folder,
    write_manifest,
    write_text,
)


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
    parser.add_argument("--sandbox", choices=("bwrap", "pod"), default="bwrap",
                        help="bwrap: a bubblewrap sandbox per kernel (default); pod: the container is the sandbox "
                        "(non-root, no egress, read-only course files: checked) and Landlock confines each kernel")
    parser.add_argument("--num-shards", type=int, metavar="N",
                        help="grade one of N shards (a stable hash of student and lesson) and write a manifest "
                        "beside --out, for python -m instructor_tools.merge")
    parser.add_argument("--shard-index", type=int, metavar="I",
                        help=f"the shard to grade, 0 .. N-1 (default: ${' or $'.join(INDEX_VARIABLES)})")
    parser.add_argument("--export", action="append", choices=sorted(EXPORTS), default=[],
                        help="also write OUT_canvas.csv (Canvas gradebook import) or OUT_gradescope/<student>/"
                        "<lesson>/results.json (Gradescope); repeat for both")
    return parser


def infrastructure_failure(message: str) -> int:
    """Say why the job cannot grade (a retry would fail the same way) and give the code that says so."""
    print(terminal_safe(f"cannot grade (exit {INFRASTRUCTURE_FAILURE}: do not retry): {message}"), file=sys.stderr)
    return INFRASTRUCTURE_FAILURE


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


def _write_all(graded: list, out: Path, totals: Path, feedback: Path | None, exports: list[str] = (),
               sharded: bool = False) -> bool:
    """The gradebook, the totals, the feedback and the exports, each attempted whatever happened to the others
    (each file is written whole or not at all; a shard's feedback folder too, and its results for the merge);
    ``False``, having said why, if one could not be written."""
    writers = [(out, write_gradebook), (totals, write_totals)]
    if feedback:
        writers.append((feedback, write_feedback_folder if sharded else write_feedback))
    if sharded:
        writers.append((results_path(out), lambda graded, path: write_text(results_json(graded), path)))
    writers += [(EXPORTS[kind][0](out), EXPORTS[kind][1]) for kind in exports]
    ok = True
    for target, write in writers:
        try:
            write(graded, target)
        except OSError as exc:
            print(terminal_safe(f"could not write {target}: {exc}"), file=sys.stderr)
            ok = False
    return ok


def results_path(out: Path) -> Path:
    """A shard's results, what the merge reads: ``OUT_results.json``."""
    return out.with_name(f"{out.stem}_results.json")


def _shard(args, parser) -> tuple[int, str] | None:
    """The shard to grade and where its index came from (``None``: the whole batch); :class:`ShardError`."""
    if args.num_shards is None:
        if args.shard_index is not None:
            parser.error("--shard-index needs --num-shards")
        return None
    here = args.out.resolve().parent
    for path, option in ((args.totals, "--totals"), (args.feedback, "--feedback")):
        if path is not None and path.resolve().parent != here:
            raise ShardError(f"{option} {path} must be beside --out {args.out}: a shard's files are one folder")
    return shard_index(args.num_shards, args.shard_index)


def _settings(args, limits: Limits) -> dict:
    """What the grades depend on besides the grader and the course: shards graded otherwise do not merge."""
    return {"timeout": limits.timeout, "memory_mb": limits.memory_mb, "profile": limits.profile,
            "budget": limits.budget, "disk_mb": limits.disk_mb, "processes": limits.processes,
            "isolation": limits.isolation.bounds}


def main(argv: list[str] | None = None) -> int:
    """Grade, write the gradebook, the totals and the feedback; 0 on success, :data:`INFRASTRUCTURE_FAILURE`
    (argparse's own code for bad usage) where the job cannot grade."""
    stop_on_signals()
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        shard = _shard(args, parser)
    except ShardError as exc:
        return infrastructure_failure(str(exc))
    if not args.submissions.is_dir():
        return infrastructure_failure(f"{args.submissions} is not a folder (or cannot be read)")
    try:
        isolation = detect(allow_unsandboxed=args.unsandboxed, sandbox=args.sandbox)
    except SandboxUnavailable as exc:
        return infrastructure_failure(str(exc))
    print(f"isolation: {isolation.bounds}", file=sys.stderr)
    limits = Limits(timeout=args.timeout, memory_mb=args.memory, profile=args.profile, budget=args.budget,
                    disk_mb=args.disk, processes=args.processes, isolation=isolation)
    select = None
    if shard is not None:
        print(f"shard {shard[0]} of {args.num_shards} (index from {shard[1]})", file=sys.stderr)

        def select(student: str, notebook: str) -> bool:
            return shard_of(student, notebook, args.num_shards) == shard[0]
    start = time.monotonic()
    try:
        graded = grade_folder(args.submissions, lessons=args.lessons, limits=limits, jobs=args.jobs, select=select,
                              progress=lambda line: print(terminal_safe(line), file=sys.stderr, flush=True))
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:  # a student's folder that cannot be listed: no row could say what it held
        return infrastructure_failure(f"cannot read the submissions: {exc}")
    except (KeyboardInterrupt, SystemExit) as exc:  # the workers and their sandboxes have ended
        print("grading stopped: every kernel has ended; nothing was written", file=sys.stderr)
        return exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 128 + signal.SIGINT
    totals = args.totals or args.out.with_name(f"{args.out.stem}_totals.csv")
    if not _write_outputs(graded, args, totals, shard, limits):
        return infrastructure_failure("an output could not be written (see above)")
    runs = sum(1 for g in graded if g.seconds)
    minutes = (time.monotonic() - start) / 60
    print(f"graded {runs} notebook(s) of {len({g.student_id for g in graded})} student(s) in {minutes * 60:.0f} s "
          f"({runs / minutes:.1f} per minute); wrote {args.out}, {totals}"
          + (f", feedback in {args.feedback}/" if args.feedback else ""), file=sys.stderr)
    return 0


def _write_outputs(graded: list, args, totals: Path, shard: tuple[int, str] | None, limits: Limits) -> bool:
    """Every output; a shard's manifest last, naming each file with its hash (it is removed first, so that a
    shard that fails while writing leaves none: the merge then refuses the shard instead of reading a mix)."""
    manifest_path = args.out.parent / "manifest.json"
    if shard is not None:
        manifest_path.unlink(missing_ok=True)
    if not _write_all(graded, args.out, totals, args.feedback, args.export, sharded=shard is not None):
        return False
    if shard is None:
        return True
    try:
        files = {"gradebook": args.out, "totals": totals, "results": results_path(args.out)}
        write_manifest(manifest(graded, num_shards=args.num_shards, index=shard[0], source=shard[1],
                                lessons=args.lessons, settings=_settings(args, limits), files=files,
                                feedback=args.feedback), args.out.parent)
    except OSError as exc:
        print(terminal_safe(f"could not write {manifest_path}: {exc}"), file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
