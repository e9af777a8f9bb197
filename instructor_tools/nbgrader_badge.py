"""An nbgrader preprocessor: release notebooks as the build writes ``notebooks/``.

nbgrader's ``generate_assignment`` copies a solution's header as it is, so the released
notebook's badge would open the solved lesson on Colab, and it knows nothing of the answers
to a lesson's questions (a course-only cell), which it would release. ``nbgrader_config.py``
(docs/nbgrader.md)::

    from instructor_tools.nbgrader_badge import release_preprocessors
    c.GenerateAssignment.preprocessors = release_preprocessors()
"""

from __future__ import annotations

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import NbGraderPreprocessor

from . import lesson


class StudentBadge(NbGraderPreprocessor):  # nbgrader's base: enabled by default, unlike nbconvert's
    """Point the header of each released notebook at ``notebooks/`` and hide the answers to its
    questions, as ``instructor_tools.build`` does."""

    def preprocess(self, nb, resources: dict):
        """Rewrite the header and answers cells of the notebook nbgrader is converting (named in ``resources``)."""
        name = resources["nbgrader"]["notebook"] + ".ipynb"
        if not lesson.retarget_header(nb, name):
            self.log.warning("%s has no course header: its Colab badge, if any, is left as it is", name)
        lesson.hide_answers(nb)
        return nb, resources


def release_preprocessors() -> list:
    """nbgrader's own ``generate_assignment`` preprocessors, then :class:`StudentBadge`.

    A whole list, not ``c.GenerateAssignment.preprocessors.append(...)``: nbgrader loads its config
    file twice, and the two lazy appends add the preprocessor twice.
    """
    return [*GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default(), StudentBadge]
