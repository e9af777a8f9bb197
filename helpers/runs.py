"""Where a lesson's training runs keep their checkpoints, and when a run starts afresh.

A run writes into one folder under ``runs/`` in the course folder (the ``COURSE_RUNS`` environment variable
moves it), named after everything that decides its result: the lesson's run, the run profile, and keys such as
a hash of the learner's code and the recipe's fingerprint. Training with ``resume=True`` then continues the same
run after an interruption, while a change of code or settings starts a new folder (resuming refuses another
recipe's checkpoint). The smoke profile (CI) keeps nothing: each run gets a fresh temporary folder.

Used in lesson 08.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import ROOT, runtime


def runs_root() -> Path:
    """The folder that holds the runs: ``COURSE_RUNS`` if set, else ``runs/`` in the course folder."""
    return Path(os.environ.get("COURSE_RUNS", ROOT / "runs"))


def code_hash(*functions: Callable) -> str:
    """Eight hex digits of the SHA-1 of the functions' source: a new value whenever one of them is edited."""
    code = "".join(inspect.getsource(f) for f in functions)
    return hashlib.sha1(code.encode()).hexdigest()[:8]


def run_folder(run: str, *keys: str, profile: str | None = None) -> Path:
    """The folder a run writes to: ``runs_root() / "<run>_<profile>_<key>_…"``, or in the smoke profile a new
    temporary folder (so that CI never resumes a stale run)."""
    profile = runtime.profile(profile)
    if profile == "smoke":
        return Path(tempfile.mkdtemp())
    return runs_root() / "_".join((run, profile, *keys))
