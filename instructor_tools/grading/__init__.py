"""The course's grader (the command is ``python -m instructor_tools.grade``; see docs/grading.md).

Why not nbgrader's or otter's autograder: both run the hidden tests inside the student's
own kernel, so a submission can grade itself (an object whose ``==`` is always true, a
later cell that redefines the checks, an input transformer that rewrites ``assert``).
Here the student's code still runs in a kernel, but

* what runs is the *solution* notebook with only the exercise cells taken from the
  submission (:mod:`.notebook`), and its test cells without their expected values
  (:mod:`.testcells`): the kernel never holds the answer;
* the kernel imports a course package without the lesson's answers (:mod:`.answers`);
* the kernel is fresh and isolated in a bubblewrap sandbox of its own (:mod:`.isolation`,
  :mod:`.sandbox`, :mod:`.runner`, :mod:`.kernel`, :mod:`.watchdog`): its own PID, network
  and mount namespaces, its own uid, a private tmpfs, a per-cell timeout and a budget for
  the whole run, memory and thread limits for all of its processes together;
* the checks only *report* values under ``COURSE_PROBE=1``; they are compared with the
  solution run's values in the grader's process, on plain data (:mod:`.compare`).

Modules: ``notebook`` and ``testcells`` (what runs), ``answers`` (what is withheld),
``isolation`` and ``sandbox`` (the sandbox and the kernel's launcher inside it), ``kernel``
and ``watchdog`` (the worker that drives one kernel), ``runner`` (job folders, workers),
``compare`` (verdicts), ``batch`` (a folder of submissions), ``report`` (CSV files and feedback).
"""

import importlib

# Imported on first use, not with the package: each submission's worker runs ``python -m
# instructor_tools.grading.kernel``, which imports this package first and needs none of the batch's modules.
# nbformat (and the JSON-schema checks it loads, a second per process) is imported only when a lesson is
# loaded (:func:`.notebook.load_lesson`), so ``python -m instructor_tools.grade --help`` starts without it.
_EXPORTS = {"Graded": "batch", "grade_folder": "batch", "Isolation": "isolation", "SandboxUnavailable": "isolation",
            "detect": "isolation", "Limits": "runner"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """The package's public names, from their modules (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
