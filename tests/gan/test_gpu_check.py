"""scripts/gpu_check.sh, the course on a card in one call: its CPU path (--dry-run, the smoke profile) runs here
between loans of a GPU, so that the script, its lesson list and its score probes cannot rot; a lesson that fails
fails the script with its cell named."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import nbformat
import pytest

from helpers import ROOT


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module
    spec.loader.exec_module(module)
    return module


def plant_lesson(root, name, *sources):
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, root / "solutions" / f"{name}.ipynb")


@pytest.mark.slow
def test_dry_run_executes_every_pytorch_lesson_and_the_command_and_reads_their_scores(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dry-run", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    gpu_check = load_gpu_check()
    for lesson in gpu_check.LESSONS:  # each executed to its last cell, without the probe cell
        path = gpu_check.lesson_path(lesson)
        executed = nbformat.read(out / path.name, as_version=4)
        assert len(executed.cells) == len(nbformat.read(path, as_version=4).cells)
        code = [c for c in executed.cells if c.cell_type == "code"]
        assert code[-1].execution_count, f"{path.name}: its last cell did not run"
        assert not any(o.output_type == "error" for c in code for o in c.outputs)
    report = (out / "gpu_check.md").read_text()
    main, bench = report.split("## The training loop's step")  # the table, then the bench's own
    rows = [line for line in main.splitlines() if line.startswith("| ") and not line.startswith("| lesson")]
    assert len(rows) == len(gpu_check.LESSONS) + 2, report  # and the bench, and the command
    assert "probe failed" not in report and "FAILED" not in report, report
    for lesson, probe in gpu_check.SCORE_PROBES.items():  # every probed lesson reports each of its scores
        row = next(r for r in rows if r.startswith(f"| {lesson}_"))
        for name in (k for k in ("inception-style", "ESPCN − bicubic dB", "full model PSNR dB",
                                 "environment checks passed") if f'"{k}"' in probe):
            assert name in row, row
    assert "python -m helpers.gan --framework torch --profile smoke" in report
    assert "| today's (eager, an EMA launch per tensor) |" in bench and "| fast (whole step graphed)" in bench
    assert (out / "gan_metrics.json").is_file()


@pytest.mark.slow
def test_a_failing_lesson_is_named_with_its_cell_and_fails_the_run(tmp_path, monkeypatch):
    gpu_check = load_gpu_check()
    plant_lesson(tmp_path, "00_broken", "x = 1", "raise RuntimeError('no card today')", "print('never')")
    row = gpu_check.run_lesson("00", "smoke", tmp_path, cell_timeout=60, root=tmp_path)
    assert row.error and "cell 1" in row.error and "no card today" in row.error
    assert "FAILED" in gpu_check.table([row], {"card": "a card (1 GiB)"}, "smoke")
    monkeypatch.setattr(gpu_check, "run_lesson", lambda *args, **kwargs: row)
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path / "out"), "--lessons", "00", "--no-gan",
                           "--no-bench"]) == 1


def test_what_the_deadline_leaves_is_named_as_not_run(tmp_path):
    gpu_check = load_gpu_check()
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path), "--lessons", "00", "06", "--deadline-s", "-1"]) == 1
    report = (tmp_path / "gpu_check.md").read_text()
    for name in ("lesson 00", "lesson 06", "bench", "python -m helpers.gan"):
        assert f"| {name} | 0.0 | **FAILED**: not run: past --deadline-s" in report, report


@pytest.mark.slow
def test_a_probe_that_no_longer_finds_its_variable_says_so(tmp_path):
    gpu_check = load_gpu_check()
    plant_lesson(tmp_path, "09_renamed", "gains = {'ESPCN': 1.0}")  # the probe reads `gain`
    row = gpu_check.run_lesson("09", "smoke", tmp_path, cell_timeout=60, root=tmp_path)
    assert row.error is None
    assert row.scores["probe failed"].startswith("NameError"), row.scores
    assert (tmp_path / "09_renamed.ipynb").is_file()


def test_without_a_card_the_gpu_profile_is_refused(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert load_gpu_check().main(["--no-gan", "--lessons"]) == 2
    assert "--dry-run" in capsys.readouterr().err
