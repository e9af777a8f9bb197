"""Lesson 00's environment check (lesson 01's explorer: tests/widgets/test_explorer.py)."""

import numpy as np

from helpers import envcheck


def test_envcheck_reports_data_verified_and_packages():
    rows = {row["item"]: row for row in envcheck.report()}
    assert rows["MNIST"]["ok"] and rows["MNIST"]["detail"].startswith("verified")
    assert rows["numpy"]["ok"] and rows["numpy"]["detail"].startswith(np.__version__)
    assert rows["Python"]["ok"]


def test_envcheck_reports_broken_data(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    rows = {row["item"]: row for row in envcheck.report()}
    assert not rows["MNIST"]["ok"] and "not found" in rows["MNIST"]["detail"]


def test_module_tour_reads_docstrings_without_importing():
    tour = dict(envcheck.module_tour())
    assert tour["helpers.data"] == "MNIST, offline and verified."
    assert tour["helpers.gan"].startswith("Train a reference DCGAN") and "helpers.gan.train_torch" in tour
    assert "helpers.apps.judge" in tour and "helpers.__init__" not in tour and "helpers.gan.__main__" not in tour
    assert not any(name.startswith("instructor_tools") for name in tour)  # the learner's package only
