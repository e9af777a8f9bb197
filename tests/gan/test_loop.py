"""The one training loop (helpers.gan.loop) with a fake run: no framework, so the cadence of logs,
checkpoints and on_epoch, the resume flow and the info it reports are tested by themselves."""

import math
import subprocess
import sys

import pytest

from helpers.gan import loop
from helpers.gan.config import CheckpointError, config_for, new_history


class FakeRun:
    """A run whose step is a counter and whose checkpoint is a dict: it records what the loop asked of it."""

    def __init__(self, cfg, losses=lambda step: (1.0 / step, 2.0 / step)):
        self.cfg, self.losses = cfg, losses
        self.step, self.history, self.trained_s = 0, new_history(), 0.0
        self.calls, self.saved = [], {}

    def one_step(self):
        self.step += 1

    def log_losses(self):
        self.calls.append(("log", self.step))
        return self.losses(self.step)

    def save(self, path, trained_s):
        self.calls.append(("save", self.step))
        path.write_text("")  # the loop looks for the file when asked to resume
        self.saved[path] = {"config": self.cfg.to_dict(), "step": self.step, "trained_s": trained_s,
                            "history": {k: list(v) for k, v in self.history.items()}}

    def resume(self, path):
        state = self.saved[path]
        self.step = loop.check_saved_run(state["config"], state["step"], self.cfg, path)
        self.history, self.trained_s = state["history"], state["trained_s"]

    def finish(self):
        self.calls.append(("finish", self.step))


def tiny(**overrides):
    """Epochs of 4 steps (128 // 32), logs every 3, checkpoints every 5."""
    return config_for("torch", "smoke", **{**dict(steps=10, n_train=128, batch_size=32, log_every=3,
                                                 checkpoint_every=5), **overrides})


def test_logs_checkpoints_and_epochs_fall_on_their_multiples_and_the_last_step(tmp_path):
    run, logs, epochs = FakeRun(tiny()), [], []
    seconds = loop.train_loop(run, tmp_path / "ckpt", on_log=lambda step, **losses: logs.append((step, losses)),
                              on_epoch=lambda step, g: epochs.append((step, g)), g_ema="G", progress=False)
    assert run.step == 10 and seconds >= 0
    assert [step for step, _ in logs] == [3, 6, 9, 10]
    assert logs[0][1] == {"loss_d": 1 / 3, "loss_g": 2 / 3}
    assert epochs == [(4, "G"), (8, "G")]
    assert [c for c in run.calls if c[0] == "save"] == [("save", 5), ("save", 10)]
    assert run.calls[-1] == ("finish", 10)
    assert run.history == {"step": [3, 6, 9, 10], "loss_d": [1 / 3, 1 / 6, 1 / 9, 1 / 10],
                           "loss_g": [2 / 3, 2 / 6, 2 / 9, 2 / 10]}


def test_at_one_step_the_log_comes_before_the_checkpoint_and_on_epoch(tmp_path):
    run, order = FakeRun(tiny(log_every=4, checkpoint_every=4)), []
    run.save = lambda path, trained_s: order.append(("save", run.step))
    loop.train_loop(run, tmp_path / "ckpt", on_log=lambda step, **_: order.append(("log", step)),
                    on_epoch=lambda step, g: order.append(("epoch", step)), progress=False, stop_after=4)
    assert order == [("log", 4), ("save", 4), ("epoch", 4)]


def test_stop_after_ends_early_and_resume_goes_on_from_the_checkpoint_mid_epoch(tmp_path, capsys):
    path = tmp_path / "ckpt"
    run = FakeRun(tiny())
    loop.train_loop(run, path, stop_after=7, progress=False)
    assert run.step == 7 and run.saved[path]["step"] == 5  # step 7 is lost with the interruption

    again = FakeRun(tiny())
    again.saved = run.saved
    assert loop.start(again, path, resume=True) == 5
    assert f"resumed from {path} at step 5" in capsys.readouterr().out
    epochs = []
    loop.train_loop(again, path, on_epoch=lambda step, g: epochs.append(step), progress=False)
    assert epochs == [8] and again.step == 10  # mid-epoch: the epoch at step 8 still comes
    assert again.history["step"] == [3, 6, 9, 10]  # the same log as one straight run


def test_a_finished_run_trained_further_drops_its_partial_log(tmp_path):
    path = tmp_path / "ckpt"
    first = FakeRun(tiny())
    loop.train_loop(first, path, progress=False)
    longer = FakeRun(tiny(steps=12))
    longer.saved = first.saved
    loop.start(longer, path, resume=True)
    assert longer.history["step"] == [3, 6, 9]  # step 10's log covered a partial interval
    loop.train_loop(longer, path, progress=False)
    assert longer.history["step"] == [3, 6, 9, 12]


def test_resume_without_a_checkpoint_starts_from_scratch_and_says_where_it_looked(tmp_path, capsys):
    run = FakeRun(tiny())
    assert loop.start(run, tmp_path / "none.pt", resume=True) == 0
    assert capsys.readouterr().out == f"no checkpoint at {tmp_path / 'none.pt'}: starting from scratch\n"
    assert loop.start(run, tmp_path / "none.pt", resume=False) == 0 and capsys.readouterr().out == ""


def test_a_diverged_loss_stops_the_loop_at_its_log(tmp_path):
    run = FakeRun(tiny(), losses=lambda step: (float("nan") if step == 6 else 1.0, 1.0))
    with pytest.raises(FloatingPointError, match="training diverged at step 6: loss_d=nan"):
        loop.train_loop(run, tmp_path / "ckpt", progress=False)
    assert run.step == 6 and run.history["step"] == [3]


def test_saved_runs_are_checked_with_one_message_per_fault(tmp_path):
    cfg = tiny()
    assert loop.check_saved_run(cfg.to_dict(), "5", cfg, tmp_path) == 5
    with pytest.raises(CheckpointError, match="holds an unreadable configuration .* Delete it"):
        loop.check_saved_run(None, 5, cfg, tmp_path)
    with pytest.raises(CheckpointError, match="holds no step count"):
        loop.check_saved_run(cfg.to_dict(), None, cfg, tmp_path)
    with pytest.raises(CheckpointError, match="different configuration"):
        loop.check_saved_run(tiny(seed=1).to_dict(), 5, cfg, tmp_path)


def test_info_has_the_documented_keys(tmp_path):
    run = FakeRun(tiny())
    loop.train_loop(run, tmp_path / "ckpt", progress=False, stop_after=4)
    info = loop.run_info(run, 0, 2.0, started=0.0, path="ckpt", device="fake")
    assert (info["steps"], info["steps_this_run"], info["resumed_from"], info["epochs"]) == (4, 4, 0, 1.0)
    assert info["images_per_s"] == 4 * 32 / 2.0 and info["train_s"] == 2.0 and info["device"] == "fake"
    assert info["losses"] == {"d": 1 / 3, "g": 2 / 3} and info["checkpoint"] == "ckpt"
    assert math.isnan(loop.run_info(run, 4, 0.0, 0.0, "ckpt", "fake")["images_per_s"])  # no step trained


def test_the_loop_imports_neither_framework():
    code = "import sys, helpers.gan.loop; print(sorted({'torch', 'tensorflow', 'keras'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
