"""Run every solved lesson once per change: nbclient, with a cache of executed notebooks.

The public book runs each solution without its hidden tests (:func:`instructor_tools.book.pages.without_hidden_tests`),
the instructor's book the solution as it is. A lesson's cache key hashes what its outputs depend on: its
code cells, which of the two books, every file under ``helpers/`` and ``data/``, the run profile and the
versions of the packages that compute or draw. Markdown is left out on purpose: a prose edit reuses the
cached outputs, merged into the fresh notebook cell by cell (:func:`merge_outputs`), so rebuilding the book
after it takes seconds.
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from helpers import ROOT, checks
from instructor_tools.lesson import lessons

from .pages import without_hidden_tests

#: Bump when what the book stores in its cache changes shape (2: the public book's runs have no hidden tests).
CACHE_VERSION = "2"
#: Packages whose version changes numbers or figures in the outputs.
OUTPUT_PACKAGES = ("numpy", "scipy", "matplotlib", "ipywidgets", "scikit-image", "torch", "tensorflow", "keras")
#: Folders whose files a lesson reads while it runs.
INPUT_FOLDERS = ("helpers", "data")


class LessonError(RuntimeError):
    """A lesson failed to execute: the message names the lesson and the cell."""


@dataclass
class Executed:
    """One lesson, ready for the book: its notebook with outputs and how it got them."""

    name: str
    nb: nbformat.NotebookNode
    cached: bool
    seconds: float


def _code_sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


#: Left out of the key: ``scripts/make_healthy_run.py --from-book`` makes it from this cache's own cpu run,
#: and writing it must not invalidate the run it came from (a page shows the pictures as of its execution).
HEALTHY_RUN = Path("data") / "healthy_run"


def inputs_digest(root: Path = ROOT) -> str:
    """One hash of everything outside a notebook that its outputs depend on."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    for folder in INPUT_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.is_relative_to(root / HEALTHY_RUN):
                h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for package in OUTPUT_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{package}={version}\0".encode())
    return h.hexdigest()


def cache_key(nb, profile: str, inputs: str, instructor: bool = False) -> str:
    """The key of a lesson's outputs: the solution's code cells (not its prose), the book, the profile,
    :func:`inputs_digest`. The public book's run is made from those same cells, so they key it too."""
    book = "instructor" if instructor else "public"
    h = hashlib.sha256(f"{profile}\0{book}\0{inputs}\0".encode())
    for source in _code_sources(nb):
        h.update(source.encode() + b"\0\1")
    return h.hexdigest()[:20]


def merge_outputs(fresh, executed) -> None:
    """Copy outputs and execution counts from ``executed`` into ``fresh``, code cell by code cell."""
    code_fresh = [c for c in fresh.cells if c.cell_type == "code"]
    code_done = [c for c in executed.cells if c.cell_type == "code"]
    if _code_sources(fresh) != _code_sources(executed):
        raise ValueError("the executed notebook has other code cells than the fresh one")
    for cell, done in zip(code_fresh, code_done, strict=True):
        cell.outputs = done.outputs
        cell.execution_count = done.execution_count


def kernel_env(profile: str, runs: str) -> dict[str, str]:
    """A learner's kernel in ``profile``: inline figures, none of the graders' or the test suite's switches.

    ``runs`` becomes ``COURSE_RUNS``, where training lessons keep checkpoints: an empty folder, so that a
    lesson never resumes a run left in ``runs/`` (the outputs would then depend on more than the cache key).
    """
    hidden = {*checks.GRADING_ENV, checks.STUB_ERRORS_ENV, "PYTEST_CURRENT_TEST", "NBGRADER_VALIDATING",
              "MPLBACKEND"}  # the test suite's headless Agg backend would leave every figure out of the book
    return {**{k: v for k, v in os.environ.items() if k not in hidden}, "COURSE_PROFILE": profile,
            "COURSE_RUNS": runs}


def _failure(name: str, nb, error: Exception, cell_timeout: int) -> LessonError:
    """Which cell failed and why, from the notebook nbclient left behind."""
    started = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")]
    if isinstance(error, CellTimeoutError) and started:  # nbclient interrupts it: its error is a KeyboardInterrupt
        return LessonError(f"lesson {name}: cell {started[-1]} ran longer than {cell_timeout} s (--cell-timeout)")
    for index, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if cell.cell_type == "code" and errors:
            head = "\n".join(f"    {line}" for line in cell.source.splitlines()[:8])
            return LessonError(f"lesson {name}: cell {index} failed: {errors[0].ename}: {errors[0].evalue}\n{head}")
    # A timeout or a dead kernel leaves no error output: the last cell that started is the one.
    where = f"cell {started[-1]}" if started else "its first cell"
    return LessonError(f"lesson {name}: execution stopped in {where}: {type(error).__name__}: {str(error)[-2000:]}")


def run(lesson, path: Path, profile: str, cell_timeout: int) -> nbformat.NotebookNode:
    """A copy of ``lesson`` (read from ``path``) executed in a fresh kernel in ``profile``; :class:`LessonError`
    at its first error."""
    nb = copy.deepcopy(lesson)  # the very cells the cache key was computed from, whatever the file holds now
    # store_widget_state=False: the book shows a widget's static picture, never its (CDN-loaded) live model.
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=False,
                            store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
    try:
        with tempfile.TemporaryDirectory(prefix="book-runs-") as runs:
            client.execute(env=kernel_env(profile, runs))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        raise _failure(path.stem, nb, error, cell_timeout) from None
    return nb


def execute_all(profile: str, cache: Path, root: Path = ROOT, cell_timeout: int = 1800, log=print,
                instructor: bool = False) -> list[Executed]:
    """Every lesson with outputs, from ``cache/<profile>/`` where its key matches, else run now.

    The public book's lessons (the default) are the solutions without their hidden tests; ``instructor``:
    the solutions as they are.
    """
    folder = cache / profile
    folder.mkdir(parents=True, exist_ok=True)
    inputs = inputs_digest(root)
    done, keep = [], set()
    for path in lessons(root):
        start = time.monotonic()
        solution = nbformat.read(path, as_version=4)
        fresh = solution if instructor else without_hidden_tests(solution, path.stem)
        stored = folder / f"{path.stem}.{cache_key(solution, profile, inputs, instructor)}.ipynb"
        keep.add(stored.name)
        cached = stored.exists()
        if cached:
            executed = nbformat.read(stored, as_version=4)
        else:
            log(f"  {path.stem}: executing ({profile}) ...", flush=True)
            executed = run(fresh, path, profile, cell_timeout)
            tmp = stored.with_suffix(".tmp")
            nbformat.write(executed, tmp)
            tmp.replace(stored)  # a build killed half-way never leaves a truncated cache entry
        merge_outputs(fresh, executed)
        seconds = time.monotonic() - start
        log(f"  {path.stem}: {'cached' if cached else 'executed'} in {seconds:.1f} s", flush=True)
        done.append(Executed(path.stem, fresh, cached, seconds))
    for stale in folder.glob("*.ipynb"):  # outputs of old versions, and of lessons renamed or removed, go
        if stale.name not in keep:
            stale.unlink()
    return done
