"""Shards: a deterministic share of a batch per job, and the manifest that lets a merge prove nothing was lost.

A result (one student × one notebook) belongs to shard ``sha256(student_id, notebook) mod N``: the
same share whatever the machine, the order of the folder or the number of times a shard is retried.
The index comes from ``--shard-index``, else from the scheduler: ``JOB_COMPLETION_INDEX`` (a
Kubernetes Indexed Job) or ``SLURM_ARRAY_TASK_ID`` (a Slurm job array).

A shard writes its gradebook, totals, feedback and results (:func:`write_results`, what the merge
reads), each aside and then renamed, and its manifest last: the manifest names each file with its
sha256, so a shard that stopped half-way, or a file changed since, is found out by the merge
(:mod:`instructor_tools.merge`). The manifest also records the submissions graded (with the hash
of each notebook as read), the grader's version, the course's commit and the settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
import uuid
from dataclasses import asdict
from pathlib import Path

from helpers import ROOT

from .batch import Graded, Row
from .report import _replacing, write_feedback

#: The exit code of a failure that a retry cannot mend: no sandbox, an unreadable input, an output that cannot
#: be written, a command line or shard index that is wrong. It is argparse's own code for a command it cannot
#: run, so that one code means "the job is wrong, do not retry" (the ``podFailurePolicy`` of
#: deploy/k8s/grade-job.yaml maps it to ``FailIndex``). A grading failure is never a failed process: it is a
#: row; a signal (a preempted pod) ends with 128 + its number, which is retried.
INFRASTRUCTURE_FAILURE = 2

#: Where the index comes from when ``--shard-index`` is not given, first set first.
INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID")

MANIFEST = "manifest.json"
FORMAT = 1  # of the manifest and the results file


class ShardError(Exception):
    """A shard cannot run or be read as asked: the message says what is wrong (an infrastructure failure)."""


def shard_of(student_id: str, notebook: str, num_shards: int) -> int:
    """The shard a result belongs to: a stable hash of the student and the notebook, never Python's ``hash``."""
    key = f"{student_id}\0{notebook}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % num_shards


def shard_index(num_shards: int, option: int | None, environ: dict[str, str] | None = None) -> tuple[int, str]:
    """The shard to grade and where its index came from: ``option``, else the first of :data:`INDEX_VARIABLES`
    that is set. :class:`ShardError` if none is, or the index is not a whole number in ``0 .. num_shards - 1``."""
    environ = os.environ if environ is None else environ
    if num_shards < 1:
        raise ShardError(f"--num-shards must be at least 1, not {num_shards}")
    if option is not None:
        value, source = str(option), "--shard-index"
    else:
        source = next((name for name in INDEX_VARIABLES if environ.get(name, "").strip()), None)
        if source is None:
            raise ShardError(f"--num-shards {num_shards} needs --shard-index, or {' or '.join(INDEX_VARIABLES)} "
                             "set by the scheduler")
        value = environ[source].strip()
    if not (value.isascii() and value.isdigit()) or int(value) >= num_shards:  # "²".isdigit(), yet int() refuses it
        raise ShardError(f"the shard index from {source} is {value!r}: it must be one of 0 .. {num_shards - 1} "
                         "(a Slurm array runs as --array=0-N-1)")
    return int(value), source


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, in hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


GRADER_SOURCES = ("instructor_tools/grade.py", "instructor_tools/lesson.py", "instructor_tools/grading")


def grader_version(root: Path = ROOT) -> str:
    """The course's version and a digest of the grader's own source: two shards with any difference in
    the code that grades get different versions, whatever git says."""
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    digest = hashlib.sha256()
    for source in GRADER_SOURCES:
        files = sorted((root / source).rglob("*.py")) if (root / source).is_dir() else [root / source]
        for path in files:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{version}+{digest.hexdigest()[:12]}"


#: What the grades depend on besides the grader: a change here since the commit marks it ``-modified``.
COURSE_PATHS = ("solutions", "helpers", "data", "instructor_tools")


def course_commit(root: Path = ROOT, environ: dict[str, str] | None = None) -> str:
    """The course's commit: ``$COURSE_COMMIT`` where set (a container image built without ``.git``), else git's
    ``HEAD``, with ``-modified`` if the graded paths differ from it; ``unknown`` without either."""
    environ = os.environ if environ is None else environ
    if environ.get("COURSE_COMMIT"):
        return environ["COURSE_COMMIT"]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        clean = subprocess.run(["git", "-C", str(root), "diff", "--quiet", "HEAD", "--", *COURSE_PATHS],
                               capture_output=True).returncode == 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head if clean else f"{head}-modified"


# --------------------------------------------------------------------------- results, as the merge reads them

def results_json(graded: list[Graded]) -> str:
    """Every result with its rows, notes and hash: what the gradebook, totals and feedback are made from."""
    return json.dumps({"format": FORMAT, "graded": [asdict(g) for g in graded]}, ensure_ascii=True, indent=0)


def read_results(path: Path) -> list[Graded]:
    """:func:`results_json`'s results, as :class:`Graded` again."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ShardError(f"{path}: results of format {data.get('format')!r}, not {FORMAT}")
    return [Graded(**{**g, "rows": [Row(**r) for r in g["rows"]]}) for g in data["graded"]]


def write_text(text: str, path: Path) -> None:
    """``text`` written whole or not at all (aside, then renamed)."""
    with _replacing(path) as f:
        f.write(text)


def write_feedback_folder(graded: list[Graded], folder: Path) -> None:
    """The feedback folder written whole: into a folder beside it, then renamed over it (the old one removed)."""
    folder = Path(folder)
    aside = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write_feedback(graded, aside)
        aside.mkdir(exist_ok=True)  # no result, no file: still a folder
        if folder.exists():
            old = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.old")
            folder.rename(old)
            aside.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            aside.rename(folder)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def feedback_digests(folder: Path) -> dict[str, str]:
    """Each file of a feedback folder, by its path in it, with its sha256."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the manifest

def manifest(graded: list[Graded], *, num_shards: int, index: int, source: str, lessons: list[str],
             settings: dict, files: dict[str, Path], feedback: Path | None, root: Path = ROOT) -> dict:
    """The manifest of a shard whose ``files`` (role -> path, beside the manifest) are written."""
    return {
        "format": FORMAT,
        "grader_version": grader_version(root),
        "course_commit": course_commit(root),
        "num_shards": num_shards,
        "shard_index": index,
        "index_from": source,
        "lessons": lessons,
        "settings": settings,
        "submissions": [{"student_id": g.student_id, "notebook": g.notebook, "sha256": g.sha256} for g in graded],
        "files": {role: {"path": path.name, "sha256": sha256_file(path)} for role, path in files.items()},
        "feedback": ({"path": feedback.name, "files": feedback_digests(feedback)} if feedback else None),
    }


def write_manifest(data: dict, folder: Path) -> Path:
    """``folder/manifest.json``, written whole (aside, then renamed): the last file a shard writes."""
    path = Path(folder) / MANIFEST
    write_text(json.dumps(data, indent=1, ensure_ascii=True) + "\n", path)
    return path


def read_manifest(folder: Path) -> dict:
    """A shard's manifest, its files checked against their hashes; :class:`ShardError` naming what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{folder}: no {MANIFEST}: the shard did not finish (grade it again)") from None
    except (OSError, ValueError) as exc:
        raise ShardError(f"{path}: unreadable ({exc})") from None
    if data.get("format") != FORMAT:
        raise ShardError(f"{path}: a manifest of format {data.get('format')!r}, not {FORMAT}")
    expected = {role: (folder / f["path"], f["sha256"]) for role, f in data["files"].items()}
    if data.get("feedback"):
        base = folder / data["feedback"]["path"]
        expected |= {f"feedback {rel}": (base / rel, digest) for rel, digest in data["feedback"]["files"].items()}
    inside = folder.resolve()
    for role, (file, digest) in expected.items():
        if not file.resolve().is_relative_to(inside) or not file.is_file() or sha256_file(file) != digest:
            raise ShardError(f"{folder}: its {role} ({file.name}) is missing or not the one its manifest names "
                             "(changed, or written by a shard that did not finish): grade the shard again")
    return data
