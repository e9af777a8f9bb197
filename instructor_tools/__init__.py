"""Tools for authors and instructors: build the student notebooks, grade submissions.

Never copied into a student's sandbox: the grader copies the learner-facing ``helpers`` package whole.
"""
