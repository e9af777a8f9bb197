"""``python -m helpers.gan`` with PyTorch: a smoke run writes everything it promises, bad
arguments and unreadable checkpoints fail clearly, checkpoints are atomic, and an interrupted
run resumed from its checkpoint ends exactly where an uninterrupted run of the same seed does.
A finished run resumed with more steps (both frameworks) ends where one longer run does; other
changes are refused in one line; metrics.json is strict JSON; outputs follow the umask."""

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch

from helpers import ROOT, gan
from helpers.gan import cli, outputs, train_torch

torch.set_num_threads(1)  # tiny tensors: one thread is faster, and far faster on a busy machine

SMOKE = ["--framework", "torch", "--profile", "smoke", "--upsample", "resize_conv"]


def test_smoke_run_writes_checkpoint_samples_grid_and_metrics(tmp_path):
    out = tmp_path / "run"
    assert cli.main([*SMOKE, "--out", str(out), "--samples", "200", "--seed", "1"]) == 0
    samples = np.load(out / "samples.npy")
    assert samples.shape == (200, 28, 28) and samples.dtype == np.uint8
    assert 0 < samples.std() and samples.max() <= 255
    assert mpimg.imread(out / "grid.png").ndim >= 2
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("fid", "inception_score", "confident", "coverage", "steps", "images_per_s", "wall_s", "cli_wall_s",
                "device"):
        assert key in metrics, key
    assert metrics["n"] == 200 and metrics["real"]["n"] == 200 and metrics["steps"] == 12
    assert metrics["cli_wall_s"] >= metrics["wall_s"] > 0
    assert 1.0 <= metrics["inception_score"] <= 10.0 and 0.0 <= metrics["coverage"] <= 1.0
    assert metrics["config"]["upsample"] == "resize_conv" and metrics["config"]["seed"] == 1
    assert all(np.isfinite(v) for v in metrics["losses"].values())
    state = train_torch.load_checkpoint(out / train_torch.CHECKPOINT_FILE)
    assert state["step"] == 12
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("args, message", [
    (["--framework", "jax", "--out", "x"], "invalid choice: 'jax'"),
    ([*SMOKE[:4], "--upsample", "bicubic", "--out", "x"], "invalid choice: 'bicubic'"),
    ([*SMOKE, "--out", "x", "--samples", "0"], "expected a positive integer"),
    ([*SMOKE, "--out", "x", "--seed", "one"], "expected an integer"),
    ([*SMOKE, "--out", "x", "--samples", "70000"], "at most 60,000"),
    (SMOKE, "the following arguments are required: --out"),
    ([*SMOKE, "--out", "x", "--set", "g_hidden"], "expected field=value, got 'g_hidden'"),
    ([*SMOKE, "--out", "x", "--set", "g_hiden=8"],
     "'g_hiden' cannot be set this way; the fields that can: batch_size, n_train, lr,"),
    ([*SMOKE, "--out", "x", "--set", "steps=8"], "'steps' cannot be set this way"),
    ([*SMOKE, "--out", "x", "--set", "g_hidden=8.5"], "g_hidden takes an integer; got '8.5'"),
    ([*SMOKE, "--out", "x", "--set", "lr=fast"], "lr takes a number; got 'fast'"),
    ([*SMOKE, "--out", "x", "--set", "d_mbstd=maybe"], "d_mbstd is true or false; got 'maybe'"),
    ([*SMOKE, "--out", "x", "--set", "loss=wasserstein"], "loss must be one of bce, hinge; got 'wasserstein'"),
])
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_set_changes_the_profiles_settings_and_the_run_records_them(tmp_path):
    out = tmp_path / "run"
    assert cli.main([*SMOKE, "--out", str(out), "--samples", "64", "--set", "g_hidden=8", "--set", "lr=1e-3",
                     "--set", "d_mbstd=true"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["g_hidden"], config["lr"], config["d_mbstd"]) == (8, 1e-3, True)
    assert config["d_width"] == gan.config_for("torch", "smoke").d_width  # the rest is the profile's
    generator = train_torch.load_checkpoint(out / train_torch.CHECKPOINT_FILE)["g"]
    assert any(v.shape == (8, 64) for v in generator.values())  # the dense layer z → 8 units was built


def test_command_line_entry_point_reports_bad_arguments():
    run = subprocess.run([sys.executable, "-m", "helpers.gan", "--framework", "torch", "--profile", "laptop",
                          "--out", "x"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "invalid choice: 'laptop'" in run.stderr


def test_main_reads_sys_argv_as_a_console_script_entry_point(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["course-gan", "--framework", "torch", "--profile", "laptop", "--out", "x"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2 and "invalid choice: 'laptop'" in capsys.readouterr().err


def test_write_outputs_writes_the_metrics_it_is_given_and_judges_nothing(tmp_path, monkeypatch):
    from helpers import judge

    monkeypatch.setattr(judge, "scores", lambda *a, **k: pytest.fail("write_outputs judged the samples"))
    samples = np.zeros((4, 28, 28), np.uint8)
    paths = outputs.write_outputs(tmp_path, samples, {"fid": 1.5, "note": "given"})
    assert [p.name for p in paths] == list(outputs.OUTPUT_FILES.values())
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"fid": 1.5, "note": "given"}
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), samples)


def test_judge_samples_scores_against_as_many_real_digits():
    samples = (np.random.default_rng(0).random((64, 28, 28)) * 255).astype(np.uint8)
    judged = cli.judge_samples(samples)
    assert judged["real"]["n"] == 64 and judged["fid_ratio"] == judged["fid"] / judged["real"]["fid"]
    assert 0 <= judged["checkerboard"] <= 1 and judged["judge"].startswith("helpers.judge") and judged["judge_s"] >= 0


def test_unreadable_checkpoint_is_a_clear_error(tmp_path, capsys):
    (tmp_path / train_torch.CHECKPOINT_FILE).write_bytes(b"this is not a checkpoint")
    assert cli.main([*SMOKE, "--out", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the checkpoint" in err and "without --resume" in err
    torch.save({"something": "else"}, tmp_path / train_torch.CHECKPOINT_FILE)
    assert cli.main([*SMOKE, "--out", str(tmp_path), "--resume"]) == 2
    assert "not a DCGAN checkpoint" in capsys.readouterr().err


def test_checkpoint_of_another_configuration_is_refused(tmp_path, capsys):
    train_torch.train(gan.config_for("torch", "smoke", "convtranspose", steps=6), tmp_path, progress=False)
    assert cli.main([*SMOKE, "--out", str(tmp_path), "--resume"]) == 2  # resize_conv ≠ convtranspose
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

    monkeypatch.setattr(train_torch.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        train_torch.train(cfg, tmp_path, progress=False)
    monkeypatch.setattr(train_torch.torch, "save", real_save)
    assert calls == [6, 12]
    assert train_torch.load_checkpoint(tmp_path / train_torch.CHECKPOINT_FILE)["step"] == 6
    assert not list(tmp_path.glob(".*.tmp"))


def test_resume_equals_an_uninterrupted_run(tmp_path):
    """Interrupted after 9 steps (last checkpoint at 6), resumed by the CLI to 12: identical
    samples, weights, optimiser states and loss history to a straight 12-step run."""
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    args = [*SMOKE, "--seed", "5", "--samples", "64"]
    assert cli.main([*args, "--out", str(straight)]) == 0
    cfg = gan.config_for("torch", "smoke", "resize_conv", seed=5, n_samples=64)
    train_torch.train(cfg, broken, stop_after=9, progress=False)
    assert train_torch.load_checkpoint(broken / train_torch.CHECKPOINT_FILE)["step"] == 6
    assert cli.main([*args, "--out", str(broken), "--resume"]) == 0

    np.testing.assert_array_equal(np.load(straight / "samples.npy"), np.load(broken / "samples.npy"))
    a = train_torch.load_checkpoint(straight / train_torch.CHECKPOINT_FILE)
    b = train_torch.load_checkpoint(broken / train_torch.CHECKPOINT_FILE)
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



# --------------------------------------------------------------------------- resuming with other settings

def assert_same_torch_run(a_dir, b_dir):
    a = train_torch.load_checkpoint(a_dir / train_torch.CHECKPOINT_FILE)
    b = train_torch.load_checkpoint(b_dir / train_torch.CHECKPOINT_FILE)
    assert a["step"] == b["step"] and a["config"] == b["config"]
    for part in ("g", "d", "g_ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), f"{part}.{key} differs"
    for opt in ("opt_g", "opt_d"):
        for key, value in a[opt]["state"].items():
            for name in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(value[name], b[opt]["state"][key][name]), f"{opt}.{key}.{name} differs"
    assert torch.equal(a["data_rng"], b["data_rng"]) and torch.equal(a["noise_rng"], b["noise_rng"])
    assert torch.equal(a["loss_sums"], b["loss_sums"])
    assert a["history"] == b["history"]
    np.testing.assert_array_equal(np.load(a_dir / "samples.npy"), np.load(b_dir / "samples.npy"))


def test_finished_run_resumed_with_more_steps_equals_one_longer_run(tmp_path, capsys):
    """10 steps (its last log covers the partial interval 9–10), then --steps 24 --resume: the same
    weights, optimiser states, random generators, loss log and samples as 24 steps in one go."""
    straight, extended = tmp_path / "straight", tmp_path / "extended"
    args = [*SMOKE, "--seed", "2", "--samples", "64"]
    assert cli.main([*args, "--steps", "24", "--out", str(straight)]) == 0
    assert cli.main([*args, "--steps", "10", "--out", str(extended)]) == 0
    first = train_torch.load_checkpoint(extended / train_torch.CHECKPOINT_FILE)
    assert first["step"] == 10 and first["history"]["step"] == [4, 8, 10]
    capsys.readouterr()
    assert cli.main([*args, "--steps", "24", "--out", str(extended), "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().out
    assert_same_torch_run(straight, extended)
    extended_log = train_torch.load_checkpoint(extended / train_torch.CHECKPOINT_FILE)["history"]
    assert extended_log["step"] == [4, 8, 12, 16, 20, 24]
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (straight, extended))
    assert ma["fid"] == mb["fid"] and mb["steps"] == 24 and mb["steps_this_run"] == 14
    assert mb["config"]["steps"] == 24 and mb["losses"] == ma["losses"]


def test_keras_finished_run_resumed_with_more_steps_equals_one_longer_run(tmp_path):
    from helpers.gan import train_keras

    straight, extended = tmp_path / "straight", tmp_path / "extended"
    args = ["--framework", "keras", "--profile", "smoke", "--seed", "3", "--samples", "64"]
    cfg = gan.config_for("keras", "smoke", seed=3, n_samples=64, steps=12)
    samples, info = train_keras.train(cfg, straight, progress=False)
    assert cli.main([*args, "--steps", "6", "--out", str(extended)]) == 0  # logs at 4 and at its last step, 6
    assert cli.main([*args, "--steps", "12", "--out", str(extended), "--resume"]) == 0
    np.testing.assert_array_equal(np.load(extended / "samples.npy"), samples)
    with np.load(straight / train_keras.CHECKPOINT_FILE) as a, np.load(extended / train_keras.CHECKPOINT_FILE) as b:
        assert a.files == b.files
        for key in a.files:
            if key != "meta":
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        meta_a, meta_b = (json.loads(m["meta"].tobytes()) for m in (a, b))
    assert meta_a.pop("trained_s") > 0 and meta_b.pop("trained_s") > 0  # seconds: the one thing that may differ
    assert meta_a == meta_b and meta_b["history"]["step"] == [4, 8, 12]
    metrics = json.loads((extended / "metrics.json").read_text())
    assert metrics["steps"] == 12 and metrics["resumed_from"] == 6 and metrics["losses"] == info["losses"]


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_resume_refuses_fewer_steps_and_other_settings_in_one_line(tmp_path, capsys, framework):
    args = ["--framework", framework, "--profile", "smoke", "--samples", "64", "--out", str(tmp_path)]
    assert cli.main([*args, "--steps", "8"]) == 0
    checkpoint = next(p for p in tmp_path.iterdir() if p.name.startswith(gan.CHECKPOINT_STEM))
    before = checkpoint.read_bytes()
    capsys.readouterr()

    assert cli.main([*args, "--steps", "6", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "already trained 8 steps, more than the 6 asked for" in err and "--steps 8 or more" in err

    assert cli.main([*args, "--steps", "12", "--seed", "4", "--upsample", "pixel_shuffle", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "different configuration (upsample: 'convtranspose' → 'pixel_shuffle', seed: 0 → 4)" in err
    assert "--upsample convtranspose --seed 0" in err and "another --out" in err
    assert checkpoint.read_bytes() == before  # a refused resume writes nothing


def test_python_m_reports_a_refused_resume_without_a_traceback(tmp_path):
    """Run as ``python -m helpers.gan`` the module is __main__, a second copy of helpers.gan whose
    CheckpointError is another class than the one the trainers raise."""
    train_torch.train(gan.config_for("torch", "smoke", "convtranspose", steps=4, checkpoint_every=4), tmp_path,
                    progress=False)
    run = subprocess.run([sys.executable, "-m", "helpers.gan", *SMOKE, "--out", str(tmp_path), "--resume"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "upsample: 'convtranspose' → 'resize_conv'" in lines[0]


# --------------------------------------------------------------------------- strict JSON

def strict_loads(text):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_text_turns_non_finite_numbers_into_null():
    value = {"nan": float("nan"), "inf": float("inf"), "ninf": -math.inf, "f32": np.float32("nan"),
             "array": np.array([1.5, np.nan]), "n": np.int64(3), "ok": 0.25, "path": Path("a/b"),
             "nested": [{"x": (float("nan"), 1)}], "flag": np.bool_(True), 7: None}
    assert strict_loads(outputs.json_text(value)) == {
        "nan": None, "inf": None, "ninf": None, "f32": None, "array": [1.5, None], "n": 3, "ok": 0.25,
        "path": str(Path("a/b")), "nested": [{"x": [None, 1]}], "flag": True, "7": None}
    with pytest.raises(TypeError, match="cannot write object"):
        outputs.json_text({"x": object()})


def test_resuming_a_finished_run_writes_strict_json(tmp_path, capsys):
    args = [*SMOKE, "--steps", "4", "--samples", "64", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    assert cli.main([*args, "--resume"]) == 0  # nothing left to train: no images per second to report
    assert "no steps left to train" in capsys.readouterr().out
    metrics = strict_loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["steps_this_run"] == 0
    assert metrics["images_per_s"] is None and metrics["s_per_epoch_60k"] is None
    assert metrics["fid"] > 0


# --------------------------------------------------------------------------- file permissions

@pytest.fixture
def umask():
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(saved)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002], ids=["022", "077", "002"])
def test_outputs_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    assert outputs.current_umask() == mask
    out = tmp_path / "run"
    assert cli.main([*SMOKE, "--steps", "2", "--samples", "64", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoint.pt", "grid.png", "metrics.json", "samples.npy"]
    for name in names:
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def test_umask_is_read_without_proc_too(tmp_path, umask, monkeypatch):
    def no_proc(*args, **kwargs):
        raise FileNotFoundError("/proc/self/status")

    monkeypatch.setattr(outputs, "open", no_proc, raising=False)  # as on macOS: no /proc
    umask(0o027)
    assert outputs.current_umask() == 0o027
    assert os.umask(0o027) == 0o027  # and it is left as it was
    path = gan.atomic_write(tmp_path / "x.bin", lambda f: f.write(b"x"))
    assert path.stat().st_mode & 0o777 == 0o640


def test_fingerprint_names_a_configuration():
    cfg = gan.config_for("torch", "cpu")
    assert cfg.fingerprint() == gan.config_for("torch", "cpu").fingerprint()  # stable across calls
    assert len(cfg.fingerprint()) == 8 and int(cfg.fingerprint(), 16) >= 0
    others = {gan.config_for("torch", "cpu", g_hidden=0).fingerprint(), gan.config_for("keras", "cpu").fingerprint(),
              gan.config_for("torch", "cpu", "resize_conv").fingerprint(), cfg.fingerprint()}
    assert len(others) == 4  # a changed field, framework or upsampling kind: another folder


# --------------------------------------------------------------------------- the run's folder

def refused(args, capsys) -> str:
    """``cli.main(args)`` ends before training with status 2 and one ``error:`` line on stderr; that line."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert "DCGAN ·" not in out  # the line that starts training was never printed
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.strip()


def refused_by_argparse(args, capsys) -> str:
    """Argparse's own refusal (a usage message, status 2): stderr."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot create files in: a folder without write permission, or, where permissions
    do not stop the process (root), /proc, which no one can write (Linux)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        yield folder
    else:
        (folder / "probe").unlink()
        assert Path("/proc/self").is_dir(), "found no folder this process cannot write into"
        yield Path("/proc")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("where", ["an existing file", "a path under a file", "a path under a read-only folder",
                                   "a read-only folder"])
def test_an_out_folder_that_cannot_be_written_fails_before_training(where, tmp_path, read_only_folder, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    out = {"an existing file": a_file, "a path under a file": a_file / "run",
           "a path under a read-only folder": read_only_folder / "run", "a read-only folder": read_only_folder}[where]
    err = refused([*SMOKE, "--out", str(out)], capsys)
    assert err.startswith(f"error: --out {out}")
    assert ("is a file, not a folder" if where == "an existing file" else "cannot") in err
    assert a_file.read_text() == "not a folder"


def test_python_m_reports_an_unwritable_out_in_one_line(tmp_path):
    (tmp_path / "a_file").write_text("")
    run = subprocess.run([sys.executable, "-m", "helpers.gan", *SMOKE, "--out", str(tmp_path / "a_file" / "run")],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [f"error: --out {tmp_path / 'a_file' / 'run'}: cannot create the folder "
                                       "(Not a directory)."]


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_new_run_into_a_folder_that_holds_a_run_needs_overwrite(tmp_path, capsys):
    args = [*SMOKE, "--steps", "2", "--samples", "64", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    before = folder_state(tmp_path)
    capsys.readouterr()

    err = refused([*args, "--seed", "1"], capsys)
    assert err == (f"error: --out {tmp_path} already holds a run (checkpoint.pt, samples.npy, grid.png, "
                   "metrics.json): continue it with --resume, replace it with --overwrite, or choose another --out.")
    assert folder_state(tmp_path) == before  # nothing written

    (tmp_path / "notes.txt").write_text("mine")  # not a run's file: --overwrite leaves it
    assert cli.main([*args, "--seed", "1", "--overwrite"]) == 0
    assert "--overwrite: removed the earlier run's checkpoint.pt, samples.npy, grid.png, metrics.json" in \
        capsys.readouterr().out
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["seed"] == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert "not allowed with argument --resume" in refused_by_argparse([*args, "--resume", "--overwrite"], capsys)


def test_resume_refuses_a_folder_that_holds_another_frameworks_run(tmp_path, capsys):
    torch_args = [*SMOKE, "--steps", "2", "--samples", "64", "--out", str(tmp_path)]
    assert cli.main(torch_args) == 0
    before = folder_state(tmp_path)
    capsys.readouterr()
    keras_args = ["--framework", "keras", "--profile", "smoke", "--steps", "2", "--samples", "64", "--out",
                  str(tmp_path)]

    err = refused([*keras_args, "--resume"], capsys)
    assert err == (f"error: --out {tmp_path} holds a torch run (checkpoint.pt, samples.npy, grid.png, metrics.json); "
                   "--resume continues a run in its own framework: resume it with --framework torch, or train keras "
                   "into another --out.")
    assert "already holds a run" in refused(keras_args, capsys)  # and a new keras run needs --overwrite
    assert folder_state(tmp_path) == before

    (tmp_path / "checkpoint.pt").unlink()  # the outputs still say whose run it was
    assert "holds a torch run (samples.npy, grid.png, metrics.json)" in refused([*keras_args, "--resume"], capsys)
    assert "holds a run's outputs (samples.npy, grid.png, metrics.json) but no checkpoint.pt to resume from" in \
        refused([*torch_args, "--resume"], capsys)


def test_overwrite_with_another_framework_leaves_no_file_of_the_earlier_run(tmp_path):
    assert cli.main([*SMOKE, "--steps", "2", "--samples", "64", "--out", str(tmp_path)]) == 0
    assert cli.main(["--framework", "keras", "--profile", "smoke", "--steps", "2", "--samples", "64", "--out",
                     str(tmp_path), "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint_keras.npz", "grid.png", "metrics.json",
                                                          "samples.npy"]
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["framework"] == "keras"


def test_the_last_line_names_the_files_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main([*SMOKE, "--steps", "2", "--samples", "64", "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("wrote ")
    named = [Path(p) for p in last.removeprefix("wrote ").split(", ")]
    assert sorted(named) == sorted(out.iterdir())  # every file in the folder, each by its path
    assert named[0] == out / "checkpoint.pt"


# --------------------------------------------------------------------------- settings, help

@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("setting, message", [
    ("lr=-1", "lr must be a number above 0 and at most 1; got -1.0"),
    ("beta1=1", "beta1 must be a number from 0 up to, not including, 1; got 1.0"),
    ("log_every=0", "log_every must be a positive integer; got 0"),
    ("batch_size=1", "batch_size must be an integer of 2 or more (BatchNorm needs two digits a batch); got 1"),
])
def test_a_setting_that_breaks_its_rule_is_refused_in_one_line_before_training(framework, setting, message, tmp_path,
                                                                               capsys):
    out = tmp_path / "run"
    err = refused(["--framework", framework, "--profile", "smoke", "--out", str(out), "--set", setting], capsys)
    assert err == f"error: {message}"
    assert not out.exists()


def test_a_negative_seed_is_refused(tmp_path, capsys):
    assert refused([*SMOKE, "--out", str(tmp_path), "--seed", "-1"], capsys) == (
        "error: seed must be an integer from 0 to 2,147,483,647; got -1")


def test_help_explains_the_upsampling_kinds_and_shows_the_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in text.splitlines() if line.startswith("  ")
             and line.split()[0] in gan.UPSAMPLE_KINDS}
    assert lines == {  # one line each, saying what the block is
        "convtranspose": "transposed conv, kernel 4, stride 2 (DCGAN's): even overlap",
        "convtranspose3": "transposed conv, kernel 3, stride 2: uneven overlap, checkerboards",
        "resize_conv": "nearest-neighbour ×2 resize, then a 3×3 conv: no checkerboard",
        "pixel_shuffle": "3×3 conv to 4× the channels, then pixel shuffle (ICNR init)",
    }
    flat = " ".join(text.split())
    for default in ("listed below (default: convtranspose)", "and noise (default: 0)",
                    "(default: the profile's: smoke 256, cpu 5,000, gpu 10,000)",
                    "(default: smoke 12, cpu 4,000 (keras 8,000), gpu 10,000)", "(default: helpers.runtime.profile()",
                    "(default: none changed)"):
        assert default in flat, default
    assert "python -m helpers.gan --framework torch --profile cpu --upsample resize_conv --out runs/" in flat


def test_measure_gans_remeasures_into_the_folder_it_measured_before(tmp_path, capsys):
    """scripts/measure_gans.py trains each run into the same folder every time: a second measurement replaces
    the first (it passes --overwrite) instead of being refused."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("measure_gans", ROOT / "scripts" / "measure_gans.py")
    measure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure)
    args = ["--profile", "smoke", "--frameworks", "torch", "--kinds", "convtranspose", "--threads", "1",
            "--runs", str(tmp_path)]
    folder = tmp_path / "smoke" / "torch_convtranspose"
    walls = []
    for _ in range(2):
        assert measure.main(args) == 0
        log = (folder / "cli.log").read_text()
        assert "error:" not in log
        walls.append(json.loads((folder / "metrics.json").read_text())["cli_wall_s"])
    assert "--overwrite: removed the earlier run's checkpoint.pt" in log
    assert walls[0] != walls[1]  # the second run wrote its own metrics
