"""The fast PyTorch step (issue 28 §2): the whole step captured as a CUDA graph where the card allows it, switched
by capability (CUDA cards faked, as in test_gan_torch.py); the EMA as one multi-tensor update. No GPU here: the
graphed step's body and its static buffers run on the CPU through a stand-in backend, and must compute exactly what
the eager step computes, across lazy R1, the EMA's start, a log, a checkpoint and a resume."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from helpers import gan
from helpers.gan import train_torch

torch.set_num_threads(1)


def cfg_for(**overrides):
    # lazy R1 and a late EMA start: the step's frozen numbers take two values each, so four graphs
    settings = dict(steps=10, n_train=128, n_samples=64, r1_gamma=0.5, r1_every=3, ema_start=4, log_every=4,
                    extra={"threads": 1, "data_on_device": True})
    return gan.config_for("torch", "smoke", **{**settings, **overrides})


class RecordingBackend:
    """Stands in for CUDA graphs: counts warm-ups and captures; a 'graph' replays its body."""

    def __init__(self, fail: bool = False):
        self.warms, self.captures, self.replays, self.fail = 0, 0, 0, fail

    def warm(self, body):
        self.warms += 1
        body()

    def capture(self, body):
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        self.captures += 1
        backend = self

        class Graph:
            def replay(self):
                backend.replays += 1
                body()

        return Graph()


def run_steps(cfg, graphs, backend=None, steps=None):
    run = train_torch._TorchRun(cfg, torch.device("cpu"), graphs=graphs, graph_backend=backend)
    for _ in range(steps or cfg.steps):
        run.one_step()
    return run


def assert_same_state(a, b):
    for name in ("g", "d", "g_ema", "opt_g", "opt_d"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        flat_a, flat_b = torch.utils._pytree.tree_flatten(sa)[0], torch.utils._pytree.tree_flatten(sb)[0]
        assert len(flat_a) == len(flat_b), name
        for x, y in zip(flat_a, flat_b, strict=True):
            if isinstance(x, torch.Tensor):
                assert torch.equal(x, y), name
            else:
                assert x == y, name
    assert torch.equal(a.sums, b.sums)
    assert torch.equal(a.noise_rng.get_state(), b.noise_rng.get_state())


def test_the_graphed_step_computes_exactly_the_eager_step():
    cfg = cfg_for()
    eager = run_steps(cfg, graphs=False)
    backend = RecordingBackend()
    graphed = run_steps(cfg, graphs=True, backend=backend)
    assert_same_state(graphed, eager)
    # keys (R1 weight, EMA decay): steps 0, 3 (R1, 0); 1, 2 (0, 0); 6, 9 (R1, decay); 4, 5, 7, 8 (0, decay): only
    # the last key has its 3 warm-ups (steps 4, 5, 7) before its capture, replayed at step 8
    assert backend.captures == 1 and backend.replays == 1
    assert backend.warms + backend.replays == cfg.steps
    assert graphed.graphs_in_force().startswith("on: on as asked")


def test_each_frozen_number_gets_its_own_graph_after_its_warmups():
    cfg = cfg_for(steps=40, n_train=512, ema_start=12)
    backend = RecordingBackend()
    graphed = run_steps(cfg, graphs=True, backend=backend)
    step = graphed.graph_step
    assert set(step.graphs) == {(1.5, 0.0), (0.0, 0.0), (1.5, cfg.ema_decay), (0.0, cfg.ema_decay)}
    assert backend.captures == 4 and all(n == step.warmup for n in step.warmed.values())
    assert_same_state(graphed, run_steps(cfg, graphs=False))


def test_a_failed_capture_says_so_once_and_trains_on_eagerly(capsys):
    cfg = cfg_for()
    graphed = run_steps(cfg, graphs=True, backend=RecordingBackend(fail=True))
    out = capsys.readouterr().out
    assert out.count("CUDA graph capture failed") == 1 and "stream is capturing" in out
    assert_same_state(graphed, run_steps(cfg, graphs=False))
    assert graphed.graphs_in_force().startswith("off: capture failed (RuntimeError")


def test_a_graphed_run_logs_checkpoints_and_resumes_as_the_eager_run(tmp_path, monkeypatch):
    cfg = cfg_for(steps=12, checkpoint_every=1)
    samples, info = train_torch.train(cfg, tmp_path / "eager", device="cpu", progress=False)
    assert info["graphs"].startswith("off: cpu")
    monkeypatch.setattr(train_torch, "graph_plan", lambda *args: (True, "faked"))
    train_torch.train(cfg, tmp_path / "graphed", device="cpu", progress=False, stop_after=7)
    resumed, resumed_info = train_torch.train(cfg, tmp_path / "graphed", resume=True, device="cpu", progress=False)
    assert resumed_info["graphs"] == "on: faked" and resumed_info["resumed_from"] == 7
    np.testing.assert_array_equal(resumed, samples)
    assert resumed_info["history"] == info["history"]


def test_hooks_float16_and_host_data_are_refused_the_graph():
    cfg = cfg_for()
    with pytest.raises(ValueError, match="graphed step"):
        train_torch._TorchRun(cfg, torch.device("cpu"), graphs=True, ema_hook=train_torch.ema_update)
    with pytest.raises(ValueError, match="graphed step"):
        train_torch._TorchRun(cfg_for(extra={"data_on_device": False}), torch.device("cpu"), graphs=True)


@pytest.fixture
def fake_cuda(monkeypatch):
    def install(capability, hip=None):
        monkeypatch.setattr(torch.version, "hip", hip)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    return install


CUDA_FAST = {"amp": True, "channels_last": True, "data_on_device": True, "compile": False}


@pytest.mark.parametrize("card, capability, scaler, switches, hooks, on, why", [
    ("H200", (9, 0), False, {}, False, True, "captured"),
    ("A100", (8, 0), False, {}, False, True, "captured"),
    ("T4", (7, 5), True, {}, False, False, "GradScaler"),  # float16 + GradScaler: today's eager step
    ("V100 in float32", (7, 0), False, {"amp": False}, False, True, "captured"),
    ("P100", (6, 0), False, {}, False, False, "6.0 < 7.0"),
    ("H200, compiled", (9, 0), False, {"compile": True}, False, False, "torch.compile"),
    ("H200, lesson 08's hooks", (9, 0), False, {}, True, False, "learner"),
    ("H200, data on the host", (9, 0), False, {"data_on_device": False}, False, False, "host"),
])
def test_graphs_are_switched_by_capability(fake_cuda, card, capability, scaler, switches, hooks, on, why):
    fake_cuda(capability)
    scaler = torch.amp.GradScaler("cpu") if scaler else None
    chosen, reason = train_torch.graph_plan(torch.device("cuda"), {**CUDA_FAST, **switches}, scaler, hooks)
    assert chosen is on and why in reason, card


def test_no_graphs_on_rocm_or_off_cuda(fake_cuda):
    assert train_torch.graph_plan(torch.device("cpu"), CUDA_FAST, None, False) == (False, "cpu: CUDA graphs are CUDA's")
    fake_cuda((9, 4), hip="6.2")
    assert train_torch.graph_plan(torch.device("cuda"), CUDA_FAST, None, False)[0] is False


def test_the_ema_is_one_multi_tensor_update_with_a_loop_s_numbers():
    g, _ = train_torch.build_models(gan.config_for("torch", "smoke"))
    model, ema = copy.deepcopy(g), copy.deepcopy(g)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
        for b in model.buffers():
            b.add_(1)
    looped = copy.deepcopy(ema)
    with torch.no_grad():
        for e, p in zip(looped.parameters(), model.parameters(), strict=True):
            e.lerp_(p, 1 - 0.9)
        for e, b in zip(looped.buffers(), model.buffers(), strict=True):
            e.copy_(b)
    train_torch.ema_update(ema, model, 0.9)
    for a, b in zip(ema.state_dict().values(), looped.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="not copies"):
        train_torch.ema_update(ema, nn.Linear(2, 2), 0.9)


def test_a_resumed_optimizer_keeps_its_own_fused_and_capturable_flags():
    """A checkpoint's param groups carry the flags of the run that wrote it (an eager run's, resumed by a graphed
    one): the resuming run keeps its own, and a fused Adam gets its step counts as float32."""
    model = nn.Linear(3, 2)
    eager = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    eager.step()
    fused = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    fused.load_state_dict(eager.state_dict())
    assert not fused.param_groups[0]["fused"]  # what load_state_dict alone leaves
    train_torch._keep_own_flags(fused)
    assert fused.param_groups[0]["fused"]
    assert all(s["step"].dtype == torch.float32 and s["step"].device == p.device for p, s in fused.state.items())
    fused.step()  # the fused kernel accepts the state as it now is


def load_bench():
    import importlib.util

    from helpers import ROOT

    spec = importlib.util.spec_from_file_location("bench_gan_torch", ROOT / "scripts" / "bench_gan_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_floor_counts_g_and_d_per_image_whatever_the_batch():
    bench = load_bench()
    cfg = gan.config_for("torch", "smoke")
    small, large = bench.count_step(cfg, 8), bench.count_step(cfg, 32)
    assert small["flops"] == large["flops"] > 0  # per image: the batch shares nothing but the weights' traffic
    assert small["flops_g"] + small["flops_d"] == small["flops"] and small["flops_d"] > 0
    assert small["activation_bytes"] == large["activation_bytes"] > 0
    assert small["weight_bytes"] == 4 * large["weight_bytes"]
    g, d = small["weights"]
    assert small["weight_bytes"] * 8 == (g + d) * bench.WEIGHT_BYTES + g * bench.EMA_BYTES


def test_side_by_side_times_today_s_step_and_the_fast_one(capsys):
    bench = load_bench()
    assert bench.main(["--side-by-side", "--profile", "smoke", "--steps", "2", "--batch-sizes", "16"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split(" | ")[0] for r in rows[1:]] == [
        "| today's (eager, an EMA launch per tensor)", "| eager, one _foreach EMA",
        "| fast (whole step graphed), uncaptured off CUDA", "| fast (whole step graphed), uncaptured off CUDA"]
    assert rows[1].split(" | ")[4] == "1.00" and rows[3].endswith("on: on as asked |")
    assert rows[4].split(" | ")[1] == "16"
