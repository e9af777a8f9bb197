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

from .batch import Graded, grade_folder
from .isolation import Isolation, SandboxUnavailable, detect
from .runner import Limits

__all__ = ["Graded", "Isolation", "Limits", "SandboxUnavailable", "detect", "grade_folder"]
