"""Merge graded shards into one gradebook, proving nothing was lost:
``python -m instructor_tools.merge SHARD_DIR... --out grades.csv --expect SUBMISSIONS``.

Each SHARD_DIR is the folder of one ``python -m instructor_tools.grade --num-shards N`` run (its
gradebook, totals, feedback, results and manifest). The merge writes the gradebook, the totals and,
with ``--feedback``, the feedback of the whole batch, exactly as grading it whole would, and refuses,
naming each, where

* a shard has no manifest (it did not finish) or a file that is not the one its manifest names;
* shards were made by different grader versions, course commits, settings or lesson choices,
  or for different numbers of shards; a shard index is missing or given twice;
* a submission was graded twice, or not at all (SUBMISSIONS read again, as the grader reads it),
  or graded but not in SUBMISSIONS, or changed since it was graded (its sha256).

Exit codes: 0 merged; 1 refused (nothing is written); 2 (the grader's infrastructure failure) where
the command cannot run (an unreadable SUBMISSIONS, an output that cannot be written).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from helpers import ROOT

from .grading.batch import Graded, survey
from .grading.exports import EXPORTS, export
from .grading.report import terminal_safe, write_feedback, write_gradebook, write_totals
from .grading.shards import INFRASTRUCTURE_FAILURE, ShardError, read_manifest, read_results, shard_of

SHOWN = 20  # problems of one kind named in full; the rest counted
MUST_AGREE = {"grader_version": "grader versions", "course_commit": "course commits", "settings": "settings",
              "lessons": "lesson choices (--lessons)", "num_shards": "numbers of shards (--num-shards)"}


class MergeRefused(Exception):
    """The shards do not add up to the batch: ``problems`` says how, each naming the shards or submissions."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _named(kind: str, items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN]) + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
    return f"{kind} ({len(items)}): {shown}"


def _disagreements(manifests: dict[Path, dict]) -> list[str]:
    """What the shards were made with that differs between them, naming each shard's value."""
    problems = []
    for key, label in MUST_AGREE.items():
        values = defaultdict(list)
        for folder, m in manifests.items():
            values[json.dumps(m.get(key), sort_keys=True)].append(str(folder))
        if len(values) > 1:
            problems.append(f"shards made with different {label}: "
                            + "; ".join(f"{v} in {', '.join(folders)}" for v, folders in values.items()))
    return problems


def _missing_or_repeated_shards(manifests: dict[Path, dict]) -> list[str]:
    """Shard indexes given twice, and those absent (when every shard agrees on the number of shards)."""
    by_index = defaultdict(list)
    for folder, m in manifests.items():
        by_index[m["shard_index"]].append(str(folder))
    problems = [f"shard {i} given {len(f)} times: {', '.join(f)}" for i, f in sorted(by_index.items()) if len(f) > 1]
    counts = {m["num_shards"] for m in manifests.values()}
    if len(counts) == 1:
        (n,) = counts
        absent = [str(i) for i in range(n) if i not in by_index]
        if absent:
            problems.append(f"shard(s) {', '.join(absent)} of {n} not given: grade and pass them")
    return problems


def merge(folders: list[Path], expect: Path, course: Path = ROOT) -> list[Graded]:
    """Every shard's results as one batch (sorted as :func:`grading.grade_folder` sorts them);
    :class:`MergeRefused` unless every submission of ``expect`` was graded exactly once, by shards that agree."""
    manifests, problems = {}, []
    for folder in folders:
        try:
            manifests[Path(folder)] = read_manifest(folder)
        except ShardError as exc:
            problems.append(str(exc))
    if problems:
        raise MergeRefused(problems)
    problems += _disagreements(manifests) + _missing_or_repeated_shards(manifests)
    graded: list[Graded] = []
    # A key can hold several results of one shard (a link named as the lesson: its invalid row beside the
    # lesson's not_attempted one), never results of two shards: the hash puts a key in one shard only.
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    misplaced = []
    for folder, m in manifests.items():
        try:
            results = read_results(folder / m["files"]["results"]["path"])
        except (ShardError, OSError, ValueError, TypeError, KeyError) as exc:
            raise MergeRefused([f"{folder}: its results cannot be read ({exc})"]) from None
        for g in results:
            if str(folder) not in where[g.student_id, g.notebook]:
                where[g.student_id, g.notebook].append(str(folder))
            if shard_of(g.student_id, g.notebook, m["num_shards"]) != m["shard_index"]:
                misplaced.append(f"{g.student_id} {g.notebook} in {folder}")
        graded += results
    lessons = next(iter(manifests.values()))["lessons"] if manifests else None
    batch = survey(expect, lessons, course)
    expected = batch.keys()
    twice = [f"{s} {n} (in {', '.join(f)})" for (s, n), f in sorted(where.items()) if len(f) > 1]
    missing = [f"{s} {n}" for s, n in sorted(expected - where.keys())]
    extra = [f"{s} {n} (in {', '.join(where[s, n])})" for s, n in sorted(where.keys() - expected)]
    changed = [f"{g.student_id} {g.notebook}" for g in graded
               if batch.digests.get((g.student_id, g.notebook), "") != g.sha256 and (g.student_id, g.notebook)
               in expected]
    for kind, items in (("graded twice", twice), ("not graded", missing), ("graded but not in " + str(expect), extra),
                        ("changed since they were graded", changed), ("in a shard they do not belong to", misplaced)):
        if items:
            problems.append(_named(kind, items))
    if problems:
        raise MergeRefused(problems)
    graded.sort(key=lambda g: (g.student_id, g.notebook))
    return graded


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m instructor_tools.merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR", help="each shard's folder")
    parser.add_argument("--out", type=Path, required=True, help="the merged gradebook CSV to write")
    parser.add_argument("--expect", type=Path, required=True, metavar="SUBMISSIONS",
                        help="the submissions folder the shards graded: each must be graded exactly once")
    parser.add_argument("--totals", type=Path, help="totals per student and lesson (default: OUT_totals.csv)")
    parser.add_argument("--feedback", type=Path, metavar="DIR", help="write DIR/<student_id>/<lesson>.md")
    parser.add_argument("--export", action="append", choices=sorted(EXPORTS), default=[],
                        help="also write OUT_canvas.csv or OUT_gradescope/ (as the grader's --export)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Merge, check, write; 0 merged, 1 refused, 2 where it cannot run."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.expect.is_dir():
        print(f"cannot merge: {args.expect} is not a folder", file=sys.stderr)
        return INFRASTRUCTURE_FAILURE
    try:
        graded = merge(args.shards, args.expect)
    except MergeRefused as exc:
        print(terminal_safe(f"refused: the shards do not add up to {args.expect}:"), file=sys.stderr)
        for problem in exc.problems:
            print(terminal_safe(f"  - {problem}"), file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(terminal_safe(f"cannot merge: {exc}"), file=sys.stderr)
        return INFRASTRUCTURE_FAILURE
    totals = args.totals or args.out.with_name(f"{args.out.stem}_totals.csv")
    try:
        write_gradebook(graded, args.out)
        write_totals(graded, totals)
        if args.feedback:
            write_feedback(graded, args.feedback)
        export(graded, args.export, args.out)
    except OSError as exc:
        print(terminal_safe(f"cannot write the merged files: {exc}"), file=sys.stderr)
        return INFRASTRUCTURE_FAILURE
    print(f"merged {len(args.shards)} shard(s): {len(graded)} results of {len({g.student_id for g in graded})} "
          f"student(s), each submission of {args.expect} graded exactly once; wrote {args.out}, {totals}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
