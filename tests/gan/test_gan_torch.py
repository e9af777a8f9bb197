"""The PyTorch DCGAN: shapes and ranges for every upsampling kind, the DCGAN/ICNR initialisation,
the checkerboard at initialisation, one training step, EMA, BatchNorm recalibration, the
CUDA speed-up code path (mixed precision, channels-last, data on the device) run on the CPU,
the precision each device gets (CUDA cards faked), and torch.compile's default and its fallback."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from helpers import gan, metrics, torch_utils
from helpers.gan import outputs, train_torch

torch.set_num_threads(1)  # tiny tensors: one thread is faster, and far faster on a busy machine


def smoke_cfg(**overrides):
    return gan.config_for("torch", "smoke", **overrides)


@pytest.mark.parametrize("kind", gan.UPSAMPLE_KINDS)
def test_shapes_and_ranges(kind):
    g, d = train_torch.build_models(smoke_cfg(upsample=kind))
    z = torch.randn(5, g.latent_dim)
    x = g(z)
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1.0
    assert d(x).shape == (5,)
    block = train_torch.upsample_block(kind, 8, 4)
    assert block(torch.randn(2, 8, 7, 7)).shape == (2, 4, 14, 14)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="upsample must be one of"):
        train_torch.upsample_block("bicubic", 4, 4)
    with pytest.raises(ValueError, match="upsample must be one of"):
        smoke_cfg(upsample="bicubic")


def test_init_is_seeded_and_follows_dcgan():
    g1, d1 = train_torch.build_models(smoke_cfg(seed=3))
    g2, _ = train_torch.build_models(smoke_cfg(seed=3))
    g3, _ = train_torch.build_models(smoke_cfg(seed=4))
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g2.state_dict().values()))
    assert not torch.equal(g1.project[0].weight, g3.project[0].weight)
    conv = d1.net[2].weight
    assert abs(conv.std().item() - 0.02) < 0.003 and abs(conv.mean().item()) < 0.002


def test_icnr_makes_pixel_shuffle_start_as_nearest_upsampling():
    torch.manual_seed(0)
    block = train_torch.PixelShuffleUp(6, 3)
    block.reset_icnr()
    y = block(torch.randn(2, 6, 5, 5)).detach()
    # each 2×2 output block holds one value repeated: nearest-neighbour upsampling of a conv
    np.testing.assert_allclose(y, y[:, :, ::2, ::2].repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-6)
    assert not torch.allclose(y[:, :, ::2, ::2], torch.zeros(()))


def test_checkerboard_at_initialisation():
    """docs/design.md, F10: k3 s2 and k4 s2 transposed convs show the checkerboard before any training;
    resize-conv and ICNR pixel shuffle do not."""
    score = {}
    for kind in gan.UPSAMPLE_KINDS:
        values = []
        for seed in range(3):
            g, _ = train_torch.build_models(gan.config_for("torch", "cpu", kind, seed=seed))
            g.eval()
            with torch.no_grad():
                values.append(metrics.nyquist_share(g(torch.randn(64, g.latent_dim)).numpy()))
        score[kind] = np.mean(values)
    for striped in ("convtranspose", "convtranspose3"):  # k4 s2 too: its four output phases have different sub-kernels
        assert score[striped] > 2 * score["resize_conv"]
        assert score[striped] > 2 * score["pixel_shuffle"]


def test_train_step_updates_both_networks():
    cfg = smoke_cfg()
    g, d = train_torch.build_models(cfg)
    opt_g = torch.optim.Adam(g.parameters(), 1e-3)
    opt_d = torch.optim.Adam(d.parameters(), 1e-3)
    g0, d0 = [p.clone() for p in g.parameters()], [p.clone() for p in d.parameters()]
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    loss_d, loss_g = train_torch.train_step(g, d, opt_g, opt_d, real, torch.randn(8, cfg.latent_dim))
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
    train_torch.ema_update(ema, model, 0.9)
    np.testing.assert_allclose(ema.weight.detach(), 1.1, rtol=1e-6)
    np.testing.assert_allclose(ema.running_mean, 5.0)  # buffers are copied
    train_torch.ema_update(ema, model, 0.0)
    np.testing.assert_allclose(ema.weight.detach(), 2.0)


def test_recalibrate_batchnorm_measures_the_generator_itself():
    g, _ = train_torch.build_models(smoke_cfg())
    bn = g.up1[1]
    assert torch.all(bn.running_var == 1)  # fresh statistics
    train_torch.recalibrate_batchnorm(g, g.latent_dim, torch.Generator().manual_seed(0), batches=3, batch_size=16)
    assert not g.training and not torch.all(bn.running_var == 1) and bn.momentum == 0.1
    samples = train_torch.generate(g, 10, g.latent_dim, seed=1)
    assert samples.shape == (10, 28, 28) and samples.dtype == np.uint8
    np.testing.assert_array_equal(samples, train_torch.generate(g, 10, g.latent_dim, seed=1))


def test_speedup_switches_default_off_on_cpu_and_on_for_cuda():
    cfg = smoke_cfg()
    assert train_torch.speedups(cfg, torch.device("cpu")) == {
        "amp": False, "channels_last": False, "data_on_device": False, "compile": False}
    cuda = train_torch.speedups(cfg, torch.device("cuda"))
    assert cuda["amp"] and cuda["channels_last"] and cuda["data_on_device"]
    assert train_torch.speedups(smoke_cfg(extra={"amp": True}), torch.device("cpu"))["amp"]


def test_cuda_code_path_runs_on_cpu(tmp_path):
    """Mixed precision (bfloat16 autocast on the CPU), channels-last and data-on-device: the same
    code the CUDA path runs, exercised here without a GPU."""
    cfg = smoke_cfg(steps=4, extra={"threads": 1, "amp": True, "channels_last": True, "data_on_device": True})
    samples, info = train_torch.train(cfg, tmp_path, device="cpu", progress=False)
    assert info["speedups"] == {"amp": True, "channels_last": True, "data_on_device": True, "compile": False}
    assert samples.shape == (cfg.n_samples, 28, 28) and samples.dtype == np.uint8
    assert np.isfinite(info["losses"]["d"]) and np.isfinite(info["losses"]["g"])
    assert info["steps"] == 4 and info["images_per_s"] > 0 and info["device"].startswith("cpu")


def test_callbacks_see_logs_and_epochs(tmp_path):
    cfg = smoke_cfg(steps=32, n_train=256, log_every=8)  # 8 steps an epoch
    logs, epochs = [], []
    train_torch.train(cfg, tmp_path, progress=False, on_log=lambda step, **v: logs.append((step, v)),
                    on_epoch=lambda step, g: epochs.append((step, g(torch.randn(2, cfg.latent_dim)).shape)))
    assert [s for s, _ in logs] == [8, 16, 24, 32] and set(logs[0][1]) == {"loss_d", "loss_g"}
    assert epochs == [(s, (2, 1, 28, 28)) for s in (8, 16, 24, 32)]


def test_time_steps_reports_consistent_speeds():
    t = train_torch.time_steps(smoke_cfg(), "cpu", steps=2, warmup=1, channels_last=True)
    assert t["images_per_s"] > 0
    assert t["ms_per_step"] == pytest.approx(1000 * smoke_cfg().batch_size / t["images_per_s"])
    assert t["s_per_epoch"] == pytest.approx(60_000 / t["images_per_s"])


def test_refine_and_hidden_add_the_documented_layers():
    """g_refine adds 3×3 conv + BN blocks at 7×7 to G, d_hidden a dense + BN layer before D's logit."""
    w, h = 16, 24
    plain_g, plain_d = train_torch.build_models(smoke_cfg(g_width=w, d_width=8, g_refine=0, d_hidden=0))
    g, d = train_torch.build_models(smoke_cfg(g_width=w, d_width=8, g_refine=2, d_hidden=h))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(g) - count(plain_g) == 2 * (w * w * 9 + 2 * w)  # conv without bias, BN scale and shift
    assert count(d) - count(plain_d) == (16 * 49 * h + 2 * h + h + 1) - (16 * 49 + 1)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in d.modules()) == 1
    x = g(torch.randn(4, g.latent_dim))
    assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)
    with pytest.raises(ValueError, match="g_refine must be 0 or more"):
        smoke_cfg(g_refine=-1)


def test_g_hidden_adds_a_dense_layer_before_the_projection():
    """g_hidden: z → dense (no bias) → BN → ReLU → the 7×7 projection, as in the DCGAN authors' MNIST G."""
    w, h, latent = 16, 40, 8
    plain, _ = train_torch.build_models(smoke_cfg(g_width=w, latent_dim=latent, g_hidden=0))
    g, _ = train_torch.build_models(smoke_cfg(g_width=w, latent_dim=latent, g_hidden=h))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(g) - count(plain) == latent * h + 2 * h + (h - latent) * 49 * w
    assert isinstance(g.project[1], nn.BatchNorm1d) and g.project[3].in_features == h
    assert [k for k in plain.state_dict() if k.startswith("project.")][0] == "project.0.weight"
    assert g(torch.randn(4, latent)).shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="g_hidden must be 0 or more"):
        smoke_cfg(g_hidden=-1)


# --------------------------------------------------------------------------- mixed precision per device

@pytest.fixture
def fake_cuda(monkeypatch):
    """A CUDA card of the given compute capability, as far as the precision choice can tell. Like a real
    T4, it claims bfloat16 support through ``is_bf16_supported()`` (which counts emulation)."""
    def install(capability):
        monkeypatch.setattr(torch.version, "hip", None)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
        monkeypatch.setattr(torch.cuda, "get_device_name",
                            lambda device=None: f"Fake sm_{capability[0]}{capability[1]}")

        class Properties:
            total_memory = 16 * 2**30

        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: Properties())
    return install


@pytest.mark.parametrize("card, capability, dtype, grad_scaler", [
    ("T4", (7, 5), torch.float16, True),      # bfloat16 only emulated: float16 and loss scaling
    ("V100", (7, 0), torch.float16, True),
    ("A100", (8, 0), torch.bfloat16, False),
    ("RTX 4090", (8, 9), torch.bfloat16, False),
    ("H100", (9, 0), torch.bfloat16, False),
])
def test_cuda_precision_follows_native_bfloat16(fake_cuda, card, capability, dtype, grad_scaler):
    fake_cuda(capability)
    chosen = torch_utils.mixed_precision("cuda")
    assert (chosen.dtype, chosen.grad_scaler) == (dtype, grad_scaler), card
    assert str(chosen) == ("float16 + GradScaler" if grad_scaler else "bfloat16")
    assert f"{capability[0]}.{capability[1]}" in chosen.reason


def test_mps_and_cpu_precision(monkeypatch):
    mps = torch_utils.mixed_precision("mps")
    assert (mps.dtype, mps.grad_scaler) == (torch.float16, True)  # this PyTorch has GradScaler("mps")
    assert torch.amp.GradScaler("mps").is_enabled()
    monkeypatch.setattr(torch_utils, "_torch_version", lambda: (2, 7))
    old = torch_utils.mixed_precision("mps")
    assert old.dtype is None and not old.grad_scaler and "2.8" in old.reason
    cpu = torch_utils.mixed_precision(torch.device("cpu"))
    assert (cpu.dtype, cpu.grad_scaler, str(cpu)) == (torch.bfloat16, False, "bfloat16")
    off = train_torch.precision(torch.device("cuda"), amp=False)
    assert off.dtype is None and str(off) == "float32 (no autocast)"


def test_autocast_factory_builds_what_the_precision_says(fake_cuda):
    assert train_torch._autocast_factory(torch.device("cpu"), False) == (None, None)
    autocast, scaler = train_torch._autocast_factory(torch.device("cpu"), True)
    assert scaler is None
    with autocast():
        assert nn.Linear(3, 2)(torch.randn(4, 3)).dtype == torch.bfloat16
    autocast, scaler = train_torch._autocast_factory(torch.device("mps"), True)
    assert isinstance(scaler, torch.amp.GradScaler) and autocast is not None

    fake_cuda((7, 5))  # a T4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no real CUDA here: GradScaler("cuda") and autocast("cuda") disable themselves
        autocast, scaler = train_torch._autocast_factory(torch.device("cuda"), True)
        context = autocast()
    assert isinstance(scaler, torch.amp.GradScaler)
    assert context.device == "cuda" and context.fast_dtype == torch.float16
    fake_cuda((8, 0))  # an A100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        autocast, scaler = train_torch._autocast_factory(torch.device("cuda"), True)
        context = autocast()
    assert scaler is None and context.fast_dtype == torch.bfloat16


def test_float16_with_a_gradient_scaler_trains():
    """The T4 path's arithmetic (float16 autocast, scaled losses), run on the CPU."""
    cfg = smoke_cfg()
    g, d = train_torch.build_models(cfg)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(d.parameters(), 1e-3)
    g0 = [p.clone() for p in g.parameters()]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    loss_d, loss_g = train_torch.train_step(g, d, opt_g, opt_d, torch.rand(8, 1, 28, 28) * 2 - 1,
                                          torch.randn(8, cfg.latent_dim), scaler=scaler,
                                          autocast=lambda: torch.autocast("cpu", dtype=torch.float16))
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    assert scaler.get_scale() == 2.0**10  # no overflow, so no step was skipped
    assert all(not torch.equal(a, b) for a, b in zip(g0, g.parameters()))
    assert all(p.dtype == torch.float32 for p in g.parameters())  # the weights stay float32


def test_describe_names_the_device_and_its_precision(fake_cuda):
    assert "mixed precision: bfloat16" in torch_utils.describe(torch.device("cpu"))
    fake_cuda((7, 5))
    line = torch_utils.describe(torch.device("cuda"))
    assert "Fake sm_75 (16 GiB, compute capability 7.5; mixed precision: float16 + GradScaler)" in line
    assert "\n" not in line


# --------------------------------------------------------------------------- torch.compile

def test_compile_only_when_asked_for():
    """Measured slower than eager on an H200 for this model (docs/gan_results.md), so no profile compiles
    by default; ``extra`` switches it on anywhere, and the other speed-ups stay CUDA's defaults."""
    gpu = gan.config_for("torch", "gpu")
    for device in ("cuda", "cpu", "mps"):
        assert train_torch.speedups(gpu, torch.device(device))["compile"] is False
    assert train_torch.speedups(gpu, torch.device("cuda")) == {
        "amp": True, "channels_last": True, "data_on_device": True, "compile": False}
    asked = gan.config_for("torch", "gpu", extra={"compile": True})
    assert train_torch.speedups(asked, torch.device("cuda"))["compile"] is True
    assert train_torch.speedups(smoke_cfg(extra={"compile": True}), torch.device("cpu"))["compile"] is True


class CompilerMissing(RuntimeError):
    pass


def failing_compile(fail_on_call: int | None = None, fail_building: bool = False):
    """A stand-in for torch.compile whose compiled modules raise as a missing compiler would, lazily:
    at their ``fail_on_call``-th call counted over all of them (a traceback-sized, multi-line message)."""
    calls = []

    def compile_(module, *args, **kwargs):
        if fail_building:
            raise CompilerMissing("Dynamo is not supported here\nlong explanation")

        class Compiled(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = module

            def forward(self, *a):
                calls.append(type(module).__name__)
                if fail_on_call is not None and len(calls) >= fail_on_call:
                    raise CompilerMissing("Cannot find a working triton installation\nMore information: ...")
                return module(*a)

        return Compiled()

    return compile_, calls


def run_training(tmp_path, name, **extra):
    cfg = smoke_cfg(steps=6, n_samples=64, extra={"threads": 1, **extra})
    return train_torch.train(cfg, tmp_path / name, device="cpu", progress=False)


@pytest.mark.parametrize("fail_on_call, fail_building", [(1, False), (3, False), (None, True)])
def test_failing_torch_compile_falls_back_to_eager_with_one_line(tmp_path, monkeypatch, capsys, fail_on_call,
                                                                fail_building):
    """Call 1 is G's first forward (nothing updated yet); call 3 is D's in G's half of the step, after D's
    optimizer has stepped: the step is undone and rerun eagerly, so the run equals one without compile."""
    eager_samples, eager_info = run_training(tmp_path, "eager")
    capsys.readouterr()
    compile_, calls = failing_compile(fail_on_call, fail_building)
    monkeypatch.setattr(torch, "compile", compile_)
    samples, info = run_training(tmp_path, "compiled", compile=True)
    out = capsys.readouterr().out
    failure = [line for line in out.splitlines() if "torch.compile" in line]
    expected = ("CompilerMissing: Dynamo is not supported here" if fail_building
                else "CompilerMissing: Cannot find a working triton installation")
    assert failure == [f"torch.compile failed ({expected}); training without it"]
    assert "Traceback" not in out
    assert len(calls) == (fail_on_call or 0)  # after the failure the compiled modules are never called again
    assert info["speedups"]["compile"] is False and info["compile_error"] == expected
    np.testing.assert_array_equal(samples, eager_samples)
    assert info["history"] == eager_info["history"]
    a = train_torch.load_checkpoint(tmp_path / "eager" / train_torch.CHECKPOINT_FILE)
    b = train_torch.load_checkpoint(tmp_path / "compiled" / train_torch.CHECKPOINT_FILE)
    for part in ("g", "d", "g_ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), f"{part}.{key}"
    for key, value in a["opt_d"]["state"].items():
        assert torch.equal(value["exp_avg"], b["opt_d"]["state"][key]["exp_avg"])
        assert torch.equal(value["step"], b["opt_d"]["state"][key]["step"])  # D stepped once per step, not twice


def test_compiled_step_restores_the_gradient_scaler_too(monkeypatch, capsys):
    """A failure after D's scaled step (call 3) must not leave the scaler mid-step: the eager rerun
    would refuse a second ``scaler.step`` on D's optimizer."""
    cfg = smoke_cfg()

    def parts():
        g, d = train_torch.build_models(cfg)
        return g, d, torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(d.parameters(), 1e-3)

    real, z = torch.rand(8, 1, 28, 28) * 2 - 1, torch.randn(8, cfg.latent_dim)
    half = dict(autocast=lambda: torch.autocast("cpu", dtype=torch.float16))
    g1, d1, og1, od1 = parts()
    eager = train_torch.CompiledStep(g1, d1, og1, od1, compile=False, scaler=torch.amp.GradScaler("cpu"))
    expected = [eager(real, z, **half) for _ in range(2)]
    compile_, _ = failing_compile(fail_on_call=3)
    monkeypatch.setattr(torch, "compile", compile_)
    g2, d2, og2, od2 = parts()
    step = train_torch.CompiledStep(g2, d2, og2, od2, compile=True, scaler=torch.amp.GradScaler("cpu"))
    assert step.compiled
    got = [step(real, z, **half) for _ in range(2)]
    assert not step.compiled and "torch.compile failed" in capsys.readouterr().out
    assert [tuple(map(float, pair)) for pair in got] == [tuple(map(float, pair)) for pair in expected]
    assert all(torch.equal(a, b) for a, b in zip(d1.state_dict().values(), d2.state_dict().values()))
    assert step.scaler.state_dict() == eager.scaler.state_dict()


def test_working_compile_is_used_for_every_step(tmp_path, monkeypatch, capsys):
    compile_, calls = failing_compile(fail_on_call=None)
    monkeypatch.setattr(torch, "compile", compile_)
    _, info = run_training(tmp_path, "compiled", compile=True)
    assert info["speedups"]["compile"] is True and "compile_error" not in info
    assert len(calls) == 6 * 4  # per step: G once, D three times
    assert "torch.compile failed" not in capsys.readouterr().out


def test_time_steps_reports_a_compile_fallback(monkeypatch, capsys):
    compile_, _ = failing_compile(fail_on_call=1)
    monkeypatch.setattr(torch, "compile", compile_)
    t = train_torch.time_steps(smoke_cfg(), "cpu", steps=1, warmup=1, compile=True)
    assert t["compiled"] is False and t["images_per_s"] > 0
    assert "torch.compile failed (CompilerMissing" in capsys.readouterr().out


# --------------------------------------------------------------------------- lesson 08's hooks

def lesson_block(in_channels, out_channels):
    """Lesson 08's exercise as a learner solves it (with its bias)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))


def test_hooks_are_called_and_build_the_generator(tmp_path):
    """train(..., train_step=, ema_update=, upsample_block=) runs the given functions, every step."""
    calls = {"train_step": 0, "ema_update": 0, "upsample_block": []}

    def step(g, d, opt_g, opt_d, real, z):
        calls["train_step"] += 1
        loss_d, loss_g = train_torch.train_step(g, d, opt_g, opt_d, real, z)
        return float(loss_d), loss_g  # a learner's step may return floats

    def ema(avg, model, decay):
        calls["ema_update"] += 1
        train_torch.ema_update(avg, model, decay)

    def block(in_channels, out_channels):
        calls["upsample_block"].append((in_channels, out_channels))
        return lesson_block(in_channels, out_channels)

    cfg = smoke_cfg(upsample="resize_conv", steps=5, n_samples=32)
    samples, info = train_torch.train(cfg, tmp_path, device="cpu", progress=False, train_step=step, ema_update=ema,
                                      upsample_block=block)
    assert calls["train_step"] == calls["ema_update"] == 5
    assert calls["upsample_block"] == [(cfg.g_width, cfg.g_width // 2), (cfg.g_width // 2, 1)]
    assert info["hooks"] == ["train_step", "ema_update", "upsample_block"] and info["steps"] == 5
    assert samples.shape == (32, 28, 28) and np.isfinite(info["losses"]["d"])
    state = train_torch.load_checkpoint(tmp_path / train_torch.CHECKPOINT_FILE)
    assert "up1.0.1.bias" in state["g"] and "up1.0.1.bias" in state["g_ema"]  # the hook's block, bias included
    g, _ = train_torch.build_models(cfg, block=lesson_block)
    g.load_state_dict(state["g"])  # and the notebook can rebuild it the same way


def test_reference_functions_as_hooks_reproduce_the_default_run(tmp_path):
    """The hook path computes what the default path computes; the default path names no hooks."""
    cfg = smoke_cfg(steps=6, n_samples=64, extra={"threads": 1})
    default_samples, default_info = train_torch.train(cfg, tmp_path / "default", device="cpu", progress=False)
    hooked_samples, hooked_info = train_torch.train(cfg, tmp_path / "hooked", device="cpu", progress=False,
                                                    train_step=train_torch.train_step,
                                                    ema_update=train_torch.ema_update)
    assert default_info["hooks"] == [] and hooked_info["hooks"] == ["train_step", "ema_update"]
    np.testing.assert_array_equal(hooked_samples, default_samples)
    assert hooked_info["history"] == default_info["history"]


def test_resize_conv_block_defaults_to_the_exercise_and_upsample_block_is_unchanged():
    torch.manual_seed(0)
    assert [n for n, _ in train_torch.resize_conv_block(3, 2).named_parameters()] == ["1.weight", "1.bias"]
    assert [n for n, _ in train_torch.upsample_block("resize_conv", 3, 2).named_parameters()] == ["1.weight"]
    g, _ = train_torch.build_models(smoke_cfg(upsample="resize_conv"))
    assert "up1.0.1.bias" not in g.state_dict() and "up2.1.bias" in g.state_dict()


def test_step_hook_trains_in_float32_without_compile_and_refuses_label_smoothing(tmp_path):
    cfg = smoke_cfg(steps=2, n_samples=16, extra={"threads": 1, "amp": True, "compile": True})
    _, info = train_torch.train(cfg, tmp_path / "a", device="cpu", progress=False, train_step=train_torch.train_step)
    assert info["speedups"]["amp"] is False and info["speedups"]["compile"] is False
    with pytest.raises(ValueError, match="label_smoothing"):
        train_torch.train(smoke_cfg(label_smoothing=0.1), tmp_path / "b", device="cpu", progress=False,
                          train_step=train_torch.train_step)


# --------------------------------------------------------------------------- recipe options: loss, R1, SN, mbstd

class _Linear(nn.Module):
    """D(x) = ⟨w, x⟩ + b: its input gradient is w for every image, so the R1 penalty is γ/2·‖w‖²."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-0.01, 0.01, 784))
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b


class _FixedG(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.linspace(-1, 1, 784))

    def forward(self, z):
        return torch.tanh(self.bias.expand(len(z), 784) + z[:, :1]).reshape(-1, 1, 28, 28)


def test_hinge_loss_and_r1_penalty_have_their_textbook_values():
    torch.manual_seed(0)
    real, z = torch.rand(6, 1, 28, 28) * 4 - 2, torch.randn(6, 4)
    for loss, gamma in (("hinge", 0.0), ("hinge", 10.0), ("bce", 10.0)):
        g, d = _FixedG(), _Linear()
        with torch.no_grad():
            lr, lf = d(real), d(g(z))
            w2 = d.w.pow(2).sum()
        if loss == "hinge":
            expected_d, expected_g = F.relu(1 - lr).mean() + F.relu(1 + lf).mean(), -lf.mean()
        else:
            expected_d = F.softplus(-lr).mean() + F.softplus(lf).mean()
            expected_g = None  # G is scored by the updated D
        expected_d = expected_d + gamma / 2 * w2
        opts = [torch.optim.SGD(m.parameters(), 0.0) for m in (g, d)]  # lr 0: D is the same for G's loss
        loss_d, loss_g = train_torch.train_step(g, d, *opts, real, z, loss=loss, r1_gamma=gamma)
        assert loss_d.item() == pytest.approx(expected_d.item(), rel=1e-5)
        if expected_g is not None:
            assert loss_g.item() == pytest.approx(expected_g.item(), rel=1e-5)
        assert d.w.grad is not None and (gamma == 0 or not torch.equal(d.w.grad, torch.zeros(784)))


def test_r1_penalty_pulls_d_weights_towards_zero():
    torch.manual_seed(0)
    real, z = torch.rand(6, 1, 28, 28) * 2 - 1, torch.randn(6, 4)
    grads = {}
    for gamma in (0.0, 100.0):
        g, d = _FixedG(), _Linear()
        train_torch.train_step(g, d, *(torch.optim.SGD(m.parameters(), 0.0) for m in (g, d)), real, z, r1_gamma=gamma)
        grads[gamma] = d.w.grad.clone()
    # the penalty's own gradient is γ·w: the difference of the two gradients
    torch.testing.assert_close(grads[100.0] - grads[0.0], 100.0 * _Linear().w.detach(), rtol=1e-4, atol=1e-6)


def test_minibatch_std_appends_the_batch_spread():
    x = torch.zeros(2, 3, 7, 7)
    x[1] = 4.0  # every feature: values 0 and 4, standard deviation 2
    out = train_torch.MinibatchStd()(x)
    assert out.shape == (2, 4, 7, 7)
    torch.testing.assert_close(out[:, :3], x)
    torch.testing.assert_close(out[:, 3], torch.full((2, 7, 7), 2.0))
    same = train_torch.MinibatchStd()(torch.ones(5, 3, 7, 7))[:, 3]  # no spread: √1e-8
    assert same.max().item() == pytest.approx(1e-4, rel=1e-3)


def test_spectral_norm_and_mbstd_build_the_documented_discriminator():
    g, d = train_torch.build_models(smoke_cfg(d_width=8, d_hidden=16, d_spectral_norm=True, d_mbstd=True))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 4 and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert layers[2].in_features == (16 + 1) * 49  # the minibatch-std channel
    _, again = train_torch.build_models(smoke_cfg(d_width=8, d_hidden=16, d_spectral_norm=True, d_mbstd=True))
    torch.testing.assert_close(d.state_dict(), again.state_dict())  # seeded, DCGAN-initialised
    d.train()
    for _ in range(30):  # one power iteration per training forward pass
        d(g(torch.randn(4, g.latent_dim)).detach())
    for m in layers:
        weight = m.weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(weight, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_recipe_options_are_validated():
    with pytest.raises(ValueError, match="loss must be one of bce, hinge"):
        smoke_cfg(loss="wasserstein")
    with pytest.raises(ValueError, match="r1_gamma must be 0 or more"):
        smoke_cfg(r1_gamma=-1.0)
    with pytest.raises(ValueError, match="label_smoothing applies to the bce loss only"):
        smoke_cfg(loss="hinge", label_smoothing=0.1)


@pytest.mark.parametrize("options", [dict(loss="hinge", d_spectral_norm=True), dict(d_mbstd=True, r1_gamma=1.0)])
def test_recipe_options_reach_the_trainer(options, tmp_path):
    cfg = smoke_cfg(steps=2, checkpoint_every=2, log_every=1, **options)
    samples, info = train_torch.train(cfg, tmp_path / "run", device="cpu", progress=False)
    outputs.check_losses(info["losses"])
    plain, _ = train_torch.train(smoke_cfg(steps=2, checkpoint_every=2, log_every=1), tmp_path / "plain",
                                 device="cpu", progress=False)
    assert not np.array_equal(samples, plain)  # the options changed what G learned
    with pytest.raises(ValueError, match="a train_step hook brings its own losses"):
        train_torch.train(cfg, tmp_path / "hook", device="cpu", progress=False, train_step=train_torch.train_step)
