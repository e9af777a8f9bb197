"""The one contract both GAN trainers keep (documented in ``helpers.gan``), tested once against each:
the signature, the callbacks, the info, the history, the checkpoint's place and version, and resuming."""

import importlib
import inspect
import math

import numpy as np
import pytest

from helpers import gan

FRAMEWORKS = ("torch", "keras")
INFO_TYPES = {"steps": int, "steps_this_run": int, "resumed_from": int, "epochs": float, "images_per_s": float,
              "train_s": float, "wall_s": float, "device": str, "losses": dict, "history": dict, "checkpoint": str}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    import torch  # both trainers are imported in this module: torch's threads matter for its runs

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def trainer(framework):
    return importlib.import_module(f"helpers.gan.train_{framework}")


def tiny(framework, **overrides):
    """8 steps, logs every 4 (and at the last step), checkpoints every 6, epochs of 4 steps."""
    settings = dict(steps=8, n_train=128, batch_size=32, n_samples=32, log_every=4, checkpoint_every=6)
    return gan.config_for(framework, "smoke", **{**settings, **overrides})


def run(framework, out, cfg=None, **kwargs):
    return trainer(framework).train(cfg or tiny(framework), out, device="cpu", progress=False, **kwargs)


def test_both_trainers_have_the_documented_signature():
    documented = [("cfg", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
                  ("out_dir", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
                  ("resume", "POSITIONAL_OR_KEYWORD", False), ("device", "KEYWORD_ONLY", None),
                  ("stop_after", "KEYWORD_ONLY", None), ("on_log", "KEYWORD_ONLY", None),
                  ("on_epoch", "KEYWORD_ONLY", None), ("progress", "KEYWORD_ONLY", True)]
    hooks = {"torch": ["train_step", "ema_update", "upsample_block"], "keras": []}  # lesson 08's exercises
    for framework in FRAMEWORKS:
        parameters = list(inspect.signature(trainer(framework).train).parameters.values())
        assert [(p.name, p.kind.name, p.default) for p in parameters[:len(documented)]] == documented, framework
        assert [(p.name, p.kind.name, p.default) for p in parameters[len(documented):]] == [
            (name, "KEYWORD_ONLY", None) for name in hooks[framework]], framework
        assert "train(cfg, out_dir, resume=False, *, device=None, stop_after=None, on_log=None" in gan.__doc__


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_callbacks_info_history_and_checkpoint(framework, tmp_path):
    cfg = tiny(framework, steps=10)  # the last log (step 10) covers a partial interval
    logs, epochs = [], []

    def on_epoch(step, g_ema):
        epochs.append(step)
        z = np.random.default_rng(0).normal(size=(2, cfg.latent_dim)).astype("float32")
        if framework == "torch":
            import torch

            images = g_ema(torch.from_numpy(z)).detach().numpy()
            assert images.shape == (2, 1, 28, 28)
        else:
            images = np.asarray(g_ema(z, training=False))
            assert images.shape == (2, 28, 28, 1)
        assert np.abs(images).max() <= 1.0

    samples, info = run(framework, tmp_path, cfg, on_log=lambda step, **losses: logs.append((step, losses)),
                        on_epoch=on_epoch)
    assert [step for step, _ in logs] == [4, 8, 10]
    assert all(set(losses) == {"loss_d", "loss_g"} and all(type(v) is float for v in losses.values())
               for _, losses in logs)
    assert epochs == [4, 8]  # after every steps_per_epoch (128 // 32 = 4) steps
    assert samples.shape == (cfg.n_samples, 28, 28) and samples.dtype == np.uint8

    assert set(INFO_TYPES) <= set(info)
    for key, kind in INFO_TYPES.items():
        assert isinstance(info[key], kind), (key, type(info[key]))
    assert (info["steps"], info["steps_this_run"], info["resumed_from"], info["epochs"]) == (10, 10, 0, 2.5)
    assert info["images_per_s"] > 0 and info["wall_s"] >= info["train_s"] > 0
    assert info["history"] == {"step": [s for s, _ in logs], "loss_d": [v["loss_d"] for _, v in logs],
                               "loss_g": [v["loss_g"] for _, v in logs]}
    assert info["losses"] == {"d": logs[-1][1]["loss_d"], "g": logs[-1][1]["loss_g"]}

    path = gan.checkpoint_path(tmp_path, framework)
    assert info["checkpoint"] == str(path) and path.name == gan.CHECKPOINT_FILES[framework]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing else, no temporary file
    assert trainer(framework).CHECKPOINT_FILE == path.name
    assert isinstance(trainer(framework).CHECKPOINT_VERSION, int)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_stop_after_and_resume_continue_where_the_checkpoint_left_off(framework, tmp_path, capsys):
    straight, info = run(framework, tmp_path / "straight")
    _, stopped = run(framework, tmp_path / "broken", stop_after=7)  # checkpoint at 6; step 7 is lost
    assert (stopped["steps"], stopped["steps_this_run"]) == (7, 7)
    capsys.readouterr()
    resumed, again = run(framework, tmp_path / "broken", resume=True)
    assert "resumed from" in capsys.readouterr().out
    assert (again["steps"], again["steps_this_run"], again["resumed_from"]) == (8, 2, 6)
    np.testing.assert_array_equal(resumed, straight)
    assert again["history"] == info["history"] and again["losses"] == info["losses"]
    _, finished = run(framework, tmp_path / "broken", resume=True)  # nothing left to train
    assert finished["steps_this_run"] == 0 and math.isnan(finished["images_per_s"])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_resume_refuses_identically(framework, tmp_path):
    run(framework, tmp_path)
    path = gan.checkpoint_path(tmp_path, framework)
    before = path.read_bytes()
    with pytest.raises(gan.CheckpointError, match=r"different configuration \(upsample: 'convtranspose' → "):
        run(framework, tmp_path, tiny(framework, upsample="resize_conv"), resume=True)
    with pytest.raises(gan.CheckpointError, match="already trained 8 steps, more than the 6 asked for"):
        run(framework, tmp_path, tiny(framework, steps=6), resume=True)
    path.write_bytes(before[:200])
    with pytest.raises(gan.CheckpointError, match="cannot read the checkpoint"):
        run(framework, tmp_path, resume=True)
    other = FRAMEWORKS[1 - FRAMEWORKS.index(framework)]
    with pytest.raises(ValueError, match=f"framework='{framework}'"):
        run(framework, tmp_path, tiny(other))


def test_checkpoint_path_names_one_file_per_framework(tmp_path):
    assert gan.checkpoint_path(tmp_path, "torch") == tmp_path / "checkpoint.pt"
    assert gan.checkpoint_path(str(tmp_path), "keras") == tmp_path / "checkpoint_keras.npz"
    assert all(name.startswith(gan.CHECKPOINT_STEM) for name in gan.CHECKPOINT_FILES.values())
    with pytest.raises(ValueError, match="framework must be one of"):
        gan.checkpoint_path(tmp_path, "jax")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_lazy_r1_reaches_ds_loss_on_every_nth_step_only(framework, tmp_path, monkeypatch):
    """r1_every=4: steps 0 and 4 of 8 carry the penalty at 4 × r1_gamma, the others none."""
    module = trainer(framework)
    weights, penalties = [], []
    schedule = module.r1_gamma_at

    def spy_schedule(cfg, step):
        weights.append((step, schedule(cfg, step)))
        return weights[-1][1]

    monkeypatch.setattr(module, "r1_gamma_at", spy_schedule)
    if framework == "torch":  # the weight each step's update is given
        step = module.train_step
        monkeypatch.setattr(module, "train_step", lambda *a, **kw: penalties.append(kw["r1_gamma"]) or step(*a, **kw))
    else:  # Keras compiles one step per weight: the penalty is traced only into the one with a weight
        penalty = module.r1_penalty
        monkeypatch.setattr(module, "r1_penalty",
                            lambda d, real, gamma: penalties.append(gamma) or penalty(d, real, gamma))
    run(framework, tmp_path, tiny(framework, r1_gamma=0.5, r1_every=4))
    assert weights == [(step, 2.0 if step % 4 == 0 else 0.0) for step in range(8)]
    assert penalties == ([2.0, 0, 0, 0, 2.0, 0, 0, 0] if framework == "torch" else [2.0])
