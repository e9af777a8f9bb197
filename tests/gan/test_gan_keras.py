"""The Keras DCGAN: model shapes and recipe, pixel shuffle's channel order and ICNR,
training in the smoke profile, checkpoints, and exact resume after an interruption."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import gan, metrics
from helpers.gan import cli, outputs
from helpers.gan.train_keras import (
    CHECKPOINT_FILE,
    ICNR,
    DepthToSpace,
    MinibatchStd,
    build_discriminator,
    build_generator,
    discriminator_loss,
    generator_loss,
    r1_penalty,
    train,
)


def smoke_cfg(**overrides):
    return gan.config_for("keras", "smoke", **overrides)


def read_checkpoint(path):
    with np.load(path) as archive:
        return {k: archive[k] for k in archive.files if k != "meta"}


class Interrupt(Exception):
    pass


# --------------------------------------------------------------------------- models

@pytest.mark.parametrize("kind", gan.UPSAMPLE_KINDS)
def test_generator_maps_noise_to_digits_in_tanh_range(kind):
    keras.utils.set_random_seed(0)
    g = build_generator(latent_dim=16, upsample=kind, width=8)
    assert g.input_shape == (None, 16)
    assert g.output_shape == (None, 28, 28, 1)
    x = g(np.random.default_rng(0).normal(size=(5, 16)).astype("float32"), training=False).numpy()
    assert x.shape == (5, 28, 28, 1)
    assert np.all(np.abs(x) <= 1.0) and x.std() > 0
    assert g.layers[-1].get_config().get("activation") == "tanh"


def test_generator_follows_the_dcgan_recipe():
    g = build_generator(latent_dim=32, upsample="convtranspose", width=16)
    names = [type(layer).__name__ for layer in g.layers]
    assert names.count("BatchNormalization") == 2  # after the projection and the first block, not at the output
    assert "Conv2DTranspose" in names and not any("Pool" in n for n in names)
    kernel = g.get_layer("project").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.002  # N(0, 0.02)
    assert g.get_layer("up14_convT4").kernel.shape == (4, 4, 8, 16)  # k4, (kH, kW, out, in)
    g3 = build_generator(latent_dim=32, upsample="convtranspose3", width=16)
    assert g3.get_layer("up14_convT3").kernel.shape == (3, 3, 8, 16)


def test_generator_and_discriminator_take_other_shapes():
    g = build_generator(latent_dim=8, upsample="pixel_shuffle", width=4, out_shape=(32, 16, 3))
    assert g.output_shape == (None, 32, 16, 3)
    d = build_discriminator(width=4, in_shape=(32, 16, 3))
    assert d(g(np.zeros((2, 8), "float32"))).shape == (2, 1)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_generator(8, "convtranspose", 4, out_shape=(30, 30, 1))


def test_discriminator_has_no_batchnorm_at_its_input_and_returns_one_logit():
    d = build_discriminator(width=8)
    assert d.output_shape == (None, 1)
    kinds = [type(layer).__name__ for layer in d.layers]
    assert kinds[1] == "Conv2D" and kinds[2] == "LeakyReLU" and kinds.count("BatchNormalization") == 1
    assert d.get_layer("lrelu14").get_config()["negative_slope"] == pytest.approx(0.2)
    assert d.get_layer("conv7").output.shape[1:] == (7, 7, 16)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="upsample must be one of"):
        build_generator(16, "deconv")
    with pytest.raises(ValueError, match="even"):
        build_generator(16, "convtranspose", width=7)
    with pytest.raises(ValueError, match="framework='keras'"):
        train(gan.config_for("torch", "smoke"), "unused")


def test_losses_are_binary_cross_entropies():
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    sig = 1 / (1 + np.exp(-np.float64([2.0, -1.0, 0.5, -3.0])))
    expected_d = -np.mean(np.log(sig[:2])) - np.mean(np.log(1 - sig[2:]))
    expected_g = -np.mean(np.log(sig[2:]))
    assert float(discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    assert float(generator_loss(fake)) == pytest.approx(expected_g, rel=1e-5)
    smoothed = -np.mean(0.9 * np.log(sig[:2]) + 0.1 * np.log(1 - sig[:2])) - np.mean(np.log(1 - sig[2:]))
    assert float(discriminator_loss(real, fake, real_target=0.9)) == pytest.approx(smoothed, rel=1e-5)


# --------------------------------------------------------------------------- pixel shuffle

def test_depth_to_space_reads_channels_position_major():
    c, block = 3, 2
    x = np.random.default_rng(1).normal(size=(2, 4, 5, c * block * block)).astype("float32")
    y = DepthToSpace(block)(x).numpy()
    assert y.shape == (2, 8, 10, c)
    for i in range(block):
        for j in range(block):
            for ch in range(c):
                np.testing.assert_array_equal(y[:, i::block, j::block, ch], x[..., (i * block + j) * c + ch])
    # PyTorch's PixelShuffle order (channel-major) would give a different image when C > 1
    torch_order = x.reshape(2, 4, 5, c, block, block).transpose(0, 1, 4, 2, 5, 3).reshape(2, 8, 10, c)
    assert not np.allclose(y, torch_order)


def test_icnr_starts_pixel_shuffle_as_nearest_neighbour_upsampling():
    keras.utils.set_random_seed(3)
    conv = keras.layers.Conv2D(4 * 5, 3, padding="same", use_bias=False, kernel_initializer=ICNR(2))
    x = np.random.default_rng(2).normal(size=(2, 6, 6, 7)).astype("float32")
    y = DepthToSpace(2)(conv(x)).numpy()
    for i, j in ((0, 1), (1, 0), (1, 1)):  # all four sub-pixels of every 2×2 block are equal
        np.testing.assert_allclose(y[:, i::2, j::2], y[:, ::2, ::2], atol=1e-6)
    assert y.std() > 0
    with pytest.raises(ValueError, match="multiple"):
        ICNR(2)((3, 3, 2, 6))


def test_uneven_overlap_makes_checkerboards_at_initialisation():
    z = tf.random.stateless_normal((64, 32), seed=(0, 0))
    score = {}
    for kind in ("convtranspose3", "pixel_shuffle", "resize_conv"):
        keras.utils.set_random_seed(0)
        score[kind] = metrics.nyquist_share(build_generator(32, kind, 32)(z, training=True).numpy())
    assert score["convtranspose3"] > 2 * score["pixel_shuffle"]
    assert score["convtranspose3"] > 2 * score["resize_conv"]


# --------------------------------------------------------------------------- training

@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras_smoke")
    cfg = smoke_cfg()
    samples, info = train(cfg, out, progress=False)
    return cfg, out, samples, info


def test_smoke_training_gives_digits_of_the_right_shape_and_finite_losses(smoke_run):
    cfg, out, samples, info = smoke_run
    outputs.check_samples(samples, cfg.n_samples)
    outputs.check_losses(info["losses"])
    assert samples.max() > samples.min()
    assert info["steps"] == cfg.steps and info["images_per_s"] > 0 and info["wall_s"] > 0
    assert "CPU" in info["device"] or "GPU" in info["device"]
    assert info["history"]["step"] == list(range(cfg.log_every, cfg.steps + 1, cfg.log_every))
    assert (out / CHECKPOINT_FILE).is_file()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_ema_generator_averages_and_decay_zero_copies(smoke_run, tmp_path):
    _, out, _, _ = smoke_run
    state = read_checkpoint(out / CHECKPOINT_FILE)
    g = [k for k in state if k.startswith("g/")]
    assert any(not np.array_equal(state[k], state["ema/" + k[2:]]) for k in g)
    train(smoke_cfg(ema_decay=0.0, steps=2, checkpoint_every=2), tmp_path, progress=False)
    state = read_checkpoint(tmp_path / CHECKPOINT_FILE)
    for k in (k for k in state if k.startswith("g/")):
        np.testing.assert_array_equal(state[k], state["ema/" + k[2:]])


def test_resume_after_an_interruption_equals_an_uninterrupted_run(smoke_run, tmp_path):
    cfg, out, samples, _ = smoke_run
    assert cfg.checkpoint_every == 6 and cfg.steps == 12 and cfg.log_every == 4

    def stop_at_8(step, *, loss_d, loss_g):
        if step == 8:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg, tmp_path, progress=False, on_log=stop_at_8)
    with np.load(tmp_path / CHECKPOINT_FILE) as archive:
        assert b'"step": 6' in archive["meta"].tobytes()  # the last checkpoint before the interruption
    resumed, info = train(cfg, tmp_path, resume=True, progress=False)
    assert info["resumed_from"] == 6 and info["steps"] == 12
    np.testing.assert_array_equal(resumed, samples)
    a, b = read_checkpoint(out / CHECKPOINT_FILE), read_checkpoint(tmp_path / CHECKPOINT_FILE)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # resuming a finished run trains nothing and gives the same digits again
    again, info = train(cfg, tmp_path, resume=True, progress=False)
    assert info["resumed_from"] == 12
    np.testing.assert_array_equal(again, samples)


def test_unreadable_or_foreign_checkpoints_raise_checkpoint_error(smoke_run, tmp_path):
    cfg, out, _, _ = smoke_run
    (tmp_path / CHECKPOINT_FILE).write_bytes((out / CHECKPOINT_FILE).read_bytes()[:1000])  # truncated
    with pytest.raises(gan.CheckpointError, match="cannot read the checkpoint"):
        train(cfg, tmp_path, resume=True, progress=False)
    (tmp_path / CHECKPOINT_FILE).write_bytes((out / CHECKPOINT_FILE).read_bytes())
    with pytest.raises(gan.CheckpointError, match="different configuration.*upsample"):
        train(smoke_cfg(upsample="resize_conv"), tmp_path, resume=True, progress=False)
    with pytest.raises(gan.CheckpointError, match="already trained 12 steps, more than the 8 asked for"):
        train(smoke_cfg(steps=8), tmp_path, resume=True, progress=False)


def test_cli_exits_2_with_a_message_for_an_unreadable_checkpoint(tmp_path, capsys):
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    status = cli.main(["--framework", "keras", "--profile", "smoke", "--out", str(tmp_path), "--resume"])
    assert status == 2
    assert "cannot read the checkpoint" in capsys.readouterr().err


def test_cli_smoke_run_writes_judged_outputs(tmp_path):
    import json

    out = tmp_path / "run"
    status = cli.main(["--framework", "keras", "--profile", "smoke", "--out", str(out), "--samples", "300"])
    assert status == 0
    samples = np.load(out / "samples.npy")
    outputs.check_samples(samples, 300)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 300 and metrics["steps"] == gan.config_for("keras", "smoke").steps
    assert metrics["config"]["framework"] == "keras"
    for key in ("fid", "inception_score", "coverage", "confident", "fid_ratio"):
        assert np.isfinite(metrics[key]), key
    assert 1.0 <= metrics["inception_score"] <= 10.0 and metrics["real"]["inception_score"] > 9.0
    assert (out / "grid.png").stat().st_size > 0 and (out / CHECKPOINT_FILE).is_file()


def test_batchnorm_recalibration_averages_the_ema_generators_own_statistics():
    from helpers.gan.train_keras import _KerasRun

    run = _KerasRun(smoke_cfg())
    bn = run.ema.get_layer("bn_7")
    before = keras.Model(run.ema.input, bn.input)
    cfg = run.cfg
    # BN over (batch, 7, 7): its statistics are per channel, over the batch and both spatial axes
    batch_means = [before(tf.random.stateless_normal((64, cfg.latent_dim), seed=(cfg.seed + 2, k))).numpy()
                   .mean(axis=(0, 1, 2)) for k in (1, 2, 3)]
    assert not np.allclose(bn.moving_mean.numpy(), np.mean(batch_means, axis=0), atol=1e-6)
    run.recalibrate_batchnorm(batches=3, batch_size=64)
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean(batch_means, axis=0), rtol=1e-4, atol=1e-6)
    assert bn.momentum == pytest.approx(0.9)  # restored


def test_alternating_update_trains_d_before_g(tmp_path):
    # (with XLA, as the cpu and gpu profiles train)
    cfg = smoke_cfg(steps=2, checkpoint_every=2, log_every=1,
                    extra={"threads": 1, "update": "alternating", "jit_compile": True})
    samples, info = train(cfg, tmp_path / "alt", progress=False)
    outputs.check_losses(info["losses"])
    outputs.check_samples(samples, cfg.n_samples)
    assert "XLA" in info["device"]
    simultaneous, _ = train(smoke_cfg(steps=2, checkpoint_every=2, log_every=1,
                                      extra={"threads": 1, "jit_compile": True}),
                            tmp_path / "sim", progress=False)
    assert not np.array_equal(samples, simultaneous)  # G learned from a different D


def test_refine_and_hidden_add_the_documented_layers():
    """refine adds 3×3 conv + BN blocks at 7×7 to G, hidden a dense + BN layer before D's logit."""
    w, h = 16, 24
    trainable = lambda m: sum(int(np.prod(v.shape)) for v in m.trainable_weights)  # noqa: E731
    g0, g = build_generator(8, "convtranspose", w), build_generator(8, "convtranspose", w, refine=2)
    assert trainable(g) - trainable(g0) == 2 * (w * w * 9 + 2 * w)
    assert g.get_layer("refine_1").output.shape[1:] == (7, 7, w)
    d0, d = build_discriminator(8), build_discriminator(8, hidden=h)
    assert trainable(d) - trainable(d0) == (16 * 49 * h + 2 * h + h + 1) - (16 * 49 + 1)
    assert d(g(np.zeros((3, 8), "float32"), training=False)).shape == (3, 1)


def test_hidden_adds_a_dense_layer_before_the_generators_projection():
    w, h, latent = 16, 40, 8
    trainable = lambda m: sum(int(np.prod(v.shape)) for v in m.trainable_weights)  # noqa: E731
    plain, g = build_generator(latent, "convtranspose", w), build_generator(latent, "convtranspose", w, hidden=h)
    assert trainable(g) - trainable(plain) == latent * h + 2 * h + (h - latent) * 49 * w
    assert g.get_layer("project").input.shape[1:] == (h,)
    assert g(np.zeros((3, latent), "float32"), training=False).shape == (3, 28, 28, 1)


def test_a_version_1_checkpoint_is_still_resumed(smoke_run, tmp_path):
    """Version 1 kept the loss log as ``[[step, {"d", "g"}], …]`` under ``"format": 1``."""
    cfg, out, samples, info = smoke_run
    with np.load(out / CHECKPOINT_FILE) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays["meta"].tobytes())
    history = meta.pop("history")
    meta.pop("version"), meta.pop("trained_s")
    meta["format"] = 1
    meta["history"] = [[s, {"d": d, "g": g}] for s, d, g in zip(*history.values(), strict=True)]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(tmp_path / CHECKPOINT_FILE, **arrays)
    again, resumed = train(cfg, tmp_path, resume=True, progress=False)
    assert resumed["resumed_from"] == cfg.steps and resumed["history"] == info["history"]
    np.testing.assert_array_equal(again, samples)


# --------------------------------------------------------------------------- recipe options: loss, R1, SN, mbstd

def test_hinge_losses_and_the_r1_penalty_have_their_textbook_values():
    real, fake = np.array([[2.0], [-1.0]], "float32"), np.array([[0.5], [-3.0]], "float32")
    assert float(discriminator_loss(real, fake, loss="hinge")) == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert float(generator_loss(fake, loss="hinge")) == pytest.approx(1.25)
    image = keras.Input((28, 28, 1))
    linear = keras.Model(image, keras.layers.Dense(1, name="w")(keras.layers.Flatten()(image)))
    w = np.linspace(-0.01, 0.01, 784, dtype="float32")
    linear.get_layer("w").set_weights([w[:, None], np.array([0.3], "float32")])
    x = tf.random.stateless_uniform((5, 28, 28, 1), seed=(1, 2))
    logits, penalty = r1_penalty(linear, x, 10.0)  # D linear: ∇ₓD = w for every image
    assert float(penalty) == pytest.approx(5.0 * float(np.sum(w.astype("float64") ** 2)), rel=1e-5)
    np.testing.assert_allclose(logits.numpy()[:, 0], x.numpy().reshape(5, -1) @ w + 0.3, rtol=1e-5)


def test_minibatch_std_appends_the_batch_spread():
    x = np.zeros((2, 7, 7, 3), "float32")
    x[1] = 4.0  # every feature: values 0 and 4, standard deviation 2
    out = MinibatchStd()(x).numpy()
    assert out.shape == (2, 7, 7, 4)
    np.testing.assert_allclose(out[..., :3], x)
    np.testing.assert_allclose(out[..., 3], 2.0, rtol=1e-6)


def test_spectral_norm_and_mbstd_build_the_documented_discriminator():
    d = build_discriminator(8, hidden=16, spectral_norm=True, mbstd=True)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in d.layers)
    wrapped = [layer for layer in d.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 4
    assert d.get_layer("mbstd").output.shape[1:] == (7, 7, 17)
    x = tf.random.stateless_normal((4, 28, 28, 1), seed=(0, 1))
    for _ in range(30):  # one power iteration per training call
        d(x, training=True)
    for layer in wrapped:  # Keras divides the kernel itself by its largest singular value at each training call
        kernel = layer.layer.kernel.numpy()
        assert np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), ord=2) == pytest.approx(1.0, abs=0.05)
    assert d(x, training=False).shape == (4, 1)


@pytest.mark.parametrize("options", [dict(loss="hinge", d_spectral_norm=True), dict(d_mbstd=True, r1_gamma=1.0)])
def test_recipe_options_train(options, tmp_path):
    cfg = smoke_cfg(steps=2, checkpoint_every=2, log_every=1, **options)
    samples, info = train(cfg, tmp_path / "run", progress=False)
    outputs.check_losses(info["losses"])
    outputs.check_samples(samples, cfg.n_samples)
    plain, _ = train(smoke_cfg(steps=2, checkpoint_every=2, log_every=1), tmp_path / "plain", progress=False)
    assert not np.array_equal(samples, plain)  # the options changed what G learned
