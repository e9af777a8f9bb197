"""A small pix2pix (Isola et al. 2017) for lesson 10: repair damaged MNIST digits.

* Task: the input is a digit with a random square erased to mid-grey (the "damage");
  the target is the clean digit. Images are in [-1, 1] (tanh output), so the grey hole
  is exactly 0.
* Generator: a U-Net. Strided convolutions go 28 → 14 → 7 → 4; transposed convolutions
  (learned upsampling) come back up, and at each scale the decoder concatenates the
  encoder's feature map of the same size (the skip connection). ``skips=False`` builds
  the same decoder without the concatenations: everything must squeeze through 4×4.
* Discriminator: a PatchGAN. It sees (damaged input, candidate) stacked as two channels
  and outputs a grid of logits, one per overlapping patch, instead of one number.
* Loss: pix2pix's ``adversarial + λ·L1`` with λ = 100, or L1 alone (``adversarial=False``).
* Scores: L1, PSNR, the judge's recognition rate, and the edge energy inside the erased square
  (:func:`hole_edge_energy`): how crisp the repaired strokes are where the generator had to
  invent them.

Imports PyTorch only (never TensorFlow).

Used in lesson 10.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime, tables
from ..metrics import psnr

L1_WEIGHT = 100.0  # pix2pix's λ

#: How much work each run profile does (``settings()`` picks one).
SETTINGS = {
    "smoke": dict(n_train=256, n_test=200, steps=3, batch_size=16, ch=16, lr=2e-4),
    "cpu": dict(n_train=20_000, n_test=2000, steps=1000, batch_size=32, ch=16, lr=2e-4),
    "gpu": dict(n_train=60_000, n_test=10_000, steps=10_000, batch_size=64, ch=32, lr=2e-4),
}


def settings(profile: str | None = None) -> dict:
    """The :data:`SETTINGS` of the run profile in force (see :mod:`helpers.runtime`)."""
    return runtime.settings(SETTINGS, profile)


# --------------------------------------------------------------------------- task

def damage(clean: torch.Tensor, seed: int = 0, min_side: int = 9, max_side: int = 13) -> torch.Tensor:
    """Erase one random square (side ``min_side``…``max_side``) of each ``(N, 1, 28, 28)`` digit to 0 (grey in [-1, 1]).

    The squares stay inside the central 20×20 region, where the strokes are, so that
    the damage usually removes part of the digit.
    """
    rng = np.random.default_rng(seed)
    out = clean.clone()
    n, _, h, w = clean.shape
    sides = rng.integers(min_side, max_side + 1, size=n)
    for k, side in enumerate(sides):
        top = int(rng.integers(4, h - 4 - side + 1))
        left = int(rng.integers(4, w - 4 - side + 1))
        out[k, :, top: top + side, left: left + side] = 0.0
    return out


def hole_mask(damaged: torch.Tensor) -> torch.Tensor:
    """Where each damaged digit was erased: its pixels equal to 0 exactly.

    An MNIST pixel ``v/255`` maps to ``2v/255 − 1`` in [-1, 1], which is never 0 for an integer ``v``,
    so only the erased square is 0.
    """
    return damaged == 0


def make_task(split: str = "train", n: int = 1000, seed: int = 0,
              device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(damaged, clean, labels)`` for ``n`` MNIST digits of ``split`` in [-1, 1], damage drawn with ``seed``."""
    from ..torch_utils import mnist_tensors

    clean, labels = mnist_tensors(split, n, value_range=(-1.0, 1.0), seed=seed)
    return damage(clean, seed=seed + 1).to(device), clean.to(device), labels.to(device)


# --------------------------------------------------------------------------- generator

def decode(x: torch.Tensor, skip: torch.Tensor | None, up: nn.Module, fuse: nn.Module) -> torch.Tensor:
    """One U-Net decoder step: upsample ``x`` with ``up``, concatenate ``skip`` (if any) after it on the channels,
    ``fuse``."""
    h = up(x)
    if skip is not None:
        h = torch.cat([h, skip], dim=1)
    return fuse(h)


def unet_forward(g: UNet, x: torch.Tensor) -> torch.Tensor:
    """The U-Net's forward pass: :class:`UNet` runs it unless given its own ``forward_fn`` (lesson 10's exercise).

    The encoder keeps its 14×14 and 7×7 maps; each decoder step (``g.decoder``) joins the upsampled map with the
    encoder's map of the same size: 7×7 with ``enc2``'s, 14×14 with ``enc1``'s (none when ``g.skips`` is False).
    """
    e1 = g.enc1(x)
    e2 = g.enc2(e1)
    h = g.enc3(e2)
    h = g.decoder(h, e2 if g.skips else None, g.up3, g.fuse3)
    h = g.decoder(h, e1 if g.skips else None, g.up2, g.fuse2)
    return torch.tanh(g.out(g.up1(h)))


def _down(cin: int, cout: int, kernel: int = 4, norm: bool = True):
    layers = [nn.Conv2d(cin, cout, kernel, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True))


def _up(cin: int, cout: int, kernel: int):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _fuse(cin: int, cout: int):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """28×28 U-Net: encoder 28→14→7→4, decoder 4→7→14→28 with transposed convolutions.

    With ``skips`` the decoder step at 7×7 and at 14×14 concatenates the encoder's map of
    that size (``decode``); without, it only sees what came through the 4×4 bottleneck. ``forward_fn(g, x)``
    computes the forward pass from the layers (:func:`unet_forward`, or the learner's in lesson 10).
    """

    def __init__(self, ch: int = 16, skips: bool = True, decoder: Callable = decode,
                 forward_fn: Callable = unet_forward):
        super().__init__()
        self.skips, self.decoder, self.forward_fn = skips, decoder, forward_fn
        extra = 1 if skips else 0
        self.enc1 = _down(1, ch, norm=False)          # 28 → 14
        self.enc2 = _down(ch, 2 * ch)                 # 14 → 7
        self.enc3 = _down(2 * ch, 4 * ch, kernel=3)   # 7 → 4
        self.up3, self.fuse3 = _up(4 * ch, 2 * ch, 3), _fuse(2 * ch * (1 + extra), 2 * ch)  # 4 → 7
        self.up2, self.fuse2 = _up(2 * ch, ch, 4), _fuse(ch * (1 + extra), ch)              # 7 → 14
        self.up1 = _up(ch, ch, 4)                                                          # 14 → 28
        self.out = nn.Conv2d(ch, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Damaged digits ``(N, 1, 28, 28)`` in [-1, 1] → repaired digits, same shape (tanh)."""
        return self.forward_fn(self, x)


# --------------------------------------------------------------------------- discriminator

class PatchGAN(nn.Module):
    """Conditional PatchGAN: (input, candidate) → a grid of real/fake logits, one per patch.

    Three 4×4 convolutions (stride 2, 2, 1; padding 1): 28 → 14 → 7 → 6, so a 6×6 grid
    whose cells each see a 22×22 patch (:func:`receptive_field`). No BatchNorm on the first layer.
    """

    def __init__(self, ch: int = 32, in_channels: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ch, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ch, 2 * ch, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * ch),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * ch, 1, 4, stride=1, padding=1),
        )

    def forward(self, condition: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        """One logit per patch, ``(N, 1, h, w)``: is ``candidate`` the real repair of ``condition``?"""
        return self.net(torch.cat([condition, candidate], dim=1))


def conv_layers(model: nn.Module) -> list[tuple[int, int, int]]:
    """``(kernel, stride, padding)`` of each Conv2d in ``model``, in order (square kernels)."""
    return [(m.kernel_size[0], m.stride[0], m.padding[0]) for m in model.modules() if isinstance(m, nn.Conv2d)]


def patch_grid_size(size: int, layers: list[tuple[int, int, int]]) -> int:
    """Side of a PatchGAN's output grid for a ``size``×``size`` input: ⌊(n + 2p − k)/s⌋ + 1, layer by layer."""
    for kernel, stride, padding in layers:
        size = (size + 2 * padding - kernel) // stride + 1
    return size


def receptive_field(layers: list[tuple[int, int, int]]) -> int:
    """Side of the input patch one output cell sees: walk back from 1 with r ← (r − 1)·s + k."""
    r = 1
    for kernel, stride, _ in reversed(list(layers)):
        r = (r - 1) * stride + kernel
    return r


#: pix2pix's "70×70" PatchGAN on 256×256 images (C64-C128-C256-C512 then the 1-channel output).
PIX2PIX_70 = [(4, 2, 1), (4, 2, 1), (4, 2, 1), (4, 1, 1), (4, 1, 1)]


# --------------------------------------------------------------------------- losses

def generator_loss(fake_logits: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor,
                   l1_weight: float = L1_WEIGHT) -> torch.Tensor:
    """pix2pix's generator loss: BCE(D's logits on the fake, "real") + ``l1_weight``·mean|fake − target|.

    ``fake_logits=None`` drops the adversarial term (the L1-only ablation).
    """
    loss = l1_weight * F.l1_loss(fake, target)
    if fake_logits is not None:
        loss = loss + F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return loss


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Each patch's BCE, real → 1 and fake → 0, halved as in pix2pix (D learns at half G's rate)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


# --------------------------------------------------------------------------- training

@dataclass
class Pix2PixConfig:
    """One generator of the ablation: architecture (``skips``), loss (``adversarial``) and training budget."""

    skips: bool = True
    adversarial: bool = True
    steps: int = 1000
    batch_size: int = 32
    lr: float = 2e-4
    l1_weight: float = L1_WEIGHT
    ch: int = 16
    seed: int = 0

    @property
    def name(self) -> str:
        """The row label in the lesson's table."""
        loss = "L1 + adversarial" if self.adversarial else "L1 only"
        return f"U-Net {'with' if self.skips else 'without'} skips, {loss}"


def ablation_configs(s: dict, seed: int = 0) -> list[Pix2PixConfig]:
    """The four generators of the lesson's table: skips × adversarial term, same budget for each."""
    shared = dict(steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"], ch=s["ch"], seed=seed)
    return [Pix2PixConfig(skips=skips, adversarial=adversarial, **shared)
            for skips in (True, False) for adversarial in (True, False)]


def train(cfg: Pix2PixConfig, damaged: torch.Tensor, clean: torch.Tensor, device: str | torch.device = "cpu",
          generator_loss_fn: Callable = generator_loss, log_every: int = 0, decoder: Callable = decode,
          probe: torch.Tensor | None = None, probe_every: int = 0, forward_fn: Callable = unet_forward) -> dict:
    """Train one generator (and, with ``adversarial``, its PatchGAN) on ``(damaged, clean)`` pairs.

    Adam 2e-4, β₁ = 0.5 as in pix2pix. Returns ``{"generator", "discriminator", "losses", "hole", "seconds",
    "cpu_seconds"}`` with the per-step losses ``{"g": [...], "d": [...], "l1": [...]}``.
    ``generator_loss_fn``, ``decoder`` and ``forward_fn`` take the place of :func:`generator_loss`, :func:`decode`
    and :func:`unet_forward` (lesson 10 hands in the learner's own).

    With ``probe`` (held-out damaged digits) and ``probe_every``, ``hole`` is :func:`hole_curve`'s record of
    the hole edge energy of the generator's repairs of ``probe`` before training and every ``probe_every``
    steps: the L1 curves of the two losses coincide, but what the adversarial term changes inside the hole
    shows here. Measuring does not change the training (eval mode, no gradient, no random numbers drawn).
    """
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    g = UNet(cfg.ch, skips=cfg.skips, decoder=decoder, forward_fn=forward_fn).to(device)
    d = PatchGAN().to(device) if cfg.adversarial else None
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.999)) if d is not None else None
    losses = {"g": [], "d": [], "l1": []}
    hole = {"step": [], "hole edge energy": []}
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(cfg.steps):
        if probe is not None and probe_every and step % probe_every == 0:
            _measure_hole(hole, step, g, probe, device)
        index = torch.randint(len(clean), (cfg.batch_size,), generator=rng)
        x, y = damaged[index].to(device), clean[index].to(device)
        fake = g(x)
        if d is not None:
            loss_d = discriminator_loss(d(x, y), d(x, fake.detach()))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            losses["d"].append(loss_d.item())
        loss_g = generator_loss_fn(d(x, fake) if d is not None else None, fake, y, cfg.l1_weight)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        losses["g"].append(loss_g.item())
        losses["l1"].append(F.l1_loss(fake.detach(), y).item())
        if log_every and (step + 1) % log_every == 0:
            print(f"{cfg.name}: step {step + 1}, L1 {np.mean(losses['l1'][-log_every:]):.4f}")
    if probe is not None and probe_every:
        _measure_hole(hole, cfg.steps, g, probe, device)  # the trained generator: the table's measure
    g.eval()
    return {"generator": g, "discriminator": d, "losses": losses, "hole": hole, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu_start}


def _measure_hole(hole: dict, step: int, g: nn.Module, probe: torch.Tensor, device: str | torch.device) -> None:
    """Append the hole edge energy of ``g``'s repairs of ``probe`` at ``step``, then put ``g`` back to training.

    In eval mode, as :func:`translate` scores the finished generator, so the last point is the table's measure.
    """
    hole["step"].append(step)
    hole["hole edge energy"].append(hole_edge_energy(translate(g, probe, device), probe))
    g.train()


@torch.no_grad()
def translate(g: nn.Module, damaged: torch.Tensor, device: str | torch.device = "cpu",
              batch_size: int = 500) -> torch.Tensor:
    """The generator's repairs of ``damaged`` (CPU tensor in [-1, 1])."""
    g.to(device).eval()
    return torch.cat([g(damaged[i: i + batch_size].to(device)).cpu() for i in range(0, len(damaged), batch_size)])


def hole_edge_energy(images: torch.Tensor, damaged: torch.Tensor) -> float:
    """Mean squared gradient magnitude of ``images`` on [0, 1] over the erased pixels of ``damaged``, averaged
    over images: how crisp the strokes are where the generator had to invent them.

    Squared, because the plain mean of |∇| cannot tell a step from a ramp: an edge that rises by h spreads
    the same total |∇| = h over however many pixels it is smeared across, but its Σ|∇|² falls as h²/width.
    A grey, low-contrast stroke lowers it too; the flat grey of the damaged input has none inside the square
    (only at its seams). Central differences (``torch.gradient``), so the square's border pixels see the seam
    with the undamaged digit.
    """
    x = ((images.detach().cpu().double() + 1) / 2).clamp(0, 1)
    gy, gx = torch.gradient(x, dim=(-2, -1))
    mask = hole_mask(damaged.detach().cpu()).double()
    per_image = ((gx**2 + gy**2) * mask).flatten(1).sum(1) / mask.flatten(1).sum(1)
    return float(per_image.mean())


def hole_crops(images: torch.Tensor, damaged: torch.Tensor, size: int = 15) -> torch.Tensor:
    """A ``size``×``size`` window of each image centred on its erased square (for a zoomed comparison)."""
    crops = []
    for image, mask in zip(images.detach().cpu(), hole_mask(damaged.detach().cpu()), strict=True):
        rows, cols = mask.any(0).any(1).nonzero()[:, 0], mask.any(0).any(0).nonzero()[:, 0]
        h, w = image.shape[-2:]
        top = min(max(0, (int(rows.min()) + int(rows.max()) + 1 - size) // 2), h - size)
        left = min(max(0, (int(cols.min()) + int(cols.max()) + 1 - size) // 2), w - size)
        crops.append(image[..., top: top + size, left: left + size])
    return torch.stack(crops)


def image_scores(output: torch.Tensor, clean: torch.Tensor, labels: torch.Tensor, judge: bool = True,
                 damaged: torch.Tensor | None = None) -> dict:
    """L1 and PSNR on [0, 1] images (mean over images), and the judge's recognition rate of ``output``.

    With ``damaged`` (the inputs), also ``"hole edge energy"``: :func:`hole_edge_energy` of ``output``.
    """
    out = ((output.detach().cpu().double() + 1) / 2).clamp(0, 1)
    ref = (clean.detach().cpu().double() + 1) / 2
    per_image = psnr(out.numpy(), ref.numpy(), axis=tuple(range(1, out.ndim)))  # inf for the target itself
    row = {"L1": float((out - ref).abs().mean()), "PSNR dB": float(per_image.mean())}
    if damaged is not None:
        row["hole edge energy"] = hole_edge_energy(output, damaged)
    if judge:
        from ..judge import accuracy

        row["judge accuracy"] = accuracy(out.float().numpy(), labels.cpu().numpy(), value_range=(0, 1))
    return row


def ablation(configs: list[Pix2PixConfig], train_data: tuple[torch.Tensor, torch.Tensor],
             test_data: tuple[torch.Tensor, torch.Tensor, torch.Tensor], device: str | torch.device = "cpu",
             judge: bool = True, log_every: int = 0, generator_loss_fn: Callable = generator_loss,
             decoder: Callable = decode, probe_every: int = 0, n_probe: int = 500,
             forward_fn: Callable = unet_forward) -> tuple[list[dict], dict]:
    """Train each configuration and score it on the held-out ``test_data``; also score the input and the target.

    Returns ``(rows, results)`` where ``results`` maps each configuration's name to what
    :func:`train` returned (the generator, the loss curves, the hole curve, the time). ``generator_loss_fn``,
    ``decoder`` and ``forward_fn`` are handed to :func:`train` for every configuration; with ``probe_every``, each
    generator's hole edge energy is recorded during training on the first ``n_probe`` held-out digits (a subset,
    to keep the measurements cheap next to the training).
    """
    damaged, clean, labels = test_data
    rows = [{"model": "damaged input (no model)", "parameters": 0, "train s": 0.0, "train CPU s": 0.0,
             **image_scores(damaged, clean, labels, judge, damaged)}]
    results = {}
    for cfg in configs:
        result = train(cfg, train_data[0], train_data[1], device=device, log_every=log_every,
                       generator_loss_fn=generator_loss_fn, decoder=decoder, probe=damaged[:n_probe],
                       probe_every=probe_every, forward_fn=forward_fn)
        g = result["generator"]
        results[cfg.name] = result
        rows.append({"model": cfg.name, "parameters": sum(p.numel() for p in g.parameters()),
                     "train s": result["seconds"], "train CPU s": result["cpu_seconds"],
                     **image_scores(translate(g, damaged, device), clean, labels, judge, damaged)})
    rows.append({"model": "clean target", "parameters": 0, "train s": 0.0, "train CPU s": 0.0,
                 **image_scores(clean, clean, labels, judge, damaged)})
    return rows, results


def format_table(rows: list[dict]) -> str:
    """The ablation rows as a Markdown table."""
    columns = [c for c in ("model", "parameters", "train s", "train CPU s", "L1", "PSNR dB", "hole edge energy",
                           "judge accuracy") if c in rows[0]]
    formats = {"parameters": "{:,}", "train s": "{:.0f}", "train CPU s": "{:.0f}", "L1": "{:.4f}", "PSNR dB": "{:.2f}",
               "hole edge energy": "{:.4f}", "judge accuracy": "{:.1%}", "model": "{}"}
    return tables.format_table(rows, columns, formats)
