"""``python -m helpers.gan`` with PyTorch: a smoke run writes everything it promises, bad
arguments and unreadable checkpoints fail clearly, checkpoints are atomic, and an interrupted
run resumed from its checkpoint ends exactly where an uninterrupted run of the same seed does."""

import io
import json
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch

from helpers import ROOT, gan, gan_torch

torch.set_num_threads(1)  # tiny tensors: one thread is faster, and far faster on a busy machine

SMOKE = ["--framework", "torch", "--profile", "smoke", "--upsample", "resize_conv"]


def test_smoke_run_writes_checkpoint_samples_grid_and_metrics(tmp_path):
    out = tmp_path / "run"
    assert gan.main([*SMOKE, "--out", str(out), "--samples", "200", "--seed", "1"]) == 0
    samples = np.load(out / "samples.npy")
    assert samples.shape == (200, 28, 28) and samples.dtype == np.uint8
    assert 0 < samples.std() and samples.max() <= 255
    assert mpimg.imread(out / "grid.png").ndim >= 2
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("fid", "inception_score", "confident", "coverage", "steps", "images_per_s", "wall_s", "cli_wall_s", "device"):
        assert key in metrics, key
    assert metrics["n"] == 200 and metrics["real"]["n"] == 200 and metrics["steps"] == 12
    assert metrics["cli_wall_s"] >= metrics["wall_s"] > 0
    assert 1.0 <= metrics["inception_score"] <= 10.0 and 0.0 <= metrics["coverage"] <= 1.0
    assert metrics["config"]["upsample"] == "resize_conv" and metrics["config"]["seed"] == 1
    assert all(np.isfinite(v) for v in metrics["losses"].values())
    state = gan_torch.load_checkpoint(out / gan_torch.CHECKPOINT_FILE)
    assert state["step"] == 12
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("args, message", [
    (["--framework", "jax", "--out", "x"], "invalid choice: 'jax'"),
    ([*SMOKE[:4], "--upsample", "bicubic", "--out", "x"], "invalid choice: 'bicubic'"),
    ([*SMOKE, "--out", "x", "--samples", "0"], "expected a positive integer"),
    ([*SMOKE, "--out", "x", "--seed", "one"], "expected an integer"),
    ([*SMOKE, "--out", "x", "--samples", "70000"], "at most 60,000"),
    (SMOKE, "the following arguments are required: --out"),
])
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gan.main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_command_line_entry_point_reports_bad_arguments():
    run = subprocess.run([sys.executable, "-m", "helpers.gan", "--framework", "torch", "--profile", "laptop", "--out", "x"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "invalid choice: 'laptop'" in run.stderr


def test_unreadable_checkpoint_is_a_clear_error(tmp_path, capsys):
    (tmp_path / gan_torch.CHECKPOINT_FILE).write_bytes(b"this is not a checkpoint")
    assert gan.main([*SMOKE, "--out", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the checkpoint" in err and "without --resume" in err
    torch.save({"something": "else"}, tmp_path / gan_torch.CHECKPOINT_FILE)
    assert gan.main([*SMOKE, "--out", str(tmp_path), "--resume"]) == 2
    assert "not a DCGAN checkpoint" in capsys.readouterr().err


def test_checkpoint_of_another_configuration_is_refused(tmp_path, capsys):
    gan_torch.train(gan.config_for("torch", "smoke", "convtranspose", steps=6), tmp_path, progress=False)
    assert gan.main([*SMOKE, "--out", str(tmp_path), "--resume"]) == 2  # resize_conv ≠ convtranspose
    assert "different configuration" in capsys.readouterr().err


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "checkpoint.pt"
    gan.atomic_write(path, lambda f: f.write(b"old, complete"))

    def crash_halfway(f):
        f.write(b"new, but only half")
        raise KeyboardInterrupt  # the session died while writing

    with pytest.raises(KeyboardInterrupt):
        gan.atomic_write(path, crash_halfway)
    assert path.read_bytes() == b"old, complete"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_interrupted_checkpoint_save_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    cfg = gan.config_for("torch", "smoke", steps=12)  # checkpoints at steps 6 and 12
    real_save = torch.save
    calls = []

    def dying_save(obj, f):
        calls.append(obj["step"])
        if len(calls) == 2:  # the second checkpoint: write part of it, then die
            buffer = io.BytesIO()
            real_save(obj, buffer)
            f.write(buffer.getvalue()[:1000])
            raise KeyboardInterrupt
        real_save(obj, f)

    monkeypatch.setattr(gan_torch.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        gan_torch.train(cfg, tmp_path, progress=False)
    monkeypatch.setattr(gan_torch.torch, "save", real_save)
    assert calls == [6, 12]
    assert gan_torch.load_checkpoint(tmp_path / gan_torch.CHECKPOINT_FILE)["step"] == 6
    assert not list(tmp_path.glob(".*.tmp"))


def test_resume_equals_an_uninterrupted_run(tmp_path):
    """Interrupted after 9 steps (last checkpoint at 6), resumed by the CLI to 12: identical
    samples, weights, optimiser states and loss history to a straight 12-step run."""
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    args = [*SMOKE, "--seed", "5", "--samples", "64"]
    assert gan.main([*args, "--out", str(straight)]) == 0
    cfg = gan.config_for("torch", "smoke", "resize_conv", seed=5, samples=64)
    gan_torch.train(cfg, broken, stop_after=9, progress=False)
    assert gan_torch.load_checkpoint(broken / gan_torch.CHECKPOINT_FILE)["step"] == 6
    assert gan.main([*args, "--out", str(broken), "--resume"]) == 0

    np.testing.assert_array_equal(np.load(straight / "samples.npy"), np.load(broken / "samples.npy"))
    a = gan_torch.load_checkpoint(straight / gan_torch.CHECKPOINT_FILE)
    b = gan_torch.load_checkpoint(broken / gan_torch.CHECKPOINT_FILE)
    assert a["step"] == b["step"] == 12
    for part in ("g", "d", "g_ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), f"{part}.{key} differs after resume"
    for key, value in a["opt_g"]["state"].items():
        assert torch.equal(value["exp_avg"], b["opt_g"]["state"][key]["exp_avg"])
    assert a["history"] == b["history"]
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (straight, broken))
    assert ma["fid"] == mb["fid"] and ma["steps"] == mb["steps"] == 12
    assert mb["steps_this_run"] == 6
