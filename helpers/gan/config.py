"""A GAN run's configuration: :class:`GanConfig`, the per-profile settings, and what ``--resume`` may change.

Used by helpers.gan, helpers.gan.cli, helpers.gan.loop, helpers.gan.train_keras, helpers.gan.train_torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..runtime import PROFILES

FRAMEWORKS = ("torch", "keras")
#: The generator's ×2 upsampling blocks, each in one line (the command line's ``--help`` shows them).
UPSAMPLE_DESCRIPTIONS = {
    # k4 s2 is DCGAN's as its later ports write it: even overlap, yet four sub-kernels, one per output phase
    "convtranspose": "transposed conv, kernel 4, stride 2 (DCGAN's): even overlap",
    "convtranspose3": "transposed conv, kernel 3, stride 2: uneven overlap, checkerboards",
    "resize_conv": "nearest-neighbour ×2 resize, then a 3×3 conv: no checkerboard",
    "pixel_shuffle": "3×3 conv to 4× the channels, then pixel shuffle (ICNR init)",
}
UPSAMPLE_KINDS = tuple(UPSAMPLE_DESCRIPTIONS)
#: The adversarial loss: "bce" — DCGAN's binary cross-entropy for D and the non-saturating −log D(G(z)) for G;
#: "hinge" — max(0, 1 − D(x)) + max(0, 1 + D(G(z))) for D and −D(G(z)) for G (Lim & Ye 2017, SNGAN, BigGAN).
LOSSES = ("bce", "hinge")
CHECKPOINT_STEM = "checkpoint"  # each framework adds its own suffix
#: The checkpoint's file name inside ``out_dir``, per framework (:func:`checkpoint_path`).
CHECKPOINT_FILES = {"torch": f"{CHECKPOINT_STEM}.pt", "keras": f"{CHECKPOINT_STEM}_keras.npz"}
#: ``on_log(step, *, loss_d, loss_g)`` and ``on_epoch(step, g_ema)``: the trainers' callbacks (:mod:`helpers.gan`).
OnLog = Callable[..., None]
OnEpoch = Callable[[int, object], None]
#: The settings ``--resume`` may change: the digits judged at the end, and the steps (only upwards).
RESUMABLE_CHANGES = ("n_samples", "steps")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read (truncated, corrupt, or from another configuration)."""


@dataclass
class GanConfig:
    """Everything that defines a training run; saved into every checkpoint and metrics.json.

    Architecture (both frameworks): G: z(latent_dim) → [dense g_hidden → BN-ReLU] → dense 7·7·g_width → BN-ReLU →
    [g_refine × (3×3 conv → BN-ReLU) at 7×7] → up ×2 to 14×14×(g_width/2) → BN-ReLU → up ×2 to 28×28×1 → tanh;
    D: conv4×4 s2 (d_width) → LeakyReLU → conv4×4 s2 (2·d_width) → BN → LeakyReLU →
    [dense d_hidden → BN → LeakyReLU] → dense 1. With ``g_refine = d_hidden = 0`` this is the plain
    DCGAN of lessons 07 and 08.
    """

    framework: str = "torch"
    profile: str = "cpu"
    upsample: str = "convtranspose"
    seed: int = 0
    n_samples: int = 5000        # digits written to samples.npy and judged
    steps: int = 3000            # generator updates
    batch_size: int = 64
    n_train: int = 60_000        # MNIST training digits used (a subset makes an "epoch" short)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    latent_dim: int = 64
    g_width: int = 128           # channels at 7×7 (halved at 14×14)
    d_width: int = 64            # channels of D's first conv (doubled in the second)
    g_refine: int = 0            # 3×3 conv blocks in G at 7×7, before the first upsampling
    g_hidden: int = 0            # units of a dense layer (BN, ReLU) between z and G's 7×7 projection; 0 = none
    d_hidden: int = 0            # units of a dense layer before D's logit; 0 = none
    ema_decay: float = 0.999     # exponential moving average of G's weights; 0 turns it off
    ema_start: int = 0           # steps before the average starts (it copies G until then)
    checkpoint_every: int = 0    # steps between checkpoints; 0 = once an epoch (n_train // batch_size)
    log_every: int = 50          # steps between loss logs
    label_smoothing: float = 0.0  # real-label target 1 - label_smoothing for D (bce loss only)
    loss: str = "bce"            # the adversarial loss (LOSSES)
    d_spectral_norm: bool = False  # spectral normalisation of every D layer, in place of D's BatchNorm
    d_mbstd: bool = False        # a minibatch-standard-deviation feature map at D's 7×7 features (ProGAN)
    r1_gamma: float = 0.0        # R1 penalty γ/2·E‖∇D(x_real)‖² in D's loss (Mescheder et al. 2018); 0 = none
    r1_every: int = 1            # R1 on every N-th step only, N times as strong (StyleGAN2's lazy R1); 1 = each step
    extra: dict = field(default_factory=dict)  # framework-specific knobs, e.g. {"threads": 1, "compile": True}

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` unless every field keeps its rule (:data:`FIELD_RULES`, :data:`EXTRA_RULES`) and
        the fields agree with each other; the message is one line naming the field, its value and the rule.

        Construction checks it (so :func:`config_for`, :meth:`from_dict` and the command line's ``--set`` do),
        and each trainer again before it trains, for a configuration changed after it was built."""
        for name, (keeps, rule) in FIELD_RULES.items():
            value = getattr(self, name)
            if not keeps(value):
                raise ValueError(f"{name} must be {rule}; got {value!r}")
        for key, value in self.extra.items():
            if key not in EXTRA_RULES:
                raise ValueError(f"extra has no switch {key!r}; the switches: {', '.join(EXTRA_RULES)}")
            keeps, rule = EXTRA_RULES[key]
            if not keeps(value):
                raise ValueError(f"extra[{key!r}] must be {rule}; got {value!r}")
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size must be at most n_train ({self.n_train}); got {self.batch_size}")
        if self.loss != "bce" and self.label_smoothing:
            raise ValueError(f"label_smoothing applies to the bce loss only: it must be 0 with loss={self.loss!r}; "
                             f"got {self.label_smoothing}")

    @property
    def steps_per_epoch(self) -> int:
        """Steps in one pass over the ``n_train`` digits (at least 1)."""
        return max(1, self.n_train // self.batch_size)

    @property
    def checkpoint_interval(self) -> int:
        """Steps between checkpoints: ``checkpoint_every``, or one epoch when that is 0."""
        return self.checkpoint_every or self.steps_per_epoch

    def to_dict(self) -> dict:
        """The fields as a plain dict (what checkpoints and metrics.json store)."""
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Eight hex digits that change with any field: a folder name for this configuration's run, so that a
        changed profile starts a new run instead of meeting a checkpoint that ``resume`` must refuse."""
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:8]

    @classmethod
    def from_dict(cls, data: dict) -> GanConfig:
        """The configuration a :meth:`to_dict` dict describes; unknown keys are ignored, and ``samples`` (what
        checkpoints and metrics.json written before the field was named ``n_samples`` hold) is read as that."""
        names = {f.name for f in dataclasses.fields(cls)}
        data = {_RENAMED.get(k, k): v for k, v in data.items()}
        return cls(**{k: v for k, v in data.items() if k in names})

    def changes(self, other: GanConfig) -> dict[str, tuple]:
        """``{field: (mine, other's)}`` for every field in which ``other`` differs."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}


#: Fields renamed since a run may have been saved: ``{old name: new name}`` (:meth:`GanConfig.from_dict`).
_RENAMED = {"samples": "n_samples"}


def _integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # True is an int to Python


def _integer_in(low: int, high: float = math.inf) -> Callable[[object], bool]:
    return lambda value: _integer(value) and low <= value <= high


def _number_in(low: float, high: float, *, low_open: bool = False, high_open: bool = False
               ) -> Callable[[object], bool]:
    def keeps(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        return (low < value if low_open else low <= value) and (value < high if high_open else value <= high)

    return keeps


def _one_of(allowed: tuple[str, ...]) -> tuple[Callable[[object], bool], str]:
    return (lambda value: value in allowed), f"one of {', '.join(allowed)}"


def _flag(value: object) -> bool:
    return isinstance(value, bool)


_MNIST_TRAIN = 60_000  # MNIST's training digits: the most a run can train on, and the judge's real reference
_SEED_MAX = 2**31 - 1  # every seeder the trainers use (NumPy, TensorFlow, PyTorch) takes a 32-bit signed seed

#: Every :class:`GanConfig` field's rule, as ``(check, what it says)``; :meth:`GanConfig.validate` applies them
#: (``tests/gan/test_gan_config.py`` keeps one for every field). The message reads "FIELD must be RULE; got VALUE".
FIELD_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "framework": _one_of(FRAMEWORKS),
    "profile": _one_of(PROFILES),
    "upsample": _one_of(UPSAMPLE_KINDS),
    "seed": (_integer_in(0, _SEED_MAX), f"an integer from 0 to {_SEED_MAX:,}"),
    "n_samples": (_integer_in(1, _MNIST_TRAIN),
                f"a positive integer, at most {_MNIST_TRAIN:,} (the judge compares them with as many real digits)"),
    "steps": (_integer_in(1), "a positive integer"),
    # a batch of one breaks BatchNorm (no variance to normalise by) and the minibatch standard deviation
    "batch_size": (_integer_in(2), "an integer of 2 or more (BatchNorm needs two digits a batch)"),
    "n_train": (_integer_in(1, _MNIST_TRAIN),
                f"a positive integer, at most {_MNIST_TRAIN:,} (MNIST's training digits)"),
    # Adam's rules: a positive step size, moment decays in [0, 1); above 1 the steps are far past any that trains
    "lr": (_number_in(0.0, 1.0, low_open=True), "a number above 0 and at most 1"),
    "beta1": (_number_in(0.0, 1.0, high_open=True), "a number from 0 up to, not including, 1"),
    "beta2": (_number_in(0.0, 1.0, high_open=True), "a number from 0 up to, not including, 1"),
    "latent_dim": (_integer_in(1), "a positive integer"),
    "g_width": (lambda value: _integer_in(2)(value) and value % 2 == 0,
                "an even integer of 2 or more (G halves it at 14×14)"),
    "d_width": (_integer_in(1), "a positive integer"),
    "g_refine": (_integer_in(0), "0 or more (an integer; 0 = none)"),
    "g_hidden": (_integer_in(0), "0 or more (an integer; 0 = none)"),
    "d_hidden": (_integer_in(0), "0 or more (an integer; 0 = none)"),
    "ema_decay": (_number_in(0.0, 1.0, high_open=True), "a number from 0 (no average) up to, not including, 1"),
    "ema_start": (_integer_in(0), "0 or more (an integer)"),
    "checkpoint_every": (_integer_in(0), "0 or more (an integer; 0 = once an epoch)"),
    "log_every": (_integer_in(1), "a positive integer"),
    # D's target for real digits is 1 − label_smoothing: at 0.5 or below it would call them fakes as readily
    "label_smoothing": (_number_in(0.0, 0.5, high_open=True),
                        "a number from 0 up to, not including, 0.5 (the real target 1 − it stays above 0.5)"),
    "loss": _one_of(LOSSES),
    "d_spectral_norm": (_flag, "true or false"),
    "d_mbstd": (_flag, "true or false"),
    "r1_gamma": (_number_in(0.0, math.inf), "0 or more (a finite number; 0 = none)"),
    "r1_every": (_integer_in(1), "a positive integer (1 = every step)"),
    "extra": (lambda value: isinstance(value, dict), "a dict of the trainers' switches"),
}
#: The switches ``GanConfig.extra`` may hold (the trainers read these and no others), each with its rule.
EXTRA_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "threads": (_integer_in(1), "a positive integer"),  # CPU threads, both trainers
    "amp": (_flag, "true or false"),  # PyTorch: mixed precision
    "channels_last": (_flag, "true or false"),  # PyTorch: NHWC memory
    "data_on_device": (_flag, "true or false"),  # PyTorch: the data set on the GPU
    "compile": (_flag, "true or false"),  # PyTorch: torch.compile
    "jit_compile": (_flag, "true or false"),  # Keras: XLA
    "update": _one_of(("simultaneous", "alternating")),  # Keras: G through D before or after D's update
}


def r1_gamma_at(cfg: GanConfig, step: int) -> float:
    """The R1 weight of step ``step`` (counted from 0): ``r1_gamma × r1_every`` on every ``r1_every``-th step and 0
    on the others — the lazy regularisation of StyleGAN2 (Karras et al. 2020, §3.1): the penalty changes slowly, so
    applying it N times as strongly once in N steps regularises D alike for a fraction of its cost."""
    return cfg.r1_gamma * cfg.r1_every if cfg.r1_gamma and step % cfg.r1_every == 0 else 0.0


def checkpoint_path(out_dir: str | Path, framework: str) -> Path:
    """Where ``framework``'s trainer keeps the checkpoint of the run in ``out_dir`` (:data:`CHECKPOINT_FILES`)."""
    if framework not in CHECKPOINT_FILES:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
    return Path(out_dir) / CHECKPOINT_FILES[framework]


def new_history() -> dict[str, list]:
    """An empty loss log in the trainers' one format: ``{"step": [], "loss_d": [], "loss_g": []}``."""
    return {"step": [], "loss_d": [], "loss_g": []}


def drop_partial_log(history: dict[str, list], log_every: int) -> None:
    """Drop the log entries of a finished run's last, partial interval (steps not a multiple of
    ``log_every``), in place: a run trained further logs those steps again with the ones that follow."""
    while history["step"] and history["step"][-1] % log_every:
        for values in history.values():
            values.pop()


def last_losses(history: dict[str, list]) -> dict[str, float]:
    """The last logged losses as ``{"d": ..., "g": ...}``; ``{}`` before the first log."""
    return {"d": history["loss_d"][-1], "g": history["loss_g"][-1]} if history["step"] else {}


def check_resume(saved: GanConfig, cfg: GanConfig, trained_steps: int, path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless the run whose checkpoint is at ``path`` (configuration
    ``saved``, ``trained_steps`` steps done) can go on as ``cfg``; the message is one line saying how.

    Only ``n_samples`` (the digits generated and judged at the end) and ``steps`` may differ, and
    ``steps`` must not be fewer than the steps already trained. More steps train a finished run
    further, exactly as a run started with that many would have gone: neither trainer depends on
    the total (the learning rate is constant, the EMA starts at a fixed step, logs and checkpoints
    fall on fixed multiples; the last, partial log interval of a finished run is dropped again).
    """
    changed = {k: v for k, v in saved.changes(cfg).items() if k not in RESUMABLE_CHANGES}
    if changed:
        diff = ", ".join(f"{k}: {a!r} → {b!r}" for k, (a, b) in changed.items())
        raise CheckpointError(
            f"{path} was written by a different configuration ({diff}). --resume continues a run with its own "
            f"settings (only --steps may grow and --samples change): resume with --profile {saved.profile} "
            f"--upsample {saved.upsample} --seed {saved.seed}, or train the new settings into another --out.")
    if cfg.steps < trained_steps:
        raise CheckpointError(
            f"{path} has already trained {trained_steps} steps, more than the {cfg.steps} asked for: resume with "
            f"--steps {trained_steps} or more, or train the shorter run into another --out.")


#: Per profile (and framework, where they differ): the settings :func:`config_for` starts from. Why each value
#: is what it is, with the measurements: docs/gan_results.md, "Why each setting".
PROFILE_SETTINGS: dict[str, dict] = {
    # smoke: seconds; one CPU thread, as tiny tensors lose more to threading on a busy machine than they gain
    "smoke": dict(steps=12, batch_size=32, n_train=384, n_samples=256, g_width=32, d_width=16, g_refine=1,
                  d_hidden=32, ema_decay=0.9, log_every=4, checkpoint_every=6, extra={"threads": 1}),
    # cpu: the measured best recipe whose PyTorch convtranspose run fits 5 minutes on a 2-core laptop; lazy R1
    # (γ 1 every 16 steps) lifted every seed's score, and Adam's fused kernel pays for it with time to spare
    "cpu": dict(steps=4000, batch_size=64, n_train=60_000, n_samples=5000, g_width=128, d_width=32, g_refine=1,
                g_hidden=512, d_hidden=512, lr=5e-4, ema_decay=0.998, ema_start=0, r1_gamma=1.0, r1_every=16),
    # gpu: the cpu profile's G, a wider D, DCGAN's learning rate and a long EMA, as measured on an H200
    "gpu": dict(steps=10_000, batch_size=128, n_train=60_000, n_samples=10_000, g_width=128, d_width=64, g_refine=1,
                g_hidden=512, d_hidden=1024, ema_decay=0.999, ema_start=1000),
}
#: Framework-specific changes on top of PROFILE_SETTINGS, keyed by (framework, profile); an ``extra`` here
#: adds to the profile's ``extra``.
FRAMEWORK_SETTINGS: dict[tuple[str, str], dict] = {
    # smoke: no XLA, whose compile time (seconds) outweighs the dozen steps it would speed up
    ("keras", "smoke"): dict(extra={"jit_compile": False}),
    # cpu: Keras's 8-minute budget fits 8,000 XLA steps; R1 keeps its pixel_shuffle generator from collapsing
    # (R1 on every step, as measured: its lazy form is the PyTorch recipe's, not measured for Keras)
    ("keras", "cpu"): dict(steps=8000, r1_gamma=1.0, r1_every=1, ema_decay=0.995),
}


def config_for(framework: str, profile: str, upsample: str = "convtranspose", seed: int = 0,
               n_samples: int | None = None, **overrides) -> GanConfig:
    """The reference configuration for a framework and run profile; ``overrides`` change any field (an
    ``extra`` given here replaces the profile's whole)."""
    if profile not in PROFILE_SETTINGS:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    settings = dict(PROFILE_SETTINGS[profile])
    framework_settings = FRAMEWORK_SETTINGS.get((framework, profile), {})
    settings.update(framework_settings)
    settings["extra"] = {**PROFILE_SETTINGS[profile].get("extra", {}), **framework_settings.get("extra", {})}
    if n_samples is not None:
        settings["n_samples"] = n_samples
    settings.update(overrides)
    return GanConfig(framework=framework, profile=profile, upsample=upsample, seed=seed, **settings)


#: Fields with an option of their own in the command line (or none to set): ``--set`` refuses them.
NOT_SETTABLE = ("framework", "profile", "upsample", "seed", "n_samples", "steps", "extra")


def parse_setting(text: str) -> tuple[str, object]:
    """``"g_hidden=512"`` → ``("g_hidden", 512)``: one :class:`GanConfig` field and its value, converted to the
    field's type (``true``/``false`` for a flag). Raises ``ValueError`` with a one-line message for a string
    that is not ``field=value``, an unknown field, one set by its own option, or a value of the wrong type."""
    key, sep, value = text.partition("=")
    defaults = {f.name: f.default for f in dataclasses.fields(GanConfig)}
    if not sep or not key or not value:
        raise ValueError(f"expected field=value, got {text!r}")
    if key not in defaults or key in NOT_SETTABLE:
        settable = ", ".join(k for k in defaults if k not in NOT_SETTABLE)
        raise ValueError(f"{key!r} cannot be set this way; the fields that can: {settable}")
    kind = type(defaults[key])
    if kind is bool:
        flags = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if value.lower() not in flags:
            raise ValueError(f"{key} is true or false; got {value!r}")
        return key, flags[value.lower()]
    try:
        return key, kind(value)
    except ValueError:
        raise ValueError(f"{key} takes {'an integer' if kind is int else 'a number'}; got {value!r}") from None
