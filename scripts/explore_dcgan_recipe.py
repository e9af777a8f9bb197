"""Try a change to the reference DCGAN's recipe and judge it at a few step counts (PyTorch, CPU).

    python scripts/explore_dcgan_recipe.py --evals 1000,2000 lr=5e-4 g_refine=1 d_hidden=512
    python scripts/explore_dcgan_recipe.py --evals 2000 --lr-d 4e-4 --lr-g 1e-4   # TTUR
    python scripts/explore_dcgan_recipe.py --evals 3000 --decay 0.5 --emas 0.99,0.995,0.999 lr=5e-4
    python scripts/explore_dcgan_recipe.py --evals 4000 --fused --samples 5000 r1_gamma=1 r1_every=16   # lazy R1

The "How the cpu profile got here" table of docs/gan_results.md was made with it: the plain DCGAN
of lessons 07/08 is ``g_refine=0 d_hidden=0 lr=2e-4`` on top of the cpu profile. ``key=value``
arguments override :class:`helpers.gan.GanConfig` fields; the options add what the config does not
hold (separate learning rates, a linear learning-rate decay at the end, several EMA decays judged
side by side). Each evaluation judges 2,000 samples of each EMA generator (BatchNorm recalibrated)
and prints one JSON line; FID ÷ real is against 2,000 real training digits. Training time excludes
the evaluations.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time

import torch

from helpers import gan, judge, runtime
from helpers.data import load_mnist
from helpers.gan import train_torch
from helpers.gan.config import r1_gamma_at


def parse_override(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", type=parse_override, help="GanConfig fields, e.g. lr=5e-4 d_hidden=512")
    parser.add_argument("--evals", default="1000,2000", help="steps at which to judge; the run stops at the last")
    parser.add_argument("--lr-g", type=float, default=None, help="G's learning rate (default: the config's lr)")
    parser.add_argument("--lr-d", type=float, default=None, help="D's learning rate (default: the config's lr)")
    parser.add_argument("--decay", type=float, default=0.0,
                        help="share of the steps, at the end, with a linear decay to 0")
    parser.add_argument("--emas", default="0.99", help="EMA decays to keep and judge side by side")
    parser.add_argument("--fused", action="store_true", help="Adam's fused kernel (one pass over the weights)")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", default="cpu", choices=runtime.PROFILES,
                        help="the profile whose settings the overrides change (default: cpu)")
    args = parser.parse_args(argv)
    evals = sorted(int(s) for s in args.evals.split(","))
    cfg = gan.config_for("torch", args.profile, seed=args.seed, steps=evals[-1], **dict(args.overrides))
    torch.set_num_threads(args.threads)

    g, d = train_torch.build_models(cfg)
    decays = [float(e) for e in args.emas.split(",")]
    emas = [copy.deepcopy(g).eval().requires_grad_(False) for _ in decays]
    lr_g, lr_d = args.lr_g or cfg.lr, args.lr_d or cfg.lr
    fused = {"fused": True} if args.fused else {}
    opt_g = torch.optim.Adam(g.parameters(), lr_g, betas=(cfg.beta1, cfg.beta2), **fused)
    opt_d = torch.optim.Adam(d.parameters(), lr_d, betas=(cfg.beta1, cfg.beta2), **fused)
    x, _ = load_mnist("train", value_range=(-1.0, 1.0), channel="first")
    data = torch.from_numpy(x)
    rng = torch.Generator().manual_seed(cfg.seed)
    real_fid = judge.real_reference(args.samples)["fid"]
    decay_from = cfg.steps * (1 - args.decay)
    trained, order = 0.0, None
    for step in range(cfg.steps):
        started = time.perf_counter()
        factor = 1.0 if step < decay_from else (cfg.steps - step) / (cfg.steps - decay_from)
        for opt, lr in ((opt_g, lr_g), (opt_d, lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
        position = step % cfg.steps_per_epoch
        if position == 0:
            order = torch.randperm(len(data), generator=rng)
        real = data[order[position * cfg.batch_size:(position + 1) * cfg.batch_size]]
        z = torch.randn(cfg.batch_size, cfg.latent_dim, generator=rng)
        loss_d, loss_g = train_torch.train_step(g, d, opt_g, opt_d, real, z, real_label=1.0 - cfg.label_smoothing,
                                                loss=cfg.loss, r1_gamma=r1_gamma_at(cfg, step))
        for ema, decay in zip(emas, decays):  # a copy of G until cfg.ema_start, as in the trainers
            train_torch.ema_update(ema, g, decay if step >= cfg.ema_start else 0.0)
        trained += time.perf_counter() - started
        if step + 1 not in evals:
            continue
        for ema, decay in zip(emas, decays):
            model = copy.deepcopy(ema)
            train_torch.recalibrate_batchnorm(model, cfg.latent_dim, torch.Generator().manual_seed(cfg.seed + 2))
            scores = judge.scores(train_torch.generate(model, args.samples, cfg.latent_dim, seed=cfg.seed + 3))
            print(json.dumps({
                "step": step + 1, "ema": decay, "train_s": round(trained, 1), "fid": round(scores["fid"], 2),
                "fid_ratio": round(scores["fid"] / real_fid, 1), "inception_score": round(scores["inception_score"], 2),
                "confident": round(scores["confident"], 3), "coverage": round(scores["coverage"], 3),
                "loss_d": round(float(loss_d), 3), "loss_g": round(float(loss_g), 3),
            }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
