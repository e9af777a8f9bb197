"""The reference DCGAN in PyTorch: models, one training step, EMA, checkpoints, and the run that the shared loop
(:mod:`helpers.gan.loop`) trains.

Imports PyTorch only (never TensorFlow). The command line is :mod:`helpers.gan`; lesson 08
uses the pieces one by one. The same code runs on CUDA, Apple ``mps`` and CPU; on CUDA it
also keeps the whole data set on the device, runs in mixed precision (bfloat16 on cards
that have it natively, compute capability 8.0 or more; float16 with a gradient scaler on
older ones such as the T4: :func:`helpers.torch_utils.mixed_precision`) and uses
channels-last memory; asked to, it compiles G and D with ``torch.compile`` (falling back to
eager PyTorch, with one printed line, where compiling fails). Each is
switchable in ``cfg.extra`` (``amp``, ``channels_last``, ``data_on_device``, ``compile``)
so that their effect can be measured rather than assumed (``scripts/bench_gan_torch.py``);
``threads`` sets ``torch.set_num_threads`` on the CPU. Where the card allows it (:func:`graph_plan`), the whole
step — both updates, the EMA, the loss sums — runs as one captured CUDA graph (:class:`GraphedStep`; docs/gpu.md).

Lesson 08's exercises can train the model: :func:`train` takes the learner's ``train_step``,
``ema_update`` and ``upsample_block`` (a block like ``resize_conv_block``) in place of the reference
pieces, with the lesson's signatures (:data:`StepFn`, :data:`EmaFn`, :data:`BlockFn`).

Reproducibility: every random draw comes from two seeded generators (data order on the
CPU, noise on the device) whose states go into the checkpoint with everything else, so
``resume`` continues exactly where the interrupted run stopped — or, with more ``steps``,
trains a finished run further exactly as a run of that length would have (nothing in the
loop depends on the total number of steps: the learning rate is constant, and the loss
log's last, partial interval is dropped again when training goes on).

Used in lesson 08.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm  # (the name is D's argument)

from ..torch_utils import MixedPrecision, icnr_, mixed_precision
from . import loop
from .config import (
    CHECKPOINT_FILES,
    UPSAMPLE_KINDS,
    CheckpointError,
    GanConfig,
    OnEpoch,
    OnLog,
    checkpoint_path,
    new_history,
    r1_gamma_at,
)
from .loop import check_saved_run
from .outputs import atomic_write, to_uint8

Autocast = Callable[[], AbstractContextManager]  # a context-manager factory: torch.autocast(...) or none
#: Lesson 08's ``train_step(g, d, opt_g, opt_d, real, z) -> (loss_d, loss_g)``: no autocast, scaler or label target.
StepFn = Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.optim.Optimizer, torch.Tensor, torch.Tensor],
                  tuple[torch.Tensor | float, torch.Tensor | float]]
#: Lesson 08's ``ema_update(ema, model, decay)``, in place.
EmaFn = Callable[[nn.Module, nn.Module, float], None]
#: ``block(in_channels, out_channels) -> nn.Module``: a ×2 upsampling block, e.g. lesson 08's ``resize_conv_block``.
BlockFn = Callable[[int, int], nn.Module]
CHECKPOINT_FILE = CHECKPOINT_FILES["torch"]
#: Stored as the checkpoint's ``"version"``; :func:`load_checkpoint` refuses any other.
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- models

class PixelShuffleUp(nn.Sequential):
    """3×3 conv to ``out·4`` channels, then ``nn.PixelShuffle(2)``; ICNR-initialised."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__(nn.Conv2d(in_channels, out_channels * 4, 3, padding=1, bias=bias), nn.PixelShuffle(2))

    def reset_icnr(self) -> None:
        """Re-initialise the conv with ICNR (:func:`helpers.torch_utils.icnr_`) and a zero bias."""
        icnr_(self[0].weight, 2, init=lambda w: nn.init.normal_(w, 0.0, 0.02))  # DCGAN's N(0, 0.02), like every layer
        if self[0].bias is not None:
            nn.init.zeros_(self[0].bias)


def resize_conv_block(in_channels: int, out_channels: int, bias: bool = True) -> nn.Module:
    """Nearest ×2, then a 3×3 conv: the resize-convolution (lesson 08's exercise, so the grader can withhold it).

    The default, a bias, is the exercise's: standing in for it as ``train(..., upsample_block=...)``, this
    builds what the learner's block builds; :func:`upsample_block` passes ``bias`` explicitly.
    """
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias))


def upsample_block(kind: str, in_channels: int, out_channels: int, bias: bool = False) -> nn.Module:
    """A ×2 upsampling layer of the given kind (see ``helpers.gan.UPSAMPLE_KINDS``)."""
    if kind == "convtranspose":  # k4 s2 p1: even overlap, yet four sub-kernels, one per output phase (F10)
        return nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)
    if kind == "convtranspose3":  # k3 s2: uneven overlap, the classic checkerboard
        return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1, bias=bias)
    if kind == "resize_conv":
        return resize_conv_block(in_channels, out_channels, bias=bias)
    if kind == "pixel_shuffle":
        return PixelShuffleUp(in_channels, out_channels, bias=bias)
    raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE_KINDS)}; got {kind!r}")


def dcgan_init_(module: nn.Module) -> nn.Module:
    """Radford et al.: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02), biases 0; ICNR for pixel shuffle."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            # under spectral normalisation the parameter is the unnormalised weight
            nn.init.normal_(m.parametrizations.weight.original if parametrize.is_parametrized(m, "weight")
                            else m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, PixelShuffleUp):
            m.reset_icnr()
    return module


class Generator(nn.Module):
    """z → [dense ``hidden``, BN, ReLU] → 7×7×w → [``refine`` × (3×3 conv, BN, ReLU) at 7×7] → (up, BN, ReLU)
    14×14×w/2 → (up) 28×28×1 → tanh.

    ``refine=0`` is lesson 07's and 08's plain DCGAN generator; the cpu and gpu profiles add one
    3×3 block at 7×7, which measurably improves the digits' shapes (docs/gan_results.md).
    ``block``, if given, builds both ``up`` blocks (``block(in_channels, out_channels)``) instead of
    :func:`upsample_block` for ``upsample``. ``hidden`` puts a dense layer between z and the 7×7 projection, as
    in the DCGAN authors' own MNIST generator (1,024 units) and InfoGAN's.
    """

    def __init__(self, latent_dim: int = 64, width: int = 128, upsample: str = "convtranspose", refine: int = 0,
                 block: BlockFn | None = None, hidden: int = 0):
        super().__init__()

        def up(in_channels: int, out_channels: int, bias: bool) -> nn.Module:
            return block(in_channels, out_channels) if block is not None else upsample_block(
                upsample, in_channels, out_channels, bias=bias)

        self.latent_dim, self.width = latent_dim, width
        dense = ([nn.Linear(latent_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
                 if hidden else [])
        self.project = nn.Sequential(*dense, nn.Linear(hidden or latent_dim, 7 * 7 * width, bias=False),
                                     nn.Unflatten(1, (width, 7, 7)), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.refine = nn.Sequential(*(layer for _ in range(refine) for layer in (
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))))
        self.up1 = nn.Sequential(up(width, width // 2, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True))
        self.up2 = up(width // 2, 1, bias=True)  # no BatchNorm at G's output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Noise ``(N, latent_dim)`` → images ``(N, 1, 28, 28)`` in [-1, 1]."""
        return torch.tanh(self.up2(self.up1(self.refine(self.project(z)))))


class MinibatchStd(nn.Module):
    """Append one feature map: the standard deviation of each feature over the batch, averaged over all features
    and positions (ProGAN, Karras et al. 2018). It lets D see how varied a batch is, and so penalise a G that
    collapses onto a few modes. ``(N, C, H, W)`` → ``(N, C + 1, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with the batch's mean standard deviation appended as a constant channel."""
        std = torch.sqrt(x.float().var(dim=0, unbiased=False) + 1e-8).mean().to(x.dtype)
        return torch.cat((x, std.expand(x.shape[0], 1, *x.shape[2:])), dim=1)


class Discriminator(nn.Module):
    """28×28×1 → conv4 s2 (w) → LeakyReLU → conv4 s2 (2w) → BN → LeakyReLU → [minibatch std]
    → [dense ``hidden`` → BN → LeakyReLU] → one logit (no BN at D's input).

    ``hidden=0`` is the lessons' plain DCGAN discriminator; the cpu and gpu profiles add the dense
    layer, which gives D the capacity to judge a digit's overall shape: the largest single gain measured.
    ``spectral_norm`` normalises every layer's weight by its largest singular value (Miyato et al. 2018)
    and drops D's BatchNorm; ``mbstd`` adds a :class:`MinibatchStd` feature map at 7×7.
    """

    def __init__(self, width: int = 64, hidden: int = 0, spectral_norm: bool = False, mbstd: bool = False):
        super().__init__()
        sn = _spectral_norm if spectral_norm else (lambda layer: layer)

        def norm(layer: nn.Module) -> list[nn.Module]:
            return [] if spectral_norm else [layer]

        features = (2 * width + int(mbstd)) * 7 * 7
        head = ([sn(nn.Linear(features, hidden, bias=spectral_norm)), *norm(nn.BatchNorm1d(hidden)),
                 nn.LeakyReLU(0.2, inplace=True), sn(nn.Linear(hidden, 1))] if hidden
                else [sn(nn.Linear(features, 1))])
        self.net = nn.Sequential(
            sn(nn.Conv2d(1, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=spectral_norm)),
            *norm(nn.BatchNorm2d(2 * width)), nn.LeakyReLU(0.2, inplace=True), *([MinibatchStd()] if mbstd else []),
            nn.Flatten(), *head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` → logits ``(N,)``."""
        return self.net(x).squeeze(1)


def build_models(cfg: GanConfig, device: str | torch.device = "cpu", block: BlockFn | None = None
                 ) -> tuple[Generator, Discriminator]:
    """G and D for ``cfg``, DCGAN-initialised from ``cfg.seed`` (same weights on every device); ``block``, if
    given, builds G's upsampling blocks (:class:`Generator`)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        g = dcgan_init_(Generator(cfg.latent_dim, cfg.g_width, cfg.upsample, cfg.g_refine, block=block,
                                  hidden=cfg.g_hidden))
        d = dcgan_init_(Discriminator(cfg.d_width, cfg.d_hidden, cfg.d_spectral_norm, cfg.d_mbstd))
    return g.to(device), d.to(device)


# --------------------------------------------------------------------------- one step

def train_step(g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
               real: torch.Tensor, z: torch.Tensor, *, real_label: float = 1.0, autocast: Autocast | None = None,
               scaler: torch.amp.GradScaler | None = None, loss: str = "bce", r1_gamma: float = 0.0
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One GAN update: D on a real and a fake batch, then G.

    ``loss="bce"`` is DCGAN's: binary cross-entropy for D (real towards ``real_label``), the non-saturating
    −log D(G(z)) for G; ``"hinge"``: max(0, 1 − D(x)) + max(0, 1 + D(G(z))) for D, −D(G(z)) for G.
    ``r1_gamma`` > 0 adds the R1 penalty γ/2 · E‖∇ₓD(x)‖² on the real batch to D's loss (and to the
    ``loss_d`` returned). Returns ``(loss_d, loss_g)`` as detached 0-d tensors (no device sync).
    ``autocast`` is a context-manager factory for mixed precision, ``scaler`` a ``torch.amp.GradScaler`` (float16).
    """
    autocast = autocast or _no_autocast
    if r1_gamma:
        real = real.detach().requires_grad_(True)
    with autocast():
        fake = g(z)
        logits_real, logits_fake = d(real), d(fake.detach())
        if loss == "hinge":
            loss_d = F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean()
        else:
            loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.full_like(logits_real, real_label))
                      + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
    if r1_gamma:
        (grad,) = torch.autograd.grad(logits_real.float().sum(), real, create_graph=True)
        loss_d = loss_d + r1_gamma / 2 * grad.float().pow(2).flatten(1).sum(1).mean()
    opt_d.zero_grad(set_to_none=True)
    _backward_step(loss_d, opt_d, scaler)
    with autocast():
        logits = d(fake)
        loss_g = (-logits.float().mean() if loss == "hinge"
                  else F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)))
    opt_g.zero_grad(set_to_none=True)
    _backward_step(loss_g, opt_g, scaler)
    if scaler is not None:
        scaler.update()
    return loss_d.detach(), loss_g.detach()


class _no_autocast:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _backward_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema ← decay·ema + (1−decay)·model`` for the parameters; buffers (BN statistics) are copied.

    One multi-tensor ``_foreach`` operation for each of the two: on a GPU a handful of launches for every weight at
    once instead of one per tensor (a step of this small model is bound by launches); on the CPU the same per-tensor
    arithmetic, so the numbers are the same as a loop's."""
    params, targets = list(ema.parameters()), [p.detach() for p in model.parameters()]
    buffers, sources = list(ema.buffers()), list(model.buffers())
    if len(params) != len(targets) or len(buffers) != len(sources):
        raise ValueError(f"ema_update: the average has {len(params)} parameters and {len(buffers)} buffers, the "
                         f"model {len(targets)} and {len(sources)}: not copies of one architecture")
    torch._foreach_lerp_(params, targets, 1.0 - decay)
    if buffers:
        torch._foreach_copy_(buffers, sources)


@torch.no_grad()
def recalibrate_batchnorm(g: nn.Module, latent_dim: int, generator: torch.Generator, batches: int = 20,
                          batch_size: int = 256) -> None:
    """Recompute G's BatchNorm statistics for *its own* weights (the EMA weights differ from
    those the copied statistics were measured with): a cumulative average over a few batches."""
    device = next(g.parameters()).device
    norms = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    g.train()
    for _ in range(batches):
        g(torch.randn(batch_size, latent_dim, device=device, generator=generator))
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
    g.eval()


@torch.no_grad()
def generate(g: nn.Module, n: int, latent_dim: int, seed: int = 0, batch_size: int = 500,
             device: str | torch.device | None = None) -> np.ndarray:
    """``n`` digits from ``g`` (in eval mode) as ``(n, 28, 28)`` uint8."""
    device = device or next(g.parameters()).device
    rng = torch.Generator(device="cpu").manual_seed(seed)
    was_training = g.training
    g.eval()
    out = []
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), latent_dim, generator=rng).to(device)
        out.append(g(z).float().cpu().numpy())
    g.train(was_training)
    return to_uint8(np.concatenate(out), (-1.0, 1.0))


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: str | Path, state: dict) -> Path:
    """``torch.save`` through :func:`helpers.gan.atomic_write`: an interruption never leaves half a file."""
    return atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; :class:`CheckpointError` if it is unreadable."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}") from None
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the checkpoint {path} ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "It is damaged or not a checkpoint of this course: delete it, or start again without --resume."
        ) from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION or "config" not in state:
        raise CheckpointError(f"{path} is not a DCGAN checkpoint of this course (version {CHECKPOINT_VERSION}).")
    return state


# --------------------------------------------------------------------------- the loop

def speedups(cfg: GanConfig, device: torch.device) -> dict:
    """The speed-ups in force; ``cfg.extra`` overrides each.

    Mixed precision and channels-last default on on CUDA only, data on the device on any GPU;
    ``torch.compile`` only where ``cfg.extra`` asks for it: on an H200 the compiled step of the gpu
    profile's model was slower than the eager one (0.71×, ``scripts/bench_gan_torch.py``; this
    model is too small for fused kernels to pay).
    """
    cuda = torch.device(device).type == "cuda"
    chosen = {"amp": cuda, "channels_last": cuda, "data_on_device": torch.device(device).type != "cpu",
              "compile": False}
    chosen.update({k: bool(v) for k, v in cfg.extra.items() if k in chosen})
    return chosen


def precision(device: torch.device, amp: bool) -> MixedPrecision:
    """The precision training runs in: :func:`helpers.torch_utils.mixed_precision` when ``amp`` is on."""
    if not amp:
        return MixedPrecision(None, False, "mixed precision switched off")
    return mixed_precision(device)


def _autocast_factory(device: torch.device, enabled: bool, cache: bool = True):
    """``(autocast, scaler)`` for :func:`train_step`: a context-manager factory (None: float32) and a
    ``torch.amp.GradScaler`` where the precision needs one (float16), else None. ``cache=False``: autocast keeps
    no casts between regions (what a captured CUDA graph needs)."""
    chosen = precision(device, enabled)
    if chosen.dtype is None:
        return None, None
    dtype = chosen.dtype
    scaler = torch.amp.GradScaler(device.type) if chosen.grad_scaler else None
    return (lambda: torch.autocast(device.type, dtype=dtype, cache_enabled=cache)), scaler


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (and the next line where the first only introduces it, as
    in dynamo's ``backend='inductor' raised:``), at most about 200 characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "")
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class CompiledStep:
    """:func:`train_step` through ``torch.compile``'d G and D, or through G and D themselves.

    ``torch.compile`` is lazy: a missing compiler (no working Triton, Windows, an unsupported
    Python) shows only when the first step runs. If building or the first step fails, this prints
    one line (``torch.compile failed (…); training without it``), puts G, D, both optimizers and
    the gradient scaler back as they were before that step, and runs it — and every later one —
    eagerly. ``compiled`` says which it ended up doing; ``scaler`` is the scaler in use.
    """

    def __init__(self, g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                 *, compile: bool, scaler: torch.amp.GradScaler | None = None) -> None:
        self.g, self.d, self.opt_g, self.opt_d, self.scaler = g, d, opt_g, opt_d, scaler
        self.models = (g, d)
        self.compiled, self.error, self._first = False, None, False
        if compile:
            try:
                self.models = (torch.compile(g), torch.compile(d))
                self.compiled = self._first = True
            except Exception as exc:
                self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        self.error = _one_line(exc)
        self.models, self.compiled = (self.g, self.d), False
        print(f"torch.compile failed ({self.error}); training without it", flush=True)

    def __call__(self, real: torch.Tensor, z: torch.Tensor, **kwargs: object) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`train_step` on ``real`` and ``z`` (``kwargs``: its keyword arguments)."""
        if not self._first:
            return train_step(*self.models, self.opt_g, self.opt_d, real, z, scaler=self.scaler, **kwargs)
        self._first = False
        parts = (self.g, self.d, self.opt_g, self.opt_d)
        saved = copy.deepcopy([part.state_dict() for part in parts]), copy.deepcopy(self.scaler)
        try:
            return train_step(*self.models, self.opt_g, self.opt_d, real, z, scaler=self.scaler, **kwargs)
        except Exception as exc:
            for part, state in zip(parts, saved[0], strict=True):
                part.load_state_dict(state)
            self.scaler = saved[1]
            self._give_up(exc)
            return train_step(*self.models, self.opt_g, self.opt_d, real, z, scaler=self.scaler, **kwargs)


#: The lowest compute capability whose whole step :class:`GraphedStep` captures: Volta on, the cards whose CUDA-graph
#: replay and fused capturable Adam PyTorch supports without caveats (older ones stay eager).
GRAPHS_MIN_CAPABILITY = (7, 0)


def graph_plan(device: torch.device, fast: dict, scaler: torch.amp.GradScaler | None, hooks: bool) -> tuple[bool, str]:
    """Whether the whole step runs as a CUDA graph (:class:`GraphedStep`), and why (or why not).

    Only on CUDA (7.0 or newer, not ROCm), with the data on the device, without ``torch.compile`` and without a
    learner's hooks (their code may read the device), and not with float16's ``GradScaler``: its overflow check
    reads the device every step, so a T4 keeps today's eager float16 step."""
    if device.type != "cuda":
        return False, f"{device.type}: CUDA graphs are CUDA's"
    if torch.version.hip:
        return False, "ROCm: not tried"
    capability = torch.cuda.get_device_capability(device)
    if capability < GRAPHS_MIN_CAPABILITY:
        return False, f"compute capability {capability[0]}.{capability[1]} < 7.0"
    if scaler is not None:
        return False, "float16 with a GradScaler reads the device every step"
    if fast["compile"]:
        return False, "torch.compile asked for"
    if hooks:
        return False, "a learner's train_step or ema_update"
    if not fast["data_on_device"]:
        return False, "the data are on the host"
    return True, "the whole step captured once, replayed every step"


class _CudaGraphs:
    """:class:`GraphedStep`'s backend on CUDA: warm-up steps on a side stream, as capture requires, and capture."""

    @staticmethod
    def warm(body: Callable[[], None]) -> None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            body()
        torch.cuda.current_stream().wait_stream(side)

    @staticmethod
    def capture(body: Callable[[], None]):
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize()
        with torch.cuda.graph(graph):
            body()
        return graph


class _Replay:
    """A stand-in for a captured graph: ``replay()`` runs the body again (the CPU's backend, and the tests')."""

    def __init__(self, body: Callable[[], None]) -> None:
        self.replay = body


class _Eager:
    """:class:`GraphedStep`'s backend where nothing is captured: the same static buffers and body, run each step."""

    @staticmethod
    def warm(body: Callable[[], None]) -> None:
        body()

    @staticmethod
    def capture(body: Callable[[], None]) -> _Replay:
        return _Replay(body)


class GraphedStep:
    """The whole step — :func:`train_step`, the EMA (:func:`ema_update`) and the losses added to the run's sums —
    captured once as a CUDA graph and replayed: one launch for what are otherwise hundreds, and no host work
    between them. Its inputs are two static buffers, filled before each replay by one gather (the batch, from the
    data on the device) and one ``randn`` (the noise, from the run's own generator: the same draws as the eager
    step). What the graph freezes — the R1 weight of a lazy-R1 step, the EMA's decay before and after
    ``ema_start`` — keys one graph each; each is captured after ``warmup`` eager runs of its own (cuDNN's autotuning
    and the optimizers' state happen outside the capture). The optimizers must be capturable
    (``capturable=True``), and autocast must not cache (``cache_enabled=False``): :class:`_TorchRun` sees to both.
    If a capture fails, one printed line says so and every later step runs the same body eagerly.
    """

    def __init__(self, run: _TorchRun, backend: object = _CudaGraphs, warmup: int = 3) -> None:
        self.run, self.backend, self.warmup = run, backend, warmup
        cfg = run.cfg
        # (one channel: a contiguous batch is channels-last too, as the eager step's .contiguous(...) leaves it)
        self.real = torch.empty((cfg.batch_size, 1, 28, 28), device=run.device)
        self.z = torch.empty((cfg.batch_size, cfg.latent_dim), device=run.device)
        self.graphs: dict[tuple[float, float], object] = {}
        self.warmed: dict[tuple[float, float], int] = {}
        self.error: str | None = None

    def body(self, r1_gamma: float, decay: float) -> None:
        """One step on the static buffers: exactly what :meth:`_TorchRun.one_step` does eagerly."""
        run, cfg = self.run, self.run.cfg
        loss_d, loss_g = train_step(run.g, run.d, run.opt_g, run.opt_d, self.real, self.z,
                                    real_label=1.0 - cfg.label_smoothing, autocast=run.autocast, loss=cfg.loss,
                                    r1_gamma=r1_gamma)
        run.ema(run.g_ema, run.g, decay)
        run.sums += torch.stack((loss_d.float(), loss_g.float()))

    def __call__(self, index: torch.Tensor, r1_gamma: float, decay: float) -> None:
        """One step on the digits ``index`` picks from the run's data (on the device), drawing its own noise."""
        run = self.run
        torch.index_select(run.data, 0, index, out=self.real)
        torch.randn(self.z.shape, generator=run.noise_rng, device=run.device, out=self.z)
        key = (r1_gamma, decay)
        graph = self.graphs.get(key)
        if graph is None and (self.error or self.warmed.get(key, 0) < self.warmup):
            self.warmed[key] = self.warmed.get(key, 0) + 1
            self.backend.warm(lambda: self.body(*key))
            return
        if graph is None:
            try:
                graph = self.graphs[key] = self.backend.capture(lambda: self.body(*key))
            except Exception as exc:  # a capture that fails leaves the state as it was: nothing ran
                self.error = _one_line(exc)
                print(f"CUDA graph capture failed ({self.error}); training without it", flush=True)
                self.backend.warm(lambda: self.body(*key))
                return
        graph.replay()


class _TorchRun:
    """One training run's state (what a checkpoint holds): models, optimizers, random generators, data order, log.

    The setup :func:`train` and :func:`time_steps` share: ``data`` replaces the ``cfg.n_train`` MNIST digits
    (``(N, 1, 28, 28)`` in [-1, 1]). The loop that drives it is :func:`helpers.gan.loop.train_loop`.
    """

    def __init__(self, cfg: GanConfig, device: torch.device, step_hook: StepFn | None = None,
                 ema_hook: EmaFn | None = None, block: BlockFn | None = None, data: torch.Tensor | None = None,
                 graphs: bool | None = None, graph_backend: object | None = None) -> None:
        self.cfg, self.device = cfg, device
        self.step_hook, self.ema = step_hook, ema_hook or ema_update
        self.fast = speedups(cfg, device)
        if step_hook is not None:
            if cfg.label_smoothing:
                raise ValueError("a train_step hook has no real-label argument: it needs cfg.label_smoothing = 0; "
                                 f"got {cfg.label_smoothing}")
            if cfg.loss != "bce" or cfg.r1_gamma:
                raise ValueError("a train_step hook brings its own losses: it needs cfg.loss = 'bce' and "
                                 f"cfg.r1_gamma = 0; got {cfg.loss!r} and {cfg.r1_gamma}")
            self.fast.update(amp=False, compile=False)  # the lesson's signature takes no autocast and no scaler
        if device.type == "cpu" and cfg.extra.get("threads"):
            torch.set_num_threads(int(cfg.extra["threads"]))
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.g, self.d = build_models(cfg, device, block=block)
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False)
        _, scaler = _autocast_factory(device, self.fast["amp"])
        # graphs: None follows graph_plan; False keeps the eager step; True asks for GraphedStep where there is no
        # CUDA too (graph_backend, default _Eager there: the same body, uncaptured — the bench and the tests)
        plan = graph_plan(device, self.fast, scaler, step_hook is not None or ema_hook is not None)
        self.graphed = plan[0] if graphs is None else bool(graphs)
        self.graph_reason = plan[1] if graphs is None else f"{'on' if graphs else 'off'} as asked"
        if self.graphed and (step_hook is not None or ema_hook is not None or scaler is not None
                             or not self.fast["data_on_device"] or self.fast["compile"]):
            raise ValueError(f"the graphed step cannot run here: {plan[1]}")
        # On a CPU Adam's fused kernel (one pass over each weight, not several) makes the cpu profile's step
        # about 15 % faster: Adam's and the EMA's passes over G's 3.5 M weights are much of a CPU step. A captured
        # step needs it capturable (its step count on the device), and fused is the one-kernel update there too.
        fused = {"fused": True} if device.type == "cpu" else {}
        if self.graphed and device.type == "cuda":
            fused = {"fused": True, "capturable": True}
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **fused)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **fused)
        # a captured autocast must not cache its casts: the cache would hold tensors of the capture itself
        self.autocast, scaler = _autocast_factory(device, self.fast["amp"], cache=not self.graphed)
        self.precision = precision(device, self.fast["amp"])
        self.data_rng = torch.Generator(device="cpu").manual_seed(cfg.seed)
        self.noise_rng = torch.Generator(device=device).manual_seed(cfg.seed + 1)
        data = _mnist(cfg) if data is None else data
        self.data = data.to(device) if self.fast["data_on_device"] else data
        self.memory = torch.channels_last if self.fast["channels_last"] else torch.contiguous_format
        if self.fast["channels_last"]:
            self.g.to(memory_format=self.memory)
            self.d.to(memory_format=self.memory)
        self.step_fn = CompiledStep(self.g, self.d, self.opt_g, self.opt_d, compile=self.fast["compile"],
                                    scaler=scaler)
        self.step, self.order, self.history, self.trained_s = 0, None, new_history(), 0.0
        # losses since the last log (checkpointed: the log must not depend on resumes), on the device: read at
        # log time only, and changed in place (a captured step adds to this very tensor)
        self.sums = torch.zeros(2, device=device)
        self.graph_step = (GraphedStep(self, graph_backend or (_CudaGraphs if device.type == "cuda" else _Eager))
                           if self.graphed else None)

    def resume(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``; :class:`CheckpointError` if it cannot or must not be."""
        state = load_checkpoint(path, map_location=self.device)
        check_saved_run(state["config"], state.get("step", 0), self.cfg, path)
        try:
            for name in ("g", "d", "g_ema", "opt_g", "opt_d"):
                getattr(self, name).load_state_dict(state[name])
            for optimizer in (self.opt_g, self.opt_d):
                _keep_own_flags(optimizer)
            if self.step_fn.scaler is not None and state.get("scaler"):
                self.step_fn.scaler.load_state_dict(state["scaler"])
            self.data_rng.set_state(state["data_rng"].cpu())
            self.noise_rng.set_state(state["noise_rng"].cpu())
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{path} does not match this model: {str(exc).splitlines()[0][:200]}") from None
        self.step, self.history, self.trained_s = state["step"], state["history"], state["trained_s"]
        self.order = state["order"].to(self.data.device) if state["order"] is not None else None
        if self.step:  # the losses of a partial interval: the log dropped again on resuming still counts them
            self.sums += state["loss_sums"].to(self.device)

    def save(self, path: Path, trained_s: float) -> None:
        """Write the checkpoint (atomically)."""
        scaler = self.step_fn.scaler
        save_checkpoint(path, {
            "version": CHECKPOINT_VERSION, "config": self.cfg.to_dict(), "step": self.step,
            "order": self.order.cpu() if self.order is not None else None,
            "g": self.g.state_dict(), "d": self.d.state_dict(), "g_ema": self.g_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else {},
            "data_rng": self.data_rng.get_state(), "noise_rng": self.noise_rng.get_state(),
            "history": self.history, "loss_sums": self.sums.cpu(), "trained_s": trained_s,
        })

    def one_step(self) -> None:
        """One batch (reshuffled at each epoch's start), one :func:`train_step`, the EMA update."""
        cfg, device = self.cfg, self.device
        position = self.step % cfg.steps_per_epoch
        if position == 0 or self.order is None:
            self.order = torch.randperm(len(self.data), generator=self.data_rng).to(self.data.device)
        index = self.order[position * cfg.batch_size:(position + 1) * cfg.batch_size]
        decay = cfg.ema_decay if self.step >= cfg.ema_start else 0.0
        if self.graph_step is not None:  # the same step, its batch and noise drawn alike (GraphedStep)
            self.graph_step(index, r1_gamma_at(cfg, self.step), decay)
            self.step += 1
            return
        real = self.data[index] if self.data.device == device else self.data[index].to(device, non_blocking=True)
        real = real.contiguous(memory_format=self.memory)
        z = torch.randn(cfg.batch_size, cfg.latent_dim, device=device, generator=self.noise_rng)
        if self.step_hook is None:
            loss_d, loss_g = self.step_fn(real, z, real_label=1.0 - cfg.label_smoothing, autocast=self.autocast,
                                          loss=cfg.loss, r1_gamma=r1_gamma_at(cfg, self.step))
        else:  # a learner's losses may be floats or still need grad
            loss_d, loss_g = (torch.as_tensor(loss, device=device).detach().reshape(())
                              for loss in self.step_hook(self.g, self.d, self.opt_g, self.opt_d, real, z))
        self.ema(self.g_ema, self.g, decay)
        self.sums += torch.stack((loss_d.float(), loss_g.float()))
        self.step += 1

    def log_losses(self) -> tuple[float, float]:
        """The mean losses since the last log (one host-device sync per log, none per step)."""
        step, log_every = self.step, self.cfg.log_every
        mean_d, mean_g = (self.sums / ((step - 1) % log_every + 1)).tolist()
        if step % log_every == 0:
            self.sums.zero_()  # (after a last, partial interval they stay: a resumed, longer run goes on adding)
        return mean_d, mean_g

    def finish(self) -> None:
        """Wait for the device's queued steps."""
        _sync(self.device)

    def samples(self) -> np.ndarray:
        """``cfg.n_samples`` digits from a float32 copy of the EMA generator, its BatchNorm recalibrated."""
        cfg = self.cfg
        model = copy.deepcopy(self.g_ema).float().to(memory_format=torch.contiguous_format)
        recalibrate_batchnorm(model, cfg.latent_dim, torch.Generator(device=self.device).manual_seed(cfg.seed + 2))
        return generate(model, cfg.n_samples, cfg.latent_dim, seed=cfg.seed + 3)

    def graphs_in_force(self) -> str:
        """``on: why`` or ``off: why`` (a failed capture names its error)."""
        failed = self.graph_step is not None and self.graph_step.error
        if failed:
            return f"off: capture failed ({failed})"
        return f"{'on' if self.graph_step is not None else 'off'}: {self.graph_reason}"

    def info(self, first_step: int, run_s: float) -> dict:
        """PyTorch's own keys of :func:`train`'s ``info``."""
        steps_run = self.step - first_step
        info = {
            "s_per_epoch_60k": 60_000 / self.cfg.batch_size * run_s / steps_run if steps_run else float("nan"),
            "threads": torch.get_num_threads(), "speedups": {**self.fast, "compile": self.step_fn.compiled},
            "precision": str(self.precision), "torch": torch.__version__,
            "graphs": self.graphs_in_force(),
        }
        if self.step_fn.error:
            info["compile_error"] = self.step_fn.error
        return info


def _keep_own_flags(optimizer: torch.optim.Optimizer) -> None:
    """After ``load_state_dict``: this run's ``fused``/``capturable`` rather than the checkpoint's (an eager run's
    checkpoint resumed by a graphed one, or the other way round), with Adam's step counts where they then belong
    (on the parameter's device for a fused or capturable Adam)."""
    own = {k: optimizer.defaults[k] for k in ("fused", "capturable") if k in optimizer.defaults}
    for group in optimizer.param_groups:
        group.update(own)
    if own.get("fused") or own.get("capturable"):
        for param, state in optimizer.state.items():
            if torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(device=param.device, dtype=torch.float32)


def _mnist(cfg: GanConfig) -> torch.Tensor:
    """The ``cfg.n_train`` training digits, ``(N, 1, 28, 28)`` in [-1, 1] (a seeded subset when < 60,000)."""
    from ..data import load_mnist

    subset = cfg.n_train < 60_000
    x, _ = load_mnist("train", n=cfg.n_train if subset else None, seed=cfg.seed if subset else None,
                      value_range=(-1.0, 1.0), channel="first")
    return torch.from_numpy(x)


def train(cfg: GanConfig, out_dir: str | Path, resume: bool = False, *, device: str | torch.device | None = None,
          stop_after: int | None = None, on_log: OnLog | None = None, on_epoch: OnEpoch | None = None,
          progress: bool = True, train_step: StepFn | None = None, ema_update: EmaFn | None = None,
          upsample_block: BlockFn | None = None) -> tuple[np.ndarray, dict]:
    """Train the DCGAN ``cfg`` describes; return ``(samples_uint8, info)``: the contract of :mod:`helpers.gan`.

    PyTorch specifics: ``device`` is a ``torch.device`` or its name (default
    :func:`helpers.torch_utils.pick_device`); ``on_epoch`` gets the EMA generator as an ``nn.Module``
    in eval mode, ``(N, latent_dim)`` → ``(N, 1, 28, 28)``; ``info`` adds ``s_per_epoch_60k``,
    ``threads``, ``speedups``, ``precision``, ``torch``, ``hooks``, ``graphs`` (whether the step ran as a CUDA
    graph, and why: :func:`graph_plan`) and, where ``torch.compile`` failed, ``compile_error``.

    Hooks (lesson 08 trains with the learner's exercises): ``train_step`` (:data:`StepFn`) replaces the
    reference step, and then runs in float32 without ``torch.compile`` (its signature has no autocast or
    gradient scaler) and needs ``cfg.label_smoothing = 0``; ``ema_update`` (:data:`EmaFn`) replaces the
    average's update; ``upsample_block`` (:data:`BlockFn`) builds G's two upsampling blocks (name the
    kind it builds in ``cfg.upsample``: the checkpoint records the configuration, not the code, so a
    block with other weights than a checkpoint's cannot resume it). ``info["hooks"]`` names those given.
    """
    from ..torch_utils import pick_device

    cfg.validate()  # again: a field may have been changed since the configuration was built
    if cfg.framework != "torch":
        raise ValueError(f"helpers.gan.train_torch trains framework='torch' configurations; got {cfg.framework!r}")
    started = time.perf_counter()
    device = torch.device(device) if device is not None else pick_device(verbose=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(out_dir, "torch")
    run = _TorchRun(cfg, device, step_hook=train_step, ema_hook=ema_update, block=upsample_block)
    first_step = loop.start(run, path, resume)
    run.g.train()
    run.d.train()
    run_s = loop.train_loop(run, path, stop_after=stop_after, on_log=on_log, on_epoch=on_epoch, g_ema=run.g_ema,
                            progress=progress)
    samples = run.samples()
    info = {**loop.run_info(run, first_step, run_s, started, path, _device_name(device)),
            **run.info(first_step, run_s)}
    info["hooks"] = [name for name, hook in (("train_step", train_step), ("ema_update", ema_update),
                                             ("upsample_block", upsample_block)) if hook is not None]
    return samples, info


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def time_steps(cfg: GanConfig, device: str | torch.device | None = None, steps: int = 50, warmup: int = 5,
               **switches) -> dict:
    """Measure training speed with the given speed-up ``switches`` (``amp``, ``channels_last``,
    ``data_on_device``, ``compile``): ``{"images_per_s", "s_per_epoch", "ms_per_step", "compiled"}``
    (``compiled`` is False where ``torch.compile`` was asked for but failed: the steps ran eagerly).

    The models, optimizers, precision and placement are :func:`train`'s (the same setup builds them);
    it runs ``warmup`` untimed steps (cuDNN autotuning, ``torch.compile``) and then ``steps`` timed
    ones of :func:`train_step` on random data of MNIST's shape, with a device sync before reading the
    clock. The data stay on the CPU unless ``data_on_device``: each batch then pays the copy a
    DataLoader would.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    cfg = GanConfig.from_dict({**cfg.to_dict(), "extra": {**cfg.extra, **switches}})
    pool = torch.rand(16 * cfg.batch_size, 1, 28, 28, generator=torch.Generator().manual_seed(cfg.seed)) * 2 - 1
    run = _TorchRun(cfg, device, data=pool)
    if device.type == "cuda" and not run.fast["data_on_device"]:
        run.data = run.data.pin_memory()

    def one_step(i: int) -> None:
        real = run.data[(i % 16) * cfg.batch_size:(i % 16 + 1) * cfg.batch_size]
        real = real.to(device, non_blocking=True).contiguous(memory_format=run.memory)
        z = torch.randn(cfg.batch_size, cfg.latent_dim, device=device)
        run.step_fn(real, z, autocast=run.autocast, loss=cfg.loss, r1_gamma=r1_gamma_at(cfg, i))

    for i in range(warmup):
        one_step(i)
    _sync(device)
    started = time.perf_counter()
    for i in range(steps):
        one_step(i)
    _sync(device)
    seconds = time.perf_counter() - started
    return {"images_per_s": steps * cfg.batch_size / seconds, "s_per_epoch": 60_000 / cfg.batch_size * seconds / steps,
            "ms_per_step": 1000 * seconds / steps, "compiled": run.step_fn.compiled}


def time_run_steps(cfg: GanConfig, device: str | torch.device | None = None, steps: int = 50, warmup: int = 20,
                   graphs: bool | None = None, ema_update: EmaFn | None = None) -> dict:
    """Measure the training loop's own step (:meth:`_TorchRun.one_step`: the batch picked, :func:`train_step`, the
    EMA, the losses added up) — what :func:`time_steps` leaves out — with the whole step graphed or not (``graphs``:
    None as :func:`graph_plan` decides; True off CUDA runs the graphed step's body uncaptured). Same result keys as
    :func:`time_steps`, plus ``graphs`` (:meth:`_TorchRun.graphs_in_force`).

    The data are 16 batches of random digits, one epoch; the EMA runs from the first step and ``warmup`` untimed
    steps come first (at least four rounds of lazy R1), so that every graph is captured before the clock starts.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    cfg = GanConfig.from_dict({**cfg.to_dict(), "n_train": 16 * cfg.batch_size, "ema_start": 0})
    pool = torch.rand(cfg.n_train, 1, 28, 28, generator=torch.Generator().manual_seed(cfg.seed)) * 2 - 1
    run = _TorchRun(cfg, device, data=pool, graphs=graphs, ema_hook=ema_update)
    for _ in range(max(warmup, 4 * cfg.r1_every)):
        run.one_step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        run.one_step()
    _sync(device)
    seconds = time.perf_counter() - started
    return {"images_per_s": steps * cfg.batch_size / seconds, "s_per_epoch": 60_000 / cfg.batch_size * seconds / steps,
            "ms_per_step": 1000 * seconds / steps, "compiled": run.step_fn.compiled, "graphs": run.graphs_in_force()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
