"""Super-resolution in PyTorch (lesson 09): data, the three methods, training, evaluation.

* Data that never downloads: MNIST from the course's verified archive, and natural
  images read straight from the PNG/JPEG files that ship *inside* the scikit-image
  wheel (``skimage/data/*.png``). We open those files by path instead of calling
  ``skimage.data.<name>()``, because some of those functions fetch from the internet
  with pooch; a file path cannot. Training and test images are disjoint.
* Degradation: the low-resolution (LR) image is the high-resolution (HR) one shrunk by
  ``scale`` with antialiased bicubic interpolation. Away from the borders this is what
  MATLAB's ``imresize(..., 'bicubic')`` computes (``tests/apps/test_sr.py``), the convention
  of the SR benchmarks and of SRCNN's released code; the SRCNN and ESPCN papers describe a
  Gaussian blur followed by subsampling instead. We work on luminance only, as those papers do.
* Methods: bicubic upsampling (no weights); SRCNN (Dong et al. 2014: bicubic first,
  then three convolutions at high resolution); ESPCN (Shi et al. 2016: three
  convolutions at low resolution, then a pixel shuffle, initialised with ICNR).
* Metrics: PSNR and SSIM from ``skimage.metrics`` on the luminance in [0, 1], with
  ``scale`` pixels shaved off each border (the usual convention: borders are where
  zero padding and interpolation differ most).

Imports PyTorch only (never TensorFlow).

Used in lesson 09.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime, tables
from ..metrics import psnr  # noqa: F401 (lesson 09 calls sr.psnr)
from ..torch_utils import icnr_

#: Natural images bundled in the scikit-image wheel (file names under ``skimage/data``).
TRAIN_IMAGES = ("astronaut.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "brick.png",
                "grass.png", "gravel.png", "moon.png", "ihc.png", "hubble_deep_field.jpg")
TEST_IMAGES = ("camera.png", "chelsea.png", "coins.png")

#: How much work each run profile does (``settings()`` picks one). ``max_side`` crops the
#: pictures (smoke only); ``seconds`` is a safety stop for the CPU promise (≤ 5 minutes of CPU time a model).
SETTINGS = {
    "smoke": dict(scale=3, max_side=96, patch=8, batch_size=4, steps_espcn=3, steps_srcnn=3, mnist_n=256, mnist_steps=3,
                  lr=1e-3, seconds=None),
    "cpu": dict(scale=3, max_side=None, patch=17, batch_size=16, steps_espcn=3000, steps_srcnn=1000, mnist_n=10_000,
                mnist_steps=400, lr=1e-3, seconds=300),
    "gpu": dict(scale=3, max_side=None, patch=17, batch_size=64, steps_espcn=30_000, steps_srcnn=30_000, mnist_n=60_000,
                mnist_steps=2000, lr=1e-3, seconds=None),
}

#: Published reference points on Set5 ×3 (Dong et al., TPAMI 2016) — other data, for context only. SRCNN's 32.75 dB
#: is the TPAMI paper's 9-5-5 network trained on ImageNet (the ECCV 2014 9-1-5 network trained on 91 images: 32.39 dB).
PUBLISHED_SET5_X3 = {"bicubic": 30.39, "SRCNN 9-5-5 (ImageNet)": 32.75}


def settings(profile: str | None = None) -> dict:
    """The :data:`SETTINGS` of the run profile in force (see :mod:`helpers.runtime`)."""
    return runtime.settings(SETTINGS, profile)


# --------------------------------------------------------------------------- data

def skimage_data_dir() -> Path:
    """The folder inside the installed scikit-image package that holds its bundled images."""
    import skimage

    return Path(skimage.__file__).resolve().parent / "data"


def load_image(name: str, colour: bool = False) -> np.ndarray:
    """One bundled scikit-image picture as float32 in [0, 1], read from the wheel's own file.

    ``colour=False``: luminance ``(H, W)``. ``colour=True``: RGB ``(3, H, W)`` (a grey picture repeats its
    one channel three times; an alpha channel is dropped).
    """
    from skimage import color, io

    path = skimage_data_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not shipped with this scikit-image; "
                                f"choose one of the files in {path.parent}")
    image = io.imread(path)
    if image.ndim == 3:
        image = image[..., :3]
        image = image.transpose(2, 0, 1) / 255.0 if colour else color.rgb2gray(image)  # luminance, in [0, 1]
    elif image.dtype == np.uint8:
        image = image / 255.0
    elif image.dtype == np.uint16:
        image = image / 65535.0
    if colour and image.ndim == 2:
        image = np.stack([image] * 3)
    return np.clip(np.asarray(image, np.float32), 0.0, 1.0)


def load_gray(name: str) -> np.ndarray:
    """One bundled scikit-image picture as float32 luminance ``(H, W)`` in [0, 1]."""
    return load_image(name)


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """HR ``(N, C, H, W)`` → LR ``(N, C, H/scale, W/scale)``: antialiased bicubic.

    The cubic kernel (a = −0.5) is stretched by ``scale``, so it low-passes before it subsamples; away
    from the borders the result is MATLAB's ``imresize(hr, 1/scale, 'bicubic')`` (which mirrors the
    image at the borders where PyTorch renormalises the cut kernel).
    """
    if hr.shape[-1] % scale or hr.shape[-2] % scale:
        raise ValueError(f"image size {tuple(hr.shape[-2:])} is not divisible by scale {scale}; crop it first")
    return F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline: bicubic upsampling by ``scale`` (no weights), clipped to [0, 1]."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


def crop_to_multiple(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom and right edges so that height and width are multiples of ``scale``."""
    h, w = image.shape[-2:]
    return image[..., : h - h % scale, : w - w % scale]


@dataclass
class SRImage:
    """One picture at three versions: HR target, LR input, and the LR's bicubic upsampling."""

    name: str
    hr: torch.Tensor   # (1, C, H, W): C = 1 (luminance) or 3 (colour)
    lr: torch.Tensor   # (1, C, H/scale, W/scale)
    up: torch.Tensor   # (1, C, H, W) bicubic(lr): SRCNN's input and the baseline


def make_pairs(names: Sequence[str], scale: int, max_side: int | None = None, colour: bool = False) -> list[SRImage]:
    """HR/LR/bicubic triples for the named bundled images (optionally centre-cropped to ``max_side``);
    luminance, or RGB with ``colour=True``."""
    out = []
    for name in names:
        image = load_image(name, colour)
        if max_side is not None:
            h, w = image.shape[-2:]
            top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
            image = image[..., top: top + max_side, left: left + max_side]
        image = np.ascontiguousarray(crop_to_multiple(image, scale))
        hr = torch.from_numpy(image).reshape(1, -1, *image.shape[-2:])  # (1, C, H, W)
        lr = downscale(hr, scale)
        out.append(SRImage(name, hr, lr, bicubic(lr, scale)))
    return out


def mnist_pairs(n: int, scale: int = 2, split: str = "train", seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST digits as ``(lr, hr)``: 28×28 targets and their ``scale``-times smaller inputs (14×14 at ×2)."""
    from ..torch_utils import mnist_tensors

    hr, _ = mnist_tensors(split, n, value_range=(0.0, 1.0), seed=seed)
    return downscale(hr, scale), hr


def as_images(lr: torch.Tensor, hr: torch.Tensor, scale: int, name: str = "digit") -> list[SRImage]:
    """A batch ``(N, 1, h, w)``/``(N, 1, H, W)`` as a list of :class:`SRImage`
    (for :class:`PatchSampler`, :func:`evaluate`)."""
    return [SRImage(f"{name}{i}", hr[i: i + 1], lr[i: i + 1], bicubic(lr[i: i + 1], scale)) for i in range(len(lr))]


class PatchSampler:
    """Random aligned training patches from a list of :class:`SRImage`, with flips and 90° turns.

    ``sampler(batch_size)`` returns ``(lr, up, hr)`` patches of LR size ``patch`` (HR size
    ``patch*scale``): ESPCN learns lr → hr, SRCNN up → hr. Cropping the already
    degraded images (rather than degrading each crop) keeps the patches exactly
    like the test images.
    """

    def __init__(self, images: list[SRImage], scale: int, patch: int = 17, seed: int = 0):
        self.images, self.scale, self.patch = images, scale, patch
        self.rng = np.random.default_rng(seed)
        sizes = np.array([im.lr.shape[-2] * im.lr.shape[-1] for im in images], np.float64)
        self.weights = sizes / sizes.sum()  # big pictures give more patches

    def __call__(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``batch_size`` random ``(lr, up, hr)`` patches, stacked."""
        s, p = self.scale, self.patch
        lrs, ups, hrs = [], [], []
        for k in self.rng.choice(len(self.images), size=batch_size, p=self.weights):
            im = self.images[k]
            h, w = im.lr.shape[-2:]
            i, j = int(self.rng.integers(0, h - p + 1)), int(self.rng.integers(0, w - p + 1))
            crops = [im.lr[..., i: i + p, j: j + p], im.up[..., i * s: (i + p) * s, j * s: (j + p) * s],
                     im.hr[..., i * s: (i + p) * s, j * s: (j + p) * s]]
            turns, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
            crops = [torch.rot90(c, turns, (-2, -1)) for c in crops]
            if flip:
                crops = [torch.flip(c, (-1,)) for c in crops]
            for out, c in zip((lrs, ups, hrs), crops, strict=True):
                out.append(c)
        return torch.cat(lrs), torch.cat(ups), torch.cat(hrs)


# --------------------------------------------------------------------------- models

class Bicubic(nn.Module):
    """Bicubic upsampling as a module, so that it sits in the same table as the networks."""

    input_kind = "lr"

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """The bicubic upsampling of ``lr``."""
        return bicubic(lr, self.scale)


class SRCNN(nn.Module):
    """Dong et al. 2014, the 9-1-5 network: upsample first (bicubic, outside), then convolve at HR.

    Every convolution runs on the big image, so the cost per output pixel is the whole network.
    ``same`` zero padding keeps the size (the paper used ``valid`` convolutions and a smaller target).
    ``residual=True`` (our default, not the paper's) adds the bicubic input to the output, so the
    convolutions learn only the correction: the network starts at bicubic quality instead of at noise,
    which is what makes a few minutes of CPU training enough (the "global residual" of VDSR, Kim et al. 2016).
    """

    input_kind = "up"

    def __init__(self, channels: int = 1, n1: int = 64, n2: int = 32, f1: int = 9, f2: int = 1, f3: int = 5,
                 residual: bool = True):
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(
            nn.Conv2d(channels, n1, f1, padding=f1 // 2), nn.ReLU(inplace=True),
            nn.Conv2d(n1, n2, f2, padding=f2 // 2), nn.ReLU(inplace=True),
            nn.Conv2d(n2, channels, f3, padding=f3 // 2),
        )

    def forward(self, up: torch.Tensor) -> torch.Tensor:
        """The HR estimate from the bicubic upsampling ``up``."""
        out = self.body(up)
        return up + out if self.residual else out


class ESPCN(nn.Module):
    """Shi et al. 2016: convolve at LR, then rearrange ``C·scale²`` channels into a ``scale``-times bigger image.

    Layers (5×5, 64) → (3×3, 32) → (3×3, scale²) then ``nn.PixelShuffle(scale)``; ReLU (the paper
    used tanh; in our short CPU runs ReLU trained slightly faster). The sub-pixel convolution is
    ICNR-initialised (:func:`helpers.torch_utils.icnr_`). ``residual=True`` (our default, not
    the paper's) adds the bicubic upsampling of the input, as :class:`SRCNN` does, so that the
    learned part is only the correction to bicubic.
    """

    input_kind = "lr"

    def __init__(self, scale: int, channels: int = 1, n1: int = 64, n2: int = 32, icnr: bool = True,
                 activation: type[nn.Module] = nn.ReLU, residual: bool = True):
        super().__init__()
        self.scale, self.residual = scale, residual
        self.features = nn.Sequential(
            nn.Conv2d(channels, n1, 5, padding=2), activation(),
            nn.Conv2d(n1, n2, 3, padding=1), activation(),
        )
        self.to_subpixels = nn.Conv2d(n2, channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        if icnr:
            icnr_(self.to_subpixels.weight, scale)
            nn.init.zeros_(self.to_subpixels.bias)  # a random bias per sub-pixel would be a checkerboard

    def head(self, lr: torch.Tensor) -> torch.Tensor:
        """The learned part alone: features, sub-pixel convolution, pixel shuffle."""
        return self.shuffle(self.to_subpixels(self.features(lr)))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """The HR estimate from ``lr``."""
        out = self.head(lr)
        return bicubic(lr, self.scale) + out if self.residual else out


# --------------------------------------------------------------------------- costs

def n_parameters(model: nn.Module) -> int:
    """How many numbers the model learns."""
    return sum(p.numel() for p in model.parameters())


def flops_per_output_pixel(model: nn.Module, lr_shape: tuple[int, int, int, int] = (1, 1, 32, 32),
                           scale: int = 3) -> float:
    """Multiply-adds ×2 of every convolution, divided by the number of HR output pixels.

    Counted with forward hooks on a dummy input, so it follows the model as written.
    Bicubic interpolation has no convolution layers: we count its 4×4 taps per output
    pixel (16 multiply-adds; a separable implementation needs fewer), also for the bicubic
    skip of a ``residual`` model.
    """
    bicubic_flops = 2.0 * 16
    if isinstance(model, Bicubic):
        return bicubic_flops
    macs = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
        nonlocal macs
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        macs += output[0].numel() * k  # per image, biases ignored

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    n, c, h, w = lr_shape
    x = torch.zeros(lr_shape)
    if getattr(model, "input_kind", "lr") == "up":
        x = torch.zeros((n, c, h * scale, w * scale))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return 2.0 * macs / (h * scale * w * scale) + bicubic_flops * _uses_bicubic(model)


def _uses_bicubic(model: nn.Module) -> bool:
    """SRCNN reads a bicubic upsampling; a residual ESPCN adds one."""
    return getattr(model, "input_kind", "lr") == "up" or bool(getattr(model, "residual", False))


# --------------------------------------------------------------------------- training

def train(model: nn.Module, sampler: Callable, steps: int, *, batch_size: int = 16, lr: float = 1e-3,
          device: str | torch.device = "cpu",
          time_limit: float | None = None, log_every: int = 0, lr_decay_at: float = 0.8,
          loop: Callable | None = None, evaluate_at: Sequence[int] = (),
          evaluate: Callable[[int, nn.Module], object] | None = None) -> dict:
    """Adam on the mean squared error; the learning rate drops 10× after ``lr_decay_at`` of the steps.

    ``sampler(batch_size)`` gives ``(lr, up, hr)``; the model reads the one its ``input_kind``
    names. ``time_limit`` stops early after that many seconds of this process's CPU time
    (not wall-clock time, which on a shared machine also counts everyone else's work), so a
    CPU run keeps its promise. Returns ``{"losses", "steps", "seconds", "cpu_seconds"}``.

    ``loop`` replaces the course's own steps by a loop with the signature of lesson 09's exercise,
    ``loop(model, sampler, steps, batch_size, lr) -> losses`` (the learner's ``train_sr``): it is called
    once for the steps before the drop and once, at a tenth of the learning rate, for the steps after it,
    with batches already on ``device``. A loop cannot be stopped halfway: ``time_limit`` only skips its
    second call, and ``log_every`` does not apply.

    ``evaluate(step, model)`` is called after each of the steps listed in ``evaluate_at`` (0 = before
    training), with the model in evaluation mode; its results are returned as ``"evaluations"``, a list of
    ``(step, result)``. It is driven by the sampler (a loop draws one batch per step), so it works with
    any ``loop``; its time is not counted in ``seconds`` or ``cpu_seconds``, nor against ``time_limit``.
    """
    sampler = _Clock(sampler, model, evaluate_at, evaluate)
    if loop is not None:
        return _train_with_loop(loop, model, sampler, steps, batch_size, lr, device, time_limit, lr_decay_at)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, [max(1, int(steps * lr_decay_at))], 0.1)
    losses, start, cpu_start, done = [], time.perf_counter(), time.process_time(), 0
    for step in range(steps):
        lr_patch, up_patch, hr_patch = sampler(batch_size)
        x = (up_patch if model.input_kind == "up" else lr_patch).to(device)
        loss = F.mse_loss(model(x), hr_patch.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        done = step + 1
        if log_every and done % log_every == 0:
            print(f"step {done}: loss {np.mean(losses[-log_every:]):.5f}")
        if time_limit is not None and time.process_time() - cpu_start - sampler.cpu_seconds > time_limit:
            break
    return sampler.finish(done, {"losses": losses, "steps": done, "seconds": time.perf_counter() - start,
                                 "cpu_seconds": time.process_time() - cpu_start})


class _Clock:
    """A sampler that counts the batches drawn and evaluates the model after the listed steps.

    A training loop draws one batch per step, so the ``k``-th draw happens after ``k`` steps: this is how
    :func:`train` can look at the model during any loop, the learner's included, without changing it.
    """

    def __init__(self, sampler: Callable, model: nn.Module, at: Sequence[int],
                 evaluate: Callable[[int, nn.Module], object] | None):
        self.sampler, self.model, self.evaluate = sampler, model, evaluate
        self.at = set(at) if evaluate is not None else set()
        self.drawn, self.evaluations, self.seconds, self.cpu_seconds = 0, [], 0.0, 0.0

    def _evaluate(self, step: int) -> None:
        if step not in self.at or any(done == step for done, _ in self.evaluations):
            return
        start, cpu_start, training = time.perf_counter(), time.process_time(), self.model.training
        self.model.eval()
        with torch.no_grad():
            self.evaluations.append((step, self.evaluate(step, self.model)))
        self.model.train(training)
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.process_time() - cpu_start

    def __call__(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        self._evaluate(self.drawn)
        self.drawn += 1
        return self.sampler(batch_size)

    def finish(self, steps: int, history: dict) -> dict:
        """``history`` without the time of the evaluations during training, plus the one after the last step."""
        history["seconds"] -= self.seconds
        history["cpu_seconds"] -= self.cpu_seconds
        self._evaluate(steps)
        self.model.eval()
        if self.evaluate is not None:
            history["evaluations"] = self.evaluations
        return history


def _train_with_loop(loop: Callable, model: nn.Module, sampler: _Clock, steps: int, batch_size: int, lr: float,
                     device: str | torch.device, time_limit: float | None, lr_decay_at: float) -> dict:
    """:func:`train` with a foreign loop: the same schedule in two calls, the same device, the same timing."""
    model.to(device)

    def on_device(n: int) -> tuple[torch.Tensor, ...]:
        return tuple(t.to(device) for t in sampler(n))

    before = min(steps, max(1, int(steps * lr_decay_at)))  # the milestone of train's MultiStepLR
    losses, done, start, cpu_start = [], 0, time.perf_counter(), time.process_time()
    for n, rate in ((before, lr), (steps - before, 0.1 * lr)):
        if n <= 0 or (done and time_limit is not None
                      and time.process_time() - cpu_start - sampler.cpu_seconds > time_limit):
            continue
        losses += [float(value) for value in loop(model, on_device, n, batch_size, rate)]
        done += n
    return sampler.finish(done, {"losses": losses, "steps": done, "seconds": time.perf_counter() - start,
                                 "cpu_seconds": time.process_time() - cpu_start})


def plain_loop(model: nn.Module, sampler: Callable, steps: int, batch_size: int = 16, lr: float = 1e-3) -> list[float]:
    """The course's loop with the signature of lesson 09's exercise ``train_sr``: :func:`train` at one learning
    rate, its losses. What ``train(..., loop=...)`` runs while the learner's ``train_sr`` is not solved yet."""
    device = next(model.parameters()).device  # stay where the caller put the model
    return train(model, sampler, steps, batch_size=batch_size, lr=lr, device=device, lr_decay_at=1.0)["losses"]


# --------------------------------------------------------------------------- evaluation

def shave(image: np.ndarray, border: int) -> np.ndarray:
    """``image`` (``(H, W)`` or ``(C, H, W)``) without ``border`` pixels on each side."""
    return image[..., border:-border, border:-border] if border else image


@torch.no_grad()
def predict(model: nn.Module, image: SRImage, device: str | torch.device = "cpu") -> np.ndarray:
    """The model's HR estimate of one picture, clipped to [0, 1]: ``(H, W)`` for luminance, ``(3, H, W)`` for colour."""
    model.to(device).eval()
    x = image.up if getattr(model, "input_kind", "lr") == "up" else image.lr
    out = model(x.to(device)).clamp(0, 1)[0].cpu().numpy()
    return out[0] if out.shape[0] == 1 else out


def truth(image: SRImage) -> np.ndarray:
    """The HR picture as :func:`predict` returns an estimate: ``(H, W)`` or ``(3, H, W)``."""
    hr = image.hr[0].numpy()
    return hr[0] if hr.shape[0] == 1 else hr


def psnr_ssim(prediction: np.ndarray, target: np.ndarray, border: int) -> tuple[float, float]:
    """(PSNR dB, SSIM) with ``skimage.metrics`` on [0, 1] images, ``border`` pixels shaved.

    ``(H, W)`` or colour ``(3, H, W)`` (PSNR over all channels; SSIM per channel, averaged)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    p, t = shave(prediction, border).astype(np.float64), shave(target, border).astype(np.float64)
    channel_axis = 0 if p.ndim == 3 else None
    return (peak_signal_noise_ratio(t, p, data_range=1.0),
            structural_similarity(t, p, data_range=1.0, channel_axis=channel_axis))


def held_out_psnr(model: nn.Module, images: Sequence[SRImage], scale: int, device: str | torch.device = "cpu") -> float:
    """Mean PSNR (dB) of ``model`` on ``images``, ``scale`` pixels shaved: the measure to follow during training."""
    return float(np.mean([psnr_ssim(predict(model, im, device), truth(im), border=scale)[0] for im in images]))


def _time_inference(model: nn.Module, image: SRImage, device: str | torch.device, repeats: int) -> float:
    predict(model, image, device)  # warm-up
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        predict(model, image, device)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def evaluate(models: dict, images: list[SRImage], scale: int, device: str | torch.device = "cpu",
             repeats: int = 3) -> list[dict]:
    """One row per method: parameters, FLOPs per output pixel, milliseconds per megapixel, mean PSNR/SSIM.

    Also one ``psnr:<image>`` entry per test picture.
    """
    rows = []
    megapixels = images[0].hr.numel() / 1e6
    for name, model in models.items():
        per_image = [psnr_ssim(predict(model, im, device), truth(im), border=scale) for im in images]
        row = {
            "method": name,
            "parameters": n_parameters(model),
            "FLOPs/pixel": flops_per_output_pixel(model, scale=scale),
            "ms/megapixel": 1e3 * _time_inference(model, images[0], device, repeats) / megapixels,
            "PSNR dB": float(np.mean([p for p, _ in per_image])),
            "SSIM": float(np.mean([s for _, s in per_image])),
        }
        row.update({f"psnr:{im.name}": p for im, (p, _) in zip(images, per_image, strict=True)})
        rows.append(row)
    return rows


def format_table(rows: list[dict], columns: tuple[str, ...] = ("method", "parameters", "FLOPs/pixel", "ms/megapixel",
                                                          "PSNR dB", "SSIM")) -> str:
    """The rows as a Markdown table (numbers rounded for reading)."""
    return tables.format_table(rows, columns)
