"""The GAN measurement scripts: the recipe explorer judges at the requested steps, and the results
table marks each target met or missed from a run's metrics."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_explorer_judges_each_ema_at_each_requested_step(capsys):
    explore = load_script("explore_dcgan_recipe")
    assert explore.main(["--evals", "4,2", "--emas", "0,0.9", "--samples", "100", "--decay", "0.5", "--lr-d", "1e-3",
                         "batch_size=8", "g_width=16", "d_width=8", "g_refine=1", "d_hidden=16"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["step"], r["ema"]) for r in rows] == [(2, 0.0), (2, 0.9), (4, 0.0), (4, 0.9)]
    for r in rows:
        assert 1.0 <= r["inception_score"] <= 10.0 and 0.0 <= r["coverage"] <= 1.0 and r["fid"] > 0
    assert rows[0]["fid"] != rows[1]["fid"]  # the EMA copy is a different generator from the raw one


def test_explorer_takes_a_profile_and_copies_g_until_ema_start(capsys):
    explore = load_script("explore_dcgan_recipe")
    assert explore.main(["--profile", "smoke", "--evals", "3", "--emas", "0,0.9", "--samples", "100",
                         "ema_start=5", "loss=hinge"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["ema"] for r in rows] == [0.0, 0.9]
    assert rows[0]["fid"] == rows[1]["fid"]  # before ema_start the average is a copy of G


def test_explorer_rejects_unknown_config_fields():
    explore = load_script("explore_dcgan_recipe")
    with pytest.raises(TypeError, match="no_such_field"):
        explore.main(["--evals", "1", "no_such_field=3"])
    with pytest.raises(SystemExit):
        explore.main(["lr"])  # not key=value


def test_results_table_marks_targets(tmp_path):
    measure = load_script("measure_gans")
    real = {"n": 5000, "fid": 2.0, "inception_score": 9.6, "confident": 0.97, "coverage": 0.999}
    good = {"fid": 10.0, "fid_ratio": 5.0, "inception_score": 9.1, "confident": 0.9, "coverage": 0.99,
            "checkerboard": 0.01, "steps": 1800, "images_per_s": 500.0, "device": "cpu", "real": real}
    bad = {**good, "fid_ratio": 12.0, "inception_score": 8.3}
    for kind, metrics, wall in (("convtranspose", good, 250.0), ("resize_conv", bad, 420.0)):
        folder = tmp_path / f"torch_{kind}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(metrics))
        measured = {"cli_wall_s": wall, "load_before": "0.5", "load_after": "1.0"}
        (folder / "measure.json").write_text(json.dumps(measured))
    text = measure.table("cpu", tmp_path, ["torch"], ["convtranspose", "resize_conv", "pixel_shuffle"])
    lines = text.splitlines()
    assert lines[2].endswith("| met | n/a |")  # (made up here: no day recorded)
    assert "missed: wall > 300 s by 120 s (+40 %), IS < 9.0, FID > 10.0× real" in lines[3]
    assert "`pixel_shuffle` | not measured" in lines[4]
    assert lines[5].startswith("| real training digits (5,000)")


def test_writing_one_profiles_table_keeps_the_others(tmp_path):
    measure = load_script("measure_gans")
    path = tmp_path / "results.md"
    path.write_text("# Results\n\nprose\n\n<!-- table:cpu -->\nold cpu table\n")
    measure.write_section(path, "gpu-stages", "gpu rows")
    measure.write_section(path, "cpu", "new cpu table")
    text = path.read_text()
    assert text == "# Results\n\nprose\n\n<!-- table:cpu -->\nnew cpu table\n<!-- table:gpu-stages -->\ngpu rows\n"


def test_stages_resume_the_same_run_and_skip_stages_already_judged(tmp_path, capsys):
    """Two CLI runs of the smoke profile: the second command asks for stages 2 and 4 and trains only the
    second, from the first one's checkpoint."""
    measure = load_script("measure_gans")
    args = ["--profile", "smoke", "--frameworks", "torch", "--kinds", "convtranspose", "--threads", "1",
            "--runs", str(tmp_path), "--set", "g_hidden=8"]
    assert measure.main([*args, "--stages", "2"]) == 0
    assert measure.main([*args, "--stages", "4,2"]) == 0
    folder = tmp_path / "smoke-stages+g_hidden=8" / "torch_convtranspose"  # a changed recipe has its own folder
    rows = measure.read_stages(folder / "stages.jsonl")
    assert [r["steps"] for r in rows] == [2, 4]
    assert [r["config"]["g_hidden"] for r in rows] == [8, 8]  # every stage trained the changed recipe
    assert (rows[1]["resumed_from"], rows[1]["steps_this_run"]) == (2, 2)  # stage 4 continued stage 2's checkpoint
    table = measure.stage_table("smoke", folder.parent, ["torch"], ["convtranspose"]).splitlines()
    assert [line.split(" | ")[2] for line in table[2:]] == ["2", "4"]
    started = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  stage ")]
    assert [line.split()[1] for line in started] == ["2", "4"]  # stage 2 was not trained twice


def test_the_gpu_measurement_script_runs_its_three_parts_and_writes_its_tables(tmp_path):
    """scripts/measure_gpu.sh, dry-run on the CPU with the smoke profile: the whole command, the staged run with a
    changed recipe beside it (both judged at each stage), the speed-up table, and each table in DOC."""
    measure = load_script("measure_gans")
    env = {**os.environ, "PROFILE": "smoke", "STAGES": "2,3", "TRY": "g_hidden=8 lr=1e-3", "BENCH_STEPS": "1",
           "BENCH_ARGS": "--no-compile", "PYTHON": sys.executable, "DOC": str(tmp_path / "doc.md"),
           "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["bash", str(ROOT / "scripts" / "measure_gpu.sh"), str(tmp_path / "runs")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    doc = (tmp_path / "doc.md").read_text()
    for key in ("smoke", "smoke-stages", "smoke-stages+g_hidden=8+lr=0.001"):
        assert f"<!-- table:{key} -->" in doc, key
    tried = measure.read_stages(tmp_path / "runs" / "smoke-stages+g_hidden=8+lr=0.001" / "torch_convtranspose"
                                / "stages.jsonl")
    assert [(r["steps"], r["config"]["g_hidden"], r["config"]["lr"]) for r in tried] == [(2, 8, 1e-3), (3, 8, 1e-3)]
    plain = measure.read_stages(tmp_path / "runs" / "smoke-stages" / "torch_convtranspose" / "stages.jsonl")
    assert [(r["steps"], r["config"]["g_hidden"]) for r in plain] == [(2, 0), (3, 0)]
    assert json.loads((tmp_path / "runs" / "smoke" / "torch_convtranspose" / "metrics.json").read_text())["steps"] == 12
    bench = (tmp_path / "runs" / "bench.md").read_text()
    assert "| + mixed precision |" in bench and "torch.compile" not in bench


def test_seeds_train_one_run_per_seed_and_their_mean_meets_its_own_target(tmp_path):
    """--seeds: two smoke CLI runs, one folder and one row per seed (each trained from its own seed), then the mean;
    a mean under the profile's mean target is marked missed even when every seed met the per-run target."""
    measure = load_script("measure_gans")
    args = ["--profile", "smoke", "--frameworks", "torch", "--kinds", "convtranspose", "--threads", "1",
            "--runs", str(tmp_path), "--seeds", "3,5"]
    assert measure.main(args) == 0
    base = tmp_path / "smoke-seeds"
    runs = [json.loads((base / f"torch_convtranspose_seed{s}" / "metrics.json").read_text()) for s in (3, 5)]
    assert [r["config"]["seed"] for r in runs] == [3, 5]
    lines = measure.seed_table("smoke", base, ["torch"], ["convtranspose"], [3, 5]).splitlines()
    assert [line.split(" | ")[2] for line in lines[2:]] == ["3", "5", "**mean of 2**"]
    mean = sum(r["inception_score"] for r in runs) / 2
    assert f"**{mean:.2f}**" in lines[4]
    # the cpu profile's mean target, on made-up runs: 9.05 and 9.11 each meet 9.0, their mean 9.08 misses 9.1
    real = {"n": 5000, "fid": 2.0, "inception_score": 9.6, "confident": 0.97, "coverage": 0.999}
    for seed, score in ((0, 9.05), (1, 9.11)):
        folder = tmp_path / "cpu" / f"torch_convtranspose_seed{seed}"
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(
            {"fid": 4.0, "fid_ratio": 2.0, "inception_score": score, "confident": 0.9, "coverage": 0.99,
             "steps": 4000, "images_per_s": 900.0, "device": "cpu", "real": real}))
        (folder / "measure.json").write_text(json.dumps({"cli_wall_s": 280.0 + seed, "load_before": "1.0",
                                                         "load_after": "1.2"}))
    cpu = measure.seed_table("cpu", tmp_path / "cpu", ["torch"], ["convtranspose"], [0, 1]).splitlines()
    assert cpu[2].endswith("| met |") and cpu[3].endswith("| met |")
    assert cpu[4].endswith("| missed: mean IS < 9.1 |") and "281 (slowest)" in cpu[4]


def test_remeasuring_one_framework_keeps_the_other_frameworks_rows_with_their_day(tmp_path):
    """--write with --frameworks torch: torch's rows are replaced, Keras's kept from the table before (rows written
    before the measured column get the old table's day), in the course's order, under the new real-data row."""
    measure = load_script("measure_gans")
    real = {"n": 5000, "fid": 1.8, "inception_score": 9.65, "confident": 0.97, "coverage": 0.999}
    folder = tmp_path / "torch_convtranspose"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(
        {"fid": 3.0, "fid_ratio": 1.7, "inception_score": 9.2, "confident": 0.91, "coverage": 0.998,
         "checkerboard": 0.003, "steps": 4500, "images_per_s": 1100.0, "device": "cpu", "real": real}))
    (folder / "measure.json").write_text(json.dumps({"cli_wall_s": 270.0, "load_before": "1.0", "load_after": "1.1",
                                                     "measured_on": "2026-12-04"}))
    old = ("## Results, cpu profile\n\nTable written 2026-11-26 09:11 UTC on vm by `…`\n\n"
           "| framework | upsampling | FID | … |\n|---|---|---|\n"
           "| torch | `convtranspose` | 3.90 | 2.2 | 9.00 | 0.889 | 0.998 | 0.003 | 4,000 | 920 | 287 | 1 → 2 "
           "| cpu | met |\n"
           "| keras | `resize_conv` | 3.65 | 2.0 | 9.13 | 0.905 | 0.999 | 0.003 | 8,000 | 950 | 548 | 2 → 2 "
           "| XLA | met |\n"
           "| keras | `convtranspose` | 4.20 | 2.3 | 9.12 | 0.905 | 0.998 | 0.003 | 8,000 | 1,324 | 397 | 0 → 1 "
           "| XLA | met |\n"
           "| real training digits (5,000) | — | 1.80 | 1.0 | 9.65 | 0.970 | 0.999 | | | | | | | |\n")
    new = measure.table("cpu", tmp_path, ["torch"], ["convtranspose"])
    lines = measure.merge_rows(old, new).splitlines()
    assert [line.split(" | ")[:2] for line in lines[2:5]] == [
        ["| torch", "`convtranspose`"], ["| keras", "`convtranspose`"], ["| keras", "`resize_conv`"]]
    assert "| 9.20 |" in lines[2] and lines[2].endswith("| met | 2026-12-04 |")  # torch: the new run
    assert "| 9.12 |" in lines[3] and lines[3].endswith("| met | 2026-11-26 |")  # keras: kept, with its day
    assert lines[5].startswith("| real training digits (5,000)") and len(lines) == 6
    header_cells = lines[0].count("|")
    assert all(line.count("|") == header_cells for line in lines[2:])
