"""``python -m instructor_tools.merge``: each way shards can fail to add up to the batch is refused, by name.

Shards of the tiny lesson, graded in-process without kernels (test_shards.py's ``tiny`` fixture).
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from planted_lesson import TINY, tiny_submission
from test_batch import SOLVED
from test_shards import grade_in_shards, tiny  # noqa: F401 - tiny is a fixture

from instructor_tools import grade, merge
from instructor_tools.grading import shards


def refused(tiny, folders, capsys) -> str:  # noqa: F811 - the fixture, passed on
    """Merge ``folders``: it must refuse (exit 1) and write nothing; what it said."""
    capsys.readouterr()
    out = tiny.root / "merged.csv"
    assert tiny(merge, *folders, "--out", out, "--expect", tiny.folder) == 1
    assert not out.exists() and not out.with_name("merged_totals.csv").exists()
    return capsys.readouterr().err


def regrade(tiny, folder, index: int, n: int, *options, **env) -> None:  # noqa: F811
    """Grade shard ``index`` of ``n`` again into ``folder`` (as a retried job would), with ``options`` and ``env``."""
    assert tiny(grade, tiny.folder, "--out", folder / "grades.csv", "--num-shards", n, "--shard-index", index,
                "--feedback", folder / "feedback", "--unsandboxed", *options, **env) == 0


def test_a_submission_graded_twice_is_named(tiny, capsys):  # noqa: F811
    folders = grade_in_shards(tiny)
    again = tiny.root / "again"
    shutil.copytree(folders[1], again)
    said = refused(tiny, [*folders, again], capsys)
    assert "shard 1 given 2 times" in said and "graded twice" in said
    student = json.loads((again / "manifest.json").read_text())["submissions"][0]["student_id"]
    assert f"{student} {TINY} (in {folders[1]}, {again})" in said


def test_a_submission_graded_not_at_all_is_named(tiny, capsys):  # noqa: F811
    folders = grade_in_shards(tiny)
    left_out = {m["student_id"] for m in json.loads((folders[2] / "manifest.json").read_text())["submissions"]}
    said = refused(tiny, folders[:2], capsys)
    assert "shard(s) 2 of 3 not given" in said and f"not graded ({len(left_out)})" in said
    assert all(f"{student} {TINY}" in said for student in left_out)
    # A submission that arrived after the grading: every shard given, one notebook never graded.
    (tiny.folder / "late").mkdir()
    nbformat.write(tiny_submission(SOLVED), tiny.folder / "late" / TINY)
    said = refused(tiny, folders, capsys)
    assert f"not graded (1): late {TINY}" in said and "not given" not in said


def test_shards_of_different_grader_versions_are_refused(tiny, capsys, monkeypatch):  # noqa: F811
    folders = grade_in_shards(tiny, n=2)
    monkeypatch.setattr(shards, "grader_version", lambda root=None: "0.0.9+other")
    regrade(tiny, folders[1], 1, 2)  # shard 1 made by another grader
    assert json.loads((folders[1] / "manifest.json").read_text())["grader_version"] == "0.0.9+other"
    said = refused(tiny, folders, capsys)
    assert "different grader versions" in said and "0.0.9+other" in said and str(folders[1]) in said


def test_shards_of_different_course_commits_are_refused(tiny, capsys):  # noqa: F811
    folders = grade_in_shards(tiny, n=2)
    regrade(tiny, folders[1], 1, 2, COURSE_COMMIT="fedcba9")
    said = refused(tiny, folders, capsys)
    assert "different course commits" in said and "fedcba9" in said and "0123abc" in said


def test_shards_graded_with_other_settings_are_refused(tiny, capsys):  # noqa: F811
    folders = grade_in_shards(tiny, n=2)
    regrade(tiny, folders[1], 1, 2, "--timeout", 5)
    said = refused(tiny, folders, capsys)
    assert "different settings" in said and '"timeout": 5' in said


@pytest.mark.parametrize("damage", ["no manifest", "gradebook edited", "results edited", "feedback removed"])
def test_a_shard_that_did_not_finish_or_was_changed_is_refused(tiny, capsys, damage):  # noqa: F811
    folders = grade_in_shards(tiny)
    shard = folders[0]
    if damage == "no manifest":
        (shard / "manifest.json").unlink()
        words = "no manifest.json: the shard did not finish"
    elif damage == "gradebook edited":
        (shard / "grades.csv").write_text((shard / "grades.csv").read_text().replace(",0,1,failed,", ",1,1,passed,"))
        words = "its gradebook (grades.csv) is missing or not the one its manifest names"
    elif damage == "results edited":
        with open(shard / "grades_results.json", "a") as f:
            f.write(" ")
        words = "its results (grades_results.json) is missing"
    else:
        next((shard / "feedback").rglob("*.md")).unlink()
        words = "its feedback"
    said = refused(tiny, folders, capsys)
    assert words in said and str(shard) in said


def test_a_submission_changed_since_it_was_graded_is_refused(tiny, capsys):  # noqa: F811
    folders = grade_in_shards(tiny)
    nbformat.write(tiny_submission("def answer():\n    return 6 * 7\n"), tiny.folder / "s04" / TINY)
    said = refused(tiny, folders, capsys)
    assert f"changed since they were graded (1): s04 {TINY}" in said


def test_merging_one_whole_shard_gives_its_own_gradebook(tiny):  # noqa: F811
    (shard,) = grade_in_shards(tiny, n=1)
    out = tiny.root / "merged.csv"
    assert tiny(merge, shard, "--out", out, "--expect", tiny.folder) == 0
    assert out.read_bytes() == (shard / "grades.csv").read_bytes()


def test_a_merge_that_cannot_run_exits_with_the_do_not_retry_code(tiny, capsys):  # noqa: F811
    folders = grade_in_shards(tiny, n=1)
    out = tiny.root / "merged.csv"
    assert tiny(merge, *folders, "--out", out, "--expect", tiny.root / "no such folder") == 2
    assert tiny(merge, *folders, "--out", tiny.root / "no such folder" / "m.csv", "--expect", tiny.folder) == 2
    assert "cannot" in capsys.readouterr().err and not out.exists()
