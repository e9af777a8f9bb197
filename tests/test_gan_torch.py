"""The PyTorch DCGAN: shapes and ranges for every upsampling kind, the DCGAN/ICNR initialisation,
the checkerboard at initialisation, one training step, EMA, BatchNorm recalibration and the
CUDA speed-up code path (mixed precision, channels-last, data on the device) run on the CPU."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers import gan, gan_torch

torch.set_num_threads(1)  # tiny tensors: one thread is faster, and far faster on a busy machine


def smoke_cfg(**overrides):
    return gan.config_for("torch", "smoke", **overrides)


@pytest.mark.parametrize("kind", gan.UPSAMPLE_KINDS)
def test_shapes_and_ranges(kind):
    g, d = gan_torch.build_models(smoke_cfg(upsample=kind))
    z = torch.randn(5, g.latent_dim)
    x = g(z)
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1.0
    assert d(x).shape == (5,)
    block = gan_torch.upsample_block(kind, 8, 4)
    assert block(torch.randn(2, 8, 7, 7)).shape == (2, 4, 14, 14)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="upsample must be one of"):
        gan_torch.upsample_block("bicubic", 4, 4)
    with pytest.raises(ValueError, match="upsample must be one of"):
        smoke_cfg(upsample="bicubic")


def test_init_is_seeded_and_follows_dcgan():
    g1, d1 = gan_torch.build_models(smoke_cfg(seed=3))
    g2, _ = gan_torch.build_models(smoke_cfg(seed=3))
    g3, _ = gan_torch.build_models(smoke_cfg(seed=4))
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g2.state_dict().values()))
    assert not torch.equal(g1.project[0].weight, g3.project[0].weight)
    conv = d1.net[2].weight
    assert abs(conv.std().item() - 0.02) < 0.003 and abs(conv.mean().item()) < 0.002


def test_icnr_makes_pixel_shuffle_start_as_nearest_upsampling():
    torch.manual_seed(0)
    block = gan_torch.PixelShuffleUp(6, 3)
    block.reset_icnr()
    y = block(torch.randn(2, 6, 5, 5)).detach()
    # each 2×2 output block holds one value repeated: nearest-neighbour upsampling of a conv
    np.testing.assert_allclose(y, y[:, :, ::2, ::2].repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-6)
    assert not torch.allclose(y[:, :, ::2, ::2], torch.zeros(()))


def test_checkerboard_at_initialisation():
    """Fact 10 of the course: k3 s2 transposed convs show the checkerboard before any training;
    resize-conv and ICNR pixel shuffle do not."""
    score = {}
    for kind in gan.UPSAMPLE_KINDS:
        values = []
        for seed in range(3):
            g, _ = gan_torch.build_models(gan.config_for("torch", "cpu", kind, seed=seed))
            g.eval()
            with torch.no_grad():
                values.append(gan.checkerboard_score(g(torch.randn(64, g.latent_dim)).numpy()))
        score[kind] = np.mean(values)
    assert score["convtranspose3"] > 2 * score["resize_conv"]
    assert score["convtranspose3"] > 2 * score["pixel_shuffle"]


def test_train_step_updates_both_networks():
    cfg = smoke_cfg()
    g, d = gan_torch.build_models(cfg)
    opt_g = torch.optim.Adam(g.parameters(), 1e-3)
    opt_d = torch.optim.Adam(d.parameters(), 1e-3)
    g0, d0 = [p.clone() for p in g.parameters()], [p.clone() for p in d.parameters()]
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    loss_d, loss_g = gan_torch.train_step(g, d, opt_g, opt_d, real, torch.randn(8, cfg.latent_dim))
    assert loss_d.ndim == 0 and torch.isfinite(loss_d) and torch.isfinite(loss_g)
    assert 2 * np.log(2) * 0.5 < loss_d.item() < 2 * np.log(2) * 2  # near chance at initialisation
    assert all(not torch.equal(a, b) for a, b in zip(g0, g.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, d.parameters()))


def test_ema_update():
    model, ema = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        model.weight.fill_(2.0)
        ema.weight.fill_(1.0)
        model.running_mean.fill_(5.0)
    gan_torch.ema_update(ema, model, 0.9)
    np.testing.assert_allclose(ema.weight.detach(), 1.1, rtol=1e-6)
    np.testing.assert_allclose(ema.running_mean, 5.0)  # buffers are copied
    gan_torch.ema_update(ema, model, 0.0)
    np.testing.assert_allclose(ema.weight.detach(), 2.0)


def test_recalibrate_batchnorm_measures_the_generator_itself():
    g, _ = gan_torch.build_models(smoke_cfg())
    bn = g.up1[1]
    assert torch.all(bn.running_var == 1)  # fresh statistics
    gan_torch.recalibrate_batchnorm(g, g.latent_dim, torch.Generator().manual_seed(0), batches=3, batch_size=16)
    assert not g.training and not torch.all(bn.running_var == 1) and bn.momentum == 0.1
    samples = gan_torch.generate(g, 10, g.latent_dim, seed=1)
    assert samples.shape == (10, 28, 28) and samples.dtype == np.uint8
    np.testing.assert_array_equal(samples, gan_torch.generate(g, 10, g.latent_dim, seed=1))


def test_speedup_switches_default_off_on_cpu_and_on_for_cuda():
    cfg = smoke_cfg()
    assert gan_torch.speedups(cfg, torch.device("cpu")) == {
        "amp": False, "channels_last": False, "data_on_device": False, "compile": False}
    cuda = gan_torch.speedups(cfg, torch.device("cuda"))
    assert cuda["amp"] and cuda["channels_last"] and cuda["data_on_device"]
    assert gan_torch.speedups(smoke_cfg(extra={"amp": True}), torch.device("cpu"))["amp"]


def test_cuda_code_path_runs_on_cpu(tmp_path):
    """Mixed precision (bfloat16 autocast on the CPU), channels-last and data-on-device: the same
    code the CUDA path runs, exercised here without a GPU."""
    cfg = smoke_cfg(steps=4, extra={"threads": 1, "amp": True, "channels_last": True, "data_on_device": True})
    samples, info = gan_torch.train(cfg, tmp_path, device="cpu", progress=False)
    assert info["speedups"] == {"amp": True, "channels_last": True, "data_on_device": True, "compile": False}
    assert samples.shape == (cfg.samples, 28, 28) and samples.dtype == np.uint8
    assert np.isfinite(info["losses"]["d"]) and np.isfinite(info["losses"]["g"])
    assert info["steps"] == 4 and info["images_per_s"] > 0 and info["device"].startswith("cpu")


def test_callbacks_see_logs_and_epochs(tmp_path):
    cfg = smoke_cfg(steps=32, n_train=256, log_every=8)  # 8 steps an epoch
    logs, epochs = [], []
    gan_torch.train(cfg, tmp_path, progress=False, on_log=lambda step, **v: logs.append((step, v)),
                    on_epoch=lambda step, g: epochs.append((step, g(torch.randn(2, cfg.latent_dim)).shape)))
    assert [s for s, _ in logs] == [8, 16, 24, 32] and set(logs[0][1]) == {"loss_d", "loss_g"}
    assert epochs == [(s, (2, 1, 28, 28)) for s in (8, 16, 24, 32)]


def test_time_steps_reports_consistent_speeds():
    t = gan_torch.time_steps(smoke_cfg(), "cpu", steps=2, warmup=1, channels_last=True)
    assert t["images_per_s"] > 0
    assert t["ms_per_step"] == pytest.approx(1000 * smoke_cfg().batch_size / t["images_per_s"])
    assert t["s_per_epoch"] == pytest.approx(60_000 / t["images_per_s"])


def test_refine_and_hidden_add_the_documented_layers():
    """g_refine adds 3×3 conv + BN blocks at 7×7 to G, d_hidden a dense + BN layer before D's logit."""
    w, h = 16, 24
    plain_g, plain_d = gan_torch.build_models(smoke_cfg(g_width=w, d_width=8, g_refine=0, d_hidden=0))
    g, d = gan_torch.build_models(smoke_cfg(g_width=w, d_width=8, g_refine=2, d_hidden=h))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(g) - count(plain_g) == 2 * (w * w * 9 + 2 * w)  # conv without bias, BN scale and shift
    assert count(d) - count(plain_d) == (16 * 49 * h + 2 * h + h + 1) - (16 * 49 + 1)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in d.modules()) == 1
    x = g(torch.randn(4, g.latent_dim))
    assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)
    with pytest.raises(ValueError, match="g_refine must be 0 or more"):
        smoke_cfg(g_refine=-1)
