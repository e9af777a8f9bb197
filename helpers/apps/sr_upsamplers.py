"""Which upsampler? Super-resolution ×2 of colour pictures with only the upsampling layer swapped (lesson 09).

On MNIST every generator of lesson 08 ends training with the real digits' share of power at Nyquist,
whatever its upsampling block (``docs/gan_results.md``). This study looks where the choice can show:
natural colour pictures, big flat regions, and a network whose *last* layer is the upsampler, so that no
later layer can smooth its pattern away. The network is ESPCN's body (5×5 and 3×3 convolutions at low
resolution, :class:`helpers.apps.sr_torch.ESPCN`) without the bicubic skip, ending in one of the ×2 layers
of lesson 08 (:func:`helpers.gan.train_torch.upsample_block`) plus pixel shuffle with a random start.
Everything else — data, seed, batches, optimiser — is the same for every kind.

The measure, :func:`phase_spread`, asks the question a checkerboard poses directly: do the four output
phases (pixel row and column even or odd) render the same picture with the same brightness? It fits one
gain per phase (estimate ≈ gain × truth, least squares) and reports the largest minus the smallest.
Without a periodic pattern the four gains agree (bicubic interpolation: 0.0011 on the held-out pictures, from
the pictures' own content); a transposed
convolution's artifact multiplies the image (lesson 08, ``helpers.metrics.nyquist_share``), which is exactly a gain
that differs by phase.

Imports PyTorch only (never TensorFlow). ``scripts/measure_sr_upsamplers.py`` runs the longer study of
``docs/results_sr_upsamplers.md``.

Used in lesson 09.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .. import runtime
from ..gan.train_torch import PixelShuffleUp, upsample_block
from ..torch_utils import icnr_
from . import sr_torch as sr

#: The ×2 upsamplers compared, each with how it starts: lesson 08's four blocks, and pixel shuffle twice.
KINDS = {
    "convtranspose": "transposed conv k4 s2 (DCGAN's)",
    "convtranspose3": "transposed conv k3 s2",
    "pixel_shuffle_random": "pixel shuffle, random init",
    "pixel_shuffle": "pixel shuffle, ICNR init",
    "resize_conv": "nearest ×2, then 3×3 conv",
}

#: How much each run profile trains, per kind and seed (``checkpoints``: the steps the measures are taken at).
SETTINGS = {
    "smoke": dict(steps=4, seeds=(0,), checkpoints=(0, 2, 4), patch=8, batch_size=4, max_side=64, lr=1e-3),
    "cpu": dict(steps=600, seeds=(0, 1), checkpoints=(0, 50, 150, 300, 600), patch=24, batch_size=16, max_side=None,
                lr=1e-3),
    "gpu": dict(steps=3000, seeds=(0, 1, 2), checkpoints=(0, 100, 300, 1000, 3000), patch=24, batch_size=16,
                max_side=None, lr=1e-3),
}


def settings(profile: str | None = None) -> dict:
    """The :data:`SETTINGS` of the run profile in force (see :mod:`helpers.runtime`)."""
    return runtime.settings(SETTINGS, profile)


class UpsamplerSR(nn.Module):
    """ESPCN's low-resolution body, then one ×2 upsampling layer of the given ``kind`` as the last layer.

    No bicubic skip: the upsampler draws every output pixel, so whatever pattern it has is in the picture.
    """

    input_kind = "lr"

    def __init__(self, kind: str, channels: int = 3, n1: int = 64, n2: int = 32):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        self.kind = kind
        self.features = nn.Sequential(nn.Conv2d(channels, n1, 5, padding=2), nn.ReLU(),
                                      nn.Conv2d(n1, n2, 3, padding=1), nn.ReLU())
        if kind == "pixel_shuffle_random":  # PyTorch's default initialisation, as ESPCN's paper had it
            self.up = PixelShuffleUp(n2, channels)
        else:
            self.up = upsample_block(kind, n2, channels, bias=True)
        if kind == "pixel_shuffle":  # ICNR with the same default initialisation for its one sub-kernel
            icnr_(self.up[0].weight, 2)
            nn.init.zeros_(self.up[0].bias)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """The ×2 estimate of ``lr``."""
        return self.up(self.features(lr))


def phase_spread(estimate: np.ndarray, truth: np.ndarray, border: int = 2) -> float:
    """How differently the four ×2 output phases render the picture: largest minus smallest phase gain.

    For each phase ``(a, b)`` (rows ``a::2``, columns ``b::2``, after shaving ``border`` pixels) the gain
    is the least-squares factor ``Σ estimate·truth / Σ truth²``; 0.01 means one phase is drawn 1 % brighter
    than another, the same ±1 % stripe in every flat region. ``(H, W)`` or ``(C, H, W)`` arrays.
    """
    e, t = (sr.shave(np.asarray(a, np.float64), border) for a in (estimate, truth))
    if e.shape != t.shape or e.shape[-1] % 2 or e.shape[-2] % 2:
        raise ValueError(f"phase_spread needs two arrays of one shape with even sides; got {e.shape} and {t.shape}")
    gains = [float((e[..., a::2, b::2] * t[..., a::2, b::2]).sum() / (t[..., a::2, b::2] ** 2).sum())
             for a in (0, 1) for b in (0, 1)]
    return max(gains) - min(gains)


def measure(model: nn.Module, images: Sequence[sr.SRImage], device: str | torch.device = "cpu") -> dict:
    """Mean PSNR (dB, colour) and mean :func:`phase_spread` of ``model`` on ``images``."""
    scores = []
    for im in images:
        estimate, truth = sr.predict(model, im, device), sr.truth(im)
        scores.append((sr.psnr_ssim(estimate, truth, border=2)[0], phase_spread(estimate, truth)))
    return {"PSNR dB": float(np.mean([p for p, _ in scores])), "phase spread": float(np.mean([q for _, q in scores]))}


def baseline(images: Sequence[sr.SRImage]) -> dict:
    """:func:`measure` for bicubic upsampling, the line every kind is read against."""
    return measure(sr.Bicubic(2), images)


def study(train_images: Sequence[sr.SRImage], test_images: Sequence[sr.SRImage], kinds: Sequence[str] = tuple(KINDS),
          *, steps: int, seeds: Sequence[int], checkpoints: Sequence[int], patch: int, batch_size: int, lr: float,
          device: str | torch.device = "cpu", **_: object) -> tuple[list[dict], dict]:
    """Train every kind at every seed on the same batches; measure on ``test_images`` at ``checkpoints``.

    Returns ``(rows, models)``: one row per kind, seed and checkpoint (``kind``, ``seed``, ``step``,
    ``PSNR dB``, ``phase spread``, ``seconds`` of training), and the trained models by ``(kind, seed)``.
    Adam at a constant learning rate: a late drop would hide how each kind behaves while it still learns.
    The other keys of :data:`SETTINGS` (``max_side``: how the caller crops the pictures) are accepted and
    ignored, so that ``study(train, test, **settings())`` works.
    """
    rows, models = [], {}
    for seed in seeds:
        for kind in kinds:
            torch.manual_seed(seed)
            model = UpsamplerSR(kind, channels=train_images[0].hr.shape[1])
            history = sr.train(model, sr.PatchSampler(list(train_images), 2, patch, seed=seed), steps,
                               batch_size=batch_size, lr=lr, device=device, lr_decay_at=1.0,
                               evaluate_at=checkpoints,
                               evaluate=lambda step, m: measure(m, test_images, device))
            for step, scores in history["evaluations"]:
                rows.append({"kind": kind, "seed": seed, "step": step, **scores, "seconds": history["seconds"]})
            models[kind, seed] = model.cpu()
    return rows, models


def summary(rows: Sequence[dict], step: int) -> list[dict]:
    """One row per kind at ``step``: the mean over seeds and the seed range of each measure."""
    out = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        mine = [r for r in rows if r["kind"] == kind and r["step"] == step]
        row = {"kind": kind, "seeds": len(mine)}
        for key in ("PSNR dB", "phase spread"):
            values = [r[key] for r in mine]
            row[key] = float(np.mean(values))
            row[key + " range"] = (float(min(values)), float(max(values)))
        out.append(row)
    return out


def summary_table(rows: Sequence[dict], step: int, bicubic: dict) -> str:
    """:func:`summary` at ``step`` as a Markdown table (mean and seed range), with bicubic's line below."""
    lines = [f"after {step} steps | PSNR dB: mean (seed range) | phase spread: mean (seed range)", "---|---|---"]
    for row in summary(rows, step):
        (p_lo, p_hi), (s_lo, s_hi) = row["PSNR dB range"], row["phase spread range"]
        lines.append(f"{KINDS[row['kind']]} | {row['PSNR dB']:.2f} ({p_lo:.2f}–{p_hi:.2f}) | "
                     f"{row['phase spread']:.4f} ({s_lo:.4f}–{s_hi:.4f})")
    lines.append(f"bicubic (no training) | {bicubic['PSNR dB']:.2f} | {bicubic['phase spread']:.4f}")
    return "\n".join("| " + line + " |" for line in lines)
