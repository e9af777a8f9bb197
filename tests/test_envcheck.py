"""Lesson 00's environment check (lesson 01's explorer: tests/widgets/test_explorer.py)."""

import re

import nbformat
import numpy as np
import pytest

from helpers import ROOT, envcheck


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
    assert "helpers.judge" in tour and "helpers.__init__" not in tour and "helpers.gan.__main__" not in tour
    assert not any(name.startswith("instructor_tools") for name in tour)  # the learner's package only


@pytest.mark.parametrize("rst, plain", [
    ("(:mod:`helpers.gan`)", "(helpers.gan)"),
    ("A run's configuration: :class:`GanConfig`, and what ``--resume`` may change.",
     "A run's configuration: GanConfig, and what --resume may change."),
    (":class:`~helpers.gan.config.GanConfig`", "GanConfig"),
    (":func:`the check <helpers.checks.check_array>`", "the check"),
    (":py:meth:`run` and ``a`` or ``b``", "run and a or b"),
    ("interpreted `text`, and ``a `quoted` literal``", "interpreted text, and a `quoted` literal"),
    ("no markup: 2·3 = 6", "no markup: 2·3 = 6"),
])
def test_plain_text_drops_rest_markup(rst, plain):
    assert envcheck.plain_text(rst) == plain


def test_a_summary_is_the_first_paragraph_on_one_line():
    assert envcheck.summary("One sentence that\n  goes on.\n\nDetails.") == "One sentence that goes on."
    assert envcheck.summary("") == ""


MARKUP = re.compile(r":(?:mod|func|class|meth|attr|data|exc|obj):`|``")


def test_tour_text_is_plain_and_wrapped(tmp_path):
    (tmp_path / "gan").mkdir()
    (tmp_path / "gan" / "__init__.py").write_text('"""Train a DCGAN."""\n')
    (tmp_path / "gan" / "cli.py").write_text('"""The command line: ``python -m helpers.gan --out DIR``\n'
                                             '(:mod:`helpers.gan`), resumable with :func:`~helpers.gan.resume`.\n'
                                             '\nDetails nobody tours."""\n')
    (tmp_path / "_private.py").write_text('"""Not toured."""\n')
    assert envcheck.tour_text(width=60, package_dir=tmp_path) == (
        "helpers.gan      Train a DCGAN.\n"
        "helpers.gan.cli  The command line: python -m helpers.gan\n"
        "                 --out DIR (helpers.gan), resumable with\n"
        "                 resume.")


def test_lesson_00_tour_prints_plain_text(capsys):
    """The tour cell of lesson 00, as the learner runs it: every module, no reST markup, nothing cut mid-sentence."""
    cells = nbformat.read(ROOT / "solutions" / "00_setup.ipynb", as_version=4).cells
    source, = [c.source for c in cells if c.cell_type == "code" and "tour" in c.source]
    exec(source, {"envcheck": envcheck})
    shown = capsys.readouterr().out
    tour = envcheck.module_tour()
    assert not MARKUP.search(shown), MARKUP.search(shown)
    assert "`" not in shown
    starts = [line.split()[0] for line in shown.splitlines() if not line.startswith(" ")]
    assert starts == [module for module, _ in tour]
    words = " ".join(shown.split())
    assert all(f"{module} {text}" in words for module, text in tour)  # each summary whole, wrapped not cut
    assert max(len(line) for line in shown.splitlines()) <= 100
