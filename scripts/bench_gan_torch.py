"""Images/s and seconds per MNIST epoch of the PyTorch DCGAN, with and without each speed-up.

    python scripts/bench_gan_torch.py [--profile gpu] [--steps 200] [--device cuda]

Adds the switches of ``helpers.gan.train_torch`` one at a time (data on the device, channels-last,
mixed precision, ``torch.compile``) and prints a Markdown table with the device named. On a
CPU the numbers say which of them *not* to use there.
"""

from __future__ import annotations

import argparse
import os
import sys

from helpers import gan, runtime, torch_utils
from helpers.gan import train_torch

VARIANTS = [
    ("baseline (data on the host, float32, NCHW)", {}),
    ("+ data on the device", {"data_on_device": True}),
    ("+ channels-last", {"data_on_device": True, "channels_last": True}),
    ("+ mixed precision", {"data_on_device": True, "channels_last": True, "amp": True}),
    ("+ torch.compile", {"data_on_device": True, "channels_last": True, "amp": True, "compile": True}),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="gpu", choices=runtime.PROFILES)
    parser.add_argument("--upsample", default="convtranspose", choices=gan.UPSAMPLE_KINDS)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args(argv)
    device = torch_utils.pick_device(args.device, verbose=False)
    cfg = gan.config_for("torch", args.profile, args.upsample)
    base = {"data_on_device": False, "channels_last": False, "amp": False, "compile": False}
    print(f"{torch_utils.describe(device)} · {args.profile} profile model · batch {cfg.batch_size} · "
          f"{args.steps} timed steps · load {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
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
