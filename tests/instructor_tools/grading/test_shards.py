"""Shards (``grade --num-shards``): a stable share, the index from the scheduler, a manifest, and the code
that says "do not retry". The merge's refusals are in test_merge.py; the planted batch graded whole and in
three shards, with real kernels, ends this file.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import pathlib
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from planted_lesson import LESSON, TIMEOUT, TINY, tiny_course, tiny_submission
from test_batch import SOLVED, fake_kernel

from helpers import ROOT
from instructor_tools import grade, merge
from instructor_tools.grading import batch
from instructor_tools.grading.report import write_gradebook
from instructor_tools.grading.shards import INDEX_VARIABLES, INFRASTRUCTURE_FAILURE, ShardError, shard_index, shard_of

WRONG = "def answer():\n    return 41\n"


def kernel_that_reads_the_answer(calls: list[str]):
    """:func:`test_batch.fake_kernel`, except that a notebook whose answer returns 41 reports 41 (a wrong value)."""
    right = fake_kernel(calls)

    def run_cells(batch_dir, name, cells, *args, **kwargs):
        results = right(batch_dir, name, cells, *args, **kwargs)
        if any("return 41" in code for code in cells):
            for r in results:
                r["probes"] = [p.replace("42", "41") for p in r["probes"]]
        return results
    return run_cells


def test_each_result_is_in_exactly_one_shard_and_the_same_one_in_any_process():
    keys = [(f"student{i}", f"{i % 10:02d}_lesson.ipynb") for i in range(600)]
    for n in (1, 3, 7):
        shares = [{k for k in keys if shard_of(*k, n) == i} for i in range(n)]
        assert set().union(*shares) == set(keys) and sum(map(len, shares)) == len(keys)
        if n > 1:  # a hash, not a round robin: every shard gets a fair share
            assert min(map(len, shares)) > len(keys) / n / 2
    here = [shard_of(*k, 7) for k in keys[:50]]
    code = (f"from instructor_tools.grading.shards import shard_of; keys = {keys[:50]!r}; "
            "print([shard_of(*k, 7) for k in keys])")
    for seed in ("1", "2"):  # Python's own str hash changes with PYTHONHASHSEED; the shard must not
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert json.loads(out) == here


def test_the_index_comes_from_the_option_then_kubernetes_then_slurm():
    both = {"JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "2"}
    assert shard_index(3, 0, both) == (0, "--shard-index")
    assert shard_index(3, None, both) == (1, "JOB_COMPLETION_INDEX")
    assert shard_index(3, None, {"SLURM_ARRAY_TASK_ID": "2"}) == (2, "SLURM_ARRAY_TASK_ID")
    for option, env, words in [(None, {}, "needs --shard-index"), (3, {}, "one of 0 .. 2"),
                               (None, {"SLURM_ARRAY_TASK_ID": "3"}, "from SLURM_ARRAY_TASK_ID is '3'"),
                               (None, {"JOB_COMPLETION_INDEX": "-1"}, "is '-1'"),
                               (None, {"JOB_COMPLETION_INDEX": "one"}, "is 'one'"),
                               (None, {"JOB_COMPLETION_INDEX": "²"}, "is '²'")]:  # a digit to str, not to int
        with pytest.raises(ShardError, match=words):
            shard_index(3, option, env)


# --------------------------------------------------------------------------- the command, without kernels

@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The tiny lesson's course and a folder of its submissions; the grader and the merge pointed at them, with
    kernels that do not start (:func:`test_batch.fake_kernel`). Returns ``run(tool, *argv, **env)``."""
    course = tiny_course(tmp_path)
    folder = tmp_path / "submissions"
    students = {f"s{i:02d}": SOLVED if i % 3 else WRONG for i in range(12)}
    students |= {"=HYPERLINK(\"x\")": SOLVED, "nobody": None}  # a formula for a name; a student with no notebook
    for student, code in students.items():
        (folder / student).mkdir(parents=True)
        if code:
            nbformat.write(tiny_submission(code), folder / student / TINY)
    (folder / "s01" / "99_planted (1).ipynb").write_text("{}")  # a near miss: an invalid row of its own
    (folder / "linked").mkdir()  # a link named as the lesson: two results of one key (invalid, not_attempted)
    (folder / "linked" / TINY).symlink_to(folder / "s01" / TINY)
    calls: list[str] = []
    monkeypatch.setattr(batch, "run_cells", kernel_that_reads_the_answer(calls))
    monkeypatch.setattr(grade, "grade_folder", functools.partial(batch.grade_folder, course=course))
    monkeypatch.setattr(merge, "merge", functools.partial(merge.merge, course=course))
    monkeypatch.setattr(grade, "stop_on_signals", lambda: None)  # in-process: leave pytest's handlers alone
    monkeypatch.setenv("COURSE_COMMIT", "0123abc")
    for name in INDEX_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def run(tool, *argv, **env):
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            return tool.main([str(a) for a in argv])
    run.folder, run.root, run.calls = folder, tmp_path, calls
    return run


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(newline="", encoding="utf-8")))


def grade_in_shards(tiny, n: int = 3, **options) -> list[Path]:
    folders = []
    for i in range(n):
        out = tiny.root / "shards" / str(i) / "grades.csv"
        out.parent.mkdir(parents=True)
        argv = [tiny.folder, "--out", out, "--feedback", out.parent / "feedback", "--num-shards", n,
                "--shard-index", i, "--unsandboxed"]
        assert tiny(grade, *argv, **options) == 0
        folders.append(out.parent)
    return folders


def test_three_shards_merge_into_the_whole_gradebook_and_each_wrote_a_manifest(tiny):
    whole = tiny.root / "whole" / "grades.csv"
    whole.parent.mkdir()
    assert tiny(grade, tiny.folder, "--out", whole, "--feedback", whole.parent / "feedback", "--unsandboxed") == 0
    assert sorted(p.name for p in whole.parent.iterdir()) == ["feedback", "grades.csv", "grades_totals.csv"]
    folders = grade_in_shards(tiny)
    shares = [{(m["student_id"], m["notebook"]) for m in json.loads((f / "manifest.json").read_text())["submissions"]}
              for f in folders]
    graded = [m for f in folders for m in json.loads((f / "manifest.json").read_text())["submissions"]]
    assert len(graded) == len(rows(whole.with_name("grades_totals.csv"))) and all(shares)
    assert sum(map(len, shares)) == len(set().union(*shares))  # a key's results all in one shard
    read = [g for g in graded if g["notebook"] == TINY and g["student_id"] not in ("nobody", "linked")]
    assert read and all(len(g["sha256"]) == 64 for g in read)  # the hash of each notebook read
    assert tiny.calls.count("solution") == 1 + 3  # each shard runs the solution itself: no file to trust
    merged = tiny.root / "merged.csv"
    assert tiny(merge, *folders, "--out", merged, "--expect", tiny.folder, "--feedback", tiny.root / "fb") == 0
    assert merged.read_bytes() == whole.read_bytes()
    assert merged.with_name("merged_totals.csv").read_bytes() == whole.with_name("grades_totals.csv").read_bytes()
    assert ({p.relative_to(tiny.root / "fb"): p.read_bytes() for p in (tiny.root / "fb").rglob("*.md")}
            == {p.relative_to(whole.parent / "feedback"): p.read_bytes()
                for p in (whole.parent / "feedback").rglob("*.md")})
    assert {r["status"] for r in rows(merged)} == {"passed", "failed", "not_attempted", "invalid"}


def test_a_retried_shard_grades_the_same_share_and_replaces_its_files_whole(tiny):
    first = grade_in_shards(tiny)[1]
    before = json.loads((first / "manifest.json").read_text())
    (first / "feedback" / "stale.md").write_text("from an earlier run")
    out = first / "grades.csv"
    assert tiny(grade, tiny.folder, "--out", out, "--feedback", first / "feedback", "--num-shards", 3,
                "--unsandboxed", SLURM_ARRAY_TASK_ID="1") == 0
    after = json.loads((first / "manifest.json").read_text())
    assert after["submissions"] == before["submissions"] and after["index_from"] == "SLURM_ARRAY_TASK_ID"
    assert not (first / "feedback" / "stale.md").exists()  # the folder was replaced, not added to
    assert not [p for p in first.iterdir() if p.name.startswith(".")]  # nothing left aside


@pytest.mark.parametrize("case", ["index out of range", "index nowhere", "not a folder", "unreadable student",
                                  "unwritable output", "files apart"])
def test_an_infrastructure_failure_exits_with_the_do_not_retry_code(tiny, case, monkeypatch, capsys):
    out = tiny.root / "shard" / "grades.csv"
    out.parent.mkdir()
    argv = [tiny.folder, "--out", out, "--num-shards", 3, "--unsandboxed"]
    env = {}
    if case == "index out of range":
        env = {"JOB_COMPLETION_INDEX": "3"}
    elif case == "not a folder":
        argv[0] = tiny.folder / "s01" / TINY
    elif case == "unreadable student":  # as root, no mode makes a folder unreadable: the listing fails instead
        real = pathlib.Path.iterdir

        def iterdir(self):
            if self == tiny.folder / "s02":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)
        monkeypatch.setattr(pathlib.Path, "iterdir", iterdir)
        argv += ["--shard-index", 0]
    elif case == "unwritable output":
        argv[2] = tiny.root / "no such folder" / "grades.csv"
        argv += ["--shard-index", 0]
    elif case == "files apart":
        argv += ["--shard-index", 0, "--feedback", tiny.root / "elsewhere"]
    assert tiny(grade, *argv, **env) == INFRASTRUCTURE_FAILURE == 2
    assert f"exit {INFRASTRUCTURE_FAILURE}: do not retry" in capsys.readouterr().err
    assert not (out.parent / "manifest.json").exists()


def test_a_grading_failure_is_a_row_never_a_failed_process(tiny):
    """Broken notebooks, a missing one, wrong answers: the shard succeeds and its rows say so."""
    (tiny.folder / "s03" / TINY).write_text("not json")
    folders = grade_in_shards(tiny, n=1)
    statuses = {(r["student_id"], r["status"]) for r in rows(folders[0] / "grades.csv")}
    assert {("s03", "invalid"), ("nobody", "not_attempted"), ("s00", "failed"), ("s01", "passed")} <= statuses


# --------------------------------------------------------------------------- the planted batch, real kernels

@pytest.mark.slow
def test_the_planted_batch_graded_in_three_shards_merges_into_the_whole_gradebook(planted, tmp_path):
    """Each shard a real ``python -m instructor_tools.grade`` in the sandbox, its index from ``--shard-index``,
    ``$JOB_COMPLETION_INDEX`` and ``$SLURM_ARRAY_TASK_ID`` in turn; the merge equals the whole, row for row."""
    whole = tmp_path / "whole.csv"
    write_gradebook(planted["graded"], whole)
    env = {k: v for k, v in os.environ.items() if k not in INDEX_VARIABLES} | {"COURSE_COMMIT": "planted"}
    ways = [(["--shard-index", "0"], {}), ([], {"JOB_COMPLETION_INDEX": "1"}), ([], {"SLURM_ARRAY_TASK_ID": "2"})]
    folders = []
    for i, (option, variable) in enumerate(ways):
        out = tmp_path / f"shard{i}" / "grades.csv"
        out.parent.mkdir()
        done = subprocess.run([sys.executable, "-m", "instructor_tools.grade", str(planted["folder"]), "--out",
                               str(out), "--lessons", LESSON[:2], "--timeout", str(TIMEOUT), "--jobs", "2",
                               "--num-shards", "3", *option], cwd=ROOT, capture_output=True, text=True,
                              env=env | variable)
        assert done.returncode == 0, done.stderr[-3000:]
        source = option[0] if option else next(iter(variable))
        assert f"shard {i} of 3 (index from {source})" in done.stderr
        folders.append(out.parent)
    merged = tmp_path / "merged.csv"
    done = subprocess.run([sys.executable, "-m", "instructor_tools.merge", *map(str, folders), "--out", str(merged),
                           "--expect", str(planted["folder"])], cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    shares = [len(rows(f / "grades.csv")) for f in folders]
    assert all(shares) and sum(shares) == len(rows(whole))
    assert rows(merged) == rows(whole)
    print(done.stderr, f"rows per shard: {shares}", file=sys.stderr)
