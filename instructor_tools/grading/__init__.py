"""The course's grader (the command is ``python -m instructor_tools.grade``; see docs/grading.md).

Why not nbgrader's or otter's autograder: both run the hidden tests inside the student's
own kernel, so a submission can grade itself (an object whose ``==`` is always true, a
later cell that redefines the checks, an input transformer that rewrites ``assert``).
Here the student's code still runs in a kernel, but

* what runs is the *solution* notebook with only the exercise cells taken from the
  submission (:mod:`.notebook`);
* the kernel is fresh, sandboxed and limited (:mod:`.sandbox`, :mod:`.runner`,
  :mod:`.kernel`): a per-cell timeout, a memory cap, output dropped beyond a budget,
  writes allowed only in its temporary folder;
* the checks only *report* values under ``COURSE_PROBE=1``; they are compared with the
  solution run's values in the grader's process, on plain data (:mod:`.compare`).

Modules: ``notebook`` (what runs), ``sandbox`` (the kernel's launcher), ``kernel`` (the
worker that drives one kernel), ``runner`` (job folders, workers), ``compare`` (verdicts),
``batch`` (a folder of submissions), ``report`` (CSV files and feedback).
"""

from .batch import Graded, grade_folder
from .runner import Limits, sandbox_available

__all__ = ["Graded", "Limits", "grade_folder", "sandbox_available"]
