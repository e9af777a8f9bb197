"""How fast is the NumPy transposed convolution next to PyTorch's? A benchmark, not a test.

    python scripts/bench_conv_transpose.py [--repeat 20] [--naive-repeat 1]

Times one DCGAN generator layer (batch 64, 128 → 64 channels, 7×7 → 14×14, kernel 4,
stride 2, padding 1) with ``torch.nn.functional.conv_transpose2d`` on the CPU, with
``helpers.reference.conv_transpose2d`` (vectorised: one matmul + col2im slice-adds) and
with ``helpers.reference.conv_transpose2d_naive`` (the lesson's Python loops), checks that
all three agree, and prints the times and the ratios to PyTorch. The goal for the
vectorised version is a ratio of at most 3. Each figure is the best of ``--repeat`` runs
(the minimum is the least disturbed by other work on the machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from helpers import reference

LAYER = dict(batch=64, cin=128, cout=64, size=7, kernel=4, stride=2, padding=1)


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: caches, thread pools, lazy initialisation
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of the fast versions (best is kept)")
    parser.add_argument("--naive-repeat", type=int, default=1, help="runs of the naive version (it takes seconds)")
    args = parser.parse_args(argv)

    import torch

    rng = np.random.default_rng(0)
    L = LAYER
    x = rng.standard_normal((L["batch"], L["cin"], L["size"], L["size"])).astype(np.float32)
    w = (0.02 * rng.standard_normal((L["cin"], L["cout"], L["kernel"], L["kernel"]))).astype(np.float32)
    conv = dict(stride=L["stride"], padding=L["padding"])
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)

    with torch.no_grad():
        want = torch.nn.functional.conv_transpose2d(xt, wt, **conv).numpy()
        t_torch = best_time(lambda: torch.nn.functional.conv_transpose2d(xt, wt, **conv), args.repeat)
    got = reference.conv_transpose2d(x, w, **conv)
    t_vec = best_time(lambda: reference.conv_transpose2d(x, w, **conv), args.repeat)
    naive, t_naive = None, float("inf")
    for _ in range(max(1, args.naive_repeat)):  # no warm-up: one run takes seconds
        start = time.perf_counter()
        naive = reference.conv_transpose2d_naive(x, w, **conv)
        t_naive = min(t_naive, time.perf_counter() - start)

    for name, result in (("vectorised", got), ("naive", naive)):
        err = float(np.abs(result - want).max())
        if err > 1e-4:
            print(f"error: the {name} NumPy result differs from PyTorch by {err:.3g}", file=sys.stderr)
            return 1

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"DCGAN layer: x {x.shape} → {want.shape}, kernel {L['kernel']}, stride {L['stride']}, "
          f"padding {L['padding']}, float32")
    print(f"threads: torch {torch.get_num_threads()}, CPUs {os.cpu_count()}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'implementation':<34}{'time (ms)':>12}{'÷ torch':>10}")
    rows = [("torch.nn.functional", t_torch), ("reference.conv_transpose2d", t_vec),
            ("reference.conv_transpose2d_naive", t_naive)]
    for name, seconds in rows:
        print(f"{name:<34}{seconds * 1e3:>12.2f}{seconds / t_torch:>10.2f}")
    ratio = t_vec / t_torch
    print(f"vectorised / torch = {ratio:.2f} ({'within' if ratio <= 3 else 'OVER'} the goal of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
