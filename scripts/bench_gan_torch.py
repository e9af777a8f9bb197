"""Images/s and seconds per MNIST epoch of the PyTorch DCGAN, with and without each speed-up.

    python scripts/bench_gan_torch.py [--profile gpu] [--steps 200] [--device cuda]
    python scripts/bench_gan_torch.py --side-by-side [--batch-sizes 128 512 2048]   # today's step vs the fast one
    python scripts/bench_gan_torch.py --floor [--batch-sizes 128 1024]               # what the card allows at best

Adds the switches of ``helpers.gan.train_torch`` one at a time (data on the device, channels-last,
mixed precision, ``torch.compile``) and prints a Markdown table with the device named. On a
CPU the numbers say which of them *not* to use there.

``--side-by-side`` times the training loop's whole step instead (:func:`helpers.gan.train_torch.time_run_steps`:
batch, step, EMA, losses) in one call: today's eager step with a per-tensor EMA, the eager step with the one
``_foreach`` EMA, and the fast step (the whole step as a CUDA graph where :func:`~helpers.gan.train_torch.graph_plan`
allows it; elsewhere its body uncaptured), then the fast step at each of ``--batch-sizes`` (the learning rate is not
rescaled here: a larger batch is a recipe change, measured by its scores, not by its speed).

``--floor`` counts, on the CPU and without a card, what one training step must do per image (:func:`count_step`:
the matrix operations of G and D, forward and backward, with ``torch.utils.flop_counter``; the fewest bytes it
must move: every activation written once and read back once in bfloat16, and the weights' own traffic — Adam, the
gradients and the EMA in float32 — shared by the batch) and prints the images/s these allow on an H200 at its
published and at its measured rates (:data:`H200`); the step's measured images/s (``--side-by-side`` on the card)
over this floor is the gap (docs/gpu.md).
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from helpers import gan, runtime, torch_utils
from helpers.gan import train_torch
from helpers.gan.config import r1_gamma_at

VARIANTS = [
    ("baseline (data on the host, float32, NCHW)", {}),
    ("+ data on the device", {"data_on_device": True}),
    ("+ channels-last", {"data_on_device": True, "channels_last": True}),
    ("+ mixed precision", {"data_on_device": True, "channels_last": True, "amp": True}),
    ("+ torch.compile", {"data_on_device": True, "channels_last": True, "amp": True, "compile": True}),
]


@torch.no_grad()
def per_tensor_ema(ema, model, decay: float) -> None:
    """The EMA as it was before issue 28: a lerp and a copy launched per tensor."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def side_by_side(cfg, device, steps: int, batch_sizes: list[int]) -> None:
    """Today's step and the fast one, timed one after the other in this process (same card, same load)."""
    print("| step | batch | images/s | ms per step | × today | graphs |\n|---|---|---|---|---|---|")
    # off CUDA, True: the graphed step's body without capture (what the fast path adds there: static buffers)
    fast = None if device.type == "cuda" else True
    variants = [("today's (eager, an EMA launch per tensor)", cfg.batch_size, {"graphs": False,
                                                                            "ema_update": per_tensor_ema}),
                ("eager, one _foreach EMA", cfg.batch_size, {"graphs": False}),
                *((f"fast (whole step graphed){'' if device.type == 'cuda' else ', uncaptured off CUDA'}", b,
                   {"graphs": fast}) for b in [cfg.batch_size, *(b for b in batch_sizes if b != cfg.batch_size)])]
    today = None
    for name, batch, options in variants:
        t = train_torch.time_run_steps(gan.GanConfig.from_dict({**cfg.to_dict(), "batch_size": batch,
                                                               "n_train": 16 * batch}), device,
                                       steps=steps, warmup=max(20, steps // 10), **options)
        today = today or t["images_per_s"]
        print(f"| {name} | {batch} | {t['images_per_s']:,.0f} | {t['ms_per_step']:.2f} | "
              f"{t['images_per_s'] / today:.2f} | {t['graphs']} |", flush=True)


#: The H200's rates: published (NVIDIA's H200 SXM datasheet: dense bfloat16 989 TFLOP/s, HBM3e 4.8 TB/s) and as
#: measured on this workplace's card (the device tool's KINDS.md: an 8192³ bfloat16 matrix product at 769-798
#: TFLOP/s, a device-to-device copy at about 4.3 TB/s counting bytes read and written).
H200 = {"published": (989e12, 4.8e12), "measured here": (788e12, 4.3e12)}
#: Bytes a weight costs per step in float32: Adam reads weight, gradient and two moments and writes three of them
#: back (7 × 4), backward writes the gradient (4); for G's weights the EMA reads two and writes one more (3 × 4).
WEIGHT_BYTES, EMA_BYTES = 8 * 4, 3 * 4


def count_step(cfg, batch: int) -> dict:
    """Operations and fewest bytes per image of one :func:`~helpers.gan.train_torch.train_step` of ``cfg``'s G and D
    at ``batch`` (the first step's R1 weight: lazy R1 counts at its heaviest)."""
    from torch.utils.flop_counter import FlopCounterMode

    g, d = train_torch.build_models(cfg)
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    z = torch.randn(batch, cfg.latent_dim)
    outputs = []
    leaves = [m for m in (*g.modules(), *d.modules()) if not list(m.children())]
    hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel())) for m in leaves]
    with FlopCounterMode(display=False) as counter:
        train_torch.train_step(g, d, opt_g, opt_d, real, z, loss=cfg.loss, r1_gamma=r1_gamma_at(cfg, 0))
    for hook in hooks:
        hook.remove()
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    weights_g, weights_d = (sum(p.numel() for p in m.parameters()) for m in (g, d))
    weight_bytes = (weights_g + weights_d) * WEIGHT_BYTES + weights_g * EMA_BYTES
    return {"flops": counter.get_total_flops() / batch, "flops_g": counts.get("Generator", 0) / batch,
            "flops_d": counts.get("Discriminator", 0) / batch, "activation_bytes": 2 * 2 * sum(outputs) / batch,
            "weight_bytes": weight_bytes / batch, "weights": (weights_g, weights_d)}


def floor(cfg, batch_sizes: list[int]) -> None:
    """The floor table: per image, operations and bytes, and the images/s each rate allows."""
    print("| batch | MFLOP per image (G · D) | KB per image (activations + weights) | images/s, H200 published | "
          "images/s, H200 as measured | bound by |\n|---|---|---|---|---|---|")
    for batch in batch_sizes:
        c = count_step(cfg, batch)
        nbytes = c["activation_bytes"] + c["weight_bytes"]
        rates = {name: 1 / max(c["flops"] / ops, nbytes / bandwidth) for name, (ops, bandwidth) in H200.items()}
        ops, bandwidth = H200["measured here"]
        bound = "arithmetic" if c["flops"] / ops > nbytes / bandwidth else "memory"
        print(f"| {batch} | {c['flops'] / 1e6:,.0f} ({c['flops_g'] / 1e6:,.0f} · {c['flops_d'] / 1e6:,.0f}) | "
              f"{nbytes / 1e3:,.0f} ({c['activation_bytes'] / 1e3:,.0f} + {c['weight_bytes'] / 1e3:,.0f}) | "
              f"{rates['published']:,.0f} | {rates['measured here']:,.0f} | {bound} |", flush=True)
    g, d = c["weights"]
    print(f"\nG {g:,} and D {d:,} weights. The issue's target, 60,000 images/s, is one MNIST epoch a second.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="gpu", choices=runtime.PROFILES)
    parser.add_argument("--upsample", default="convtranspose", choices=gan.UPSAMPLE_KINDS)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--side-by-side", action="store_true",
                        help="the loop's whole step: today's vs the fast one (and the fast one at --batch-sizes)")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[],
                        help="with --side-by-side: more batch sizes for the fast step; with --floor: the sizes")
    parser.add_argument("--floor", action="store_true",
                        help="operations and bytes per image, and the images/s an H200 allows (no card needed)")
    args = parser.parse_args(argv)
    device = torch_utils.pick_device(args.device, verbose=False)
    cfg = gan.config_for("torch", args.profile, args.upsample)
    if args.floor:
        print(f"The floor of one training step, {args.profile} profile model ({args.upsample}), per image:")
        floor(cfg, args.batch_sizes or [cfg.batch_size])
        return 0
    base = {"data_on_device": False, "channels_last": False, "amp": False, "compile": False}
    print(f"{torch_utils.describe(device)} · {args.profile} profile model · batch {cfg.batch_size} · "
          f"{args.steps} timed steps · load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.side_by_side:
        # the data on the device for all three (a graph gathers its batch there), the rest as the profile has it
        side_by_side(gan.GanConfig.from_dict({**cfg.to_dict(), "extra": {**cfg.extra, "data_on_device": True}}),
                     device, args.steps, args.batch_sizes)
        return 0
    print("| variant | images/s | s per 60,000-image epoch | × baseline |\n|---|---|---|---|")
    first = None
    for name, switches in VARIANTS:
        if switches.get("compile") and args.no_compile:
            continue
        t = train_torch.time_steps(cfg, device, steps=args.steps, warmup=max(3, args.steps // 10),
                                   **{**base, **switches})
        first = first or t["images_per_s"]
        print(f"| {name} | {t['images_per_s']:,.0f} | {t['s_per_epoch']:,.1f} | {t['images_per_s'] / first:.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
