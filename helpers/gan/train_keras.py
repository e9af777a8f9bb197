"""The course's reference DCGAN for 28×28 MNIST in Keras 3 (TensorFlow backend).

Used by lesson 07 (the models), lesson 05 (its ICNR, an exercise) and by
``python -m helpers.gan --framework keras`` (:func:`train`). Imports TensorFlow and Keras only, never PyTorch.

The recipe is DCGAN's (Radford et al. 2015): strided (transposed) convolutions and no
pooling, BatchNorm everywhere except at G's output and D's input, ReLU and tanh in G,
LeakyReLU(0.2) in D, N(0, 0.02) weights, Adam(2e-4, β₁ = 0.5). The generator's two
×2 upsampling blocks are a parameter (``helpers.gan.UPSAMPLE_KINDS``):

* ``convtranspose``  — Conv2DTranspose k4 s2: every output pixel gets the same overlap (but each of the four
  output phases its own 2×2 sub-kernel, so it can stripe too: docs/design.md, F10);
* ``convtranspose3`` — Conv2DTranspose k3 s2: uneven overlap, hence checkerboards;
* ``resize_conv``    — UpSampling2D(nearest) then a 3×3 convolution;
* ``pixel_shuffle``  — a 3×3 convolution to 4C channels, then ``tf.nn.depth_to_space``,
  with ICNR initialisation so that it starts out as nearest-neighbour upsampling.

Resuming is exact: the checkpoint holds the weights of G, D and the EMA generator, both
optimizers' state and the step, and every random draw of a step (the batch, the noise)
is a pure function of ``(seed, step)``; so on the CPU an interrupted and resumed run
ends with the same weights as an uninterrupted one. A finished run resumed with more
``steps`` goes on exactly as a run started with that many would have (nothing depends on
the total; the loss log of the finished run's last step is dropped again if that step
is not a multiple of ``log_every``).

Used in lessons 05 and 07.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np

from ..data import load_mnist
from ..keras_utils import keras, tf  # TensorFlow started quietly (helpers.quiet)
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
from .loop import START_AFRESH, check_saved_run
from .outputs import atomic_write, to_uint8

layers = keras.layers

CHECKPOINT_FILE = CHECKPOINT_FILES["keras"]
#: Stored in the checkpoint's JSON ``meta`` as ``"version"``. 2: the loss log is a dict of lists, as in
#: PyTorch's; version 1 (a list of ``[step, {"d", "g"}]``, under ``"format"``) is still read.
CHECKPOINT_VERSION = 2
_SAMPLE_BATCH = 500


def _init() -> keras.initializers.Initializer:
    """DCGAN's weight initialisation: N(0, 0.02)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _batch_norm(name: str | None = None) -> keras.layers.Layer:
    # PyTorch's defaults (momentum 0.1 there is 0.9 here, eps 1e-5): the moving statistics
    # follow the recent weights closely, which matters when sampling in inference mode.
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


# --------------------------------------------------------------------------- pixel shuffle

def icnr_kernel(kernel0: tf.Tensor | np.ndarray, block: int) -> tf.Tensor:
    """ICNR's kernel ``(kh, kw, in, C·block²)`` for ``depth_to_space(block)`` from a sub-kernel ``(kh, kw, in, C)``.

    ``depth_to_space`` reads output channel ``c`` at sub-pixel ``(i, j)`` from channel ``(i·block + j)·C + c``, so
    the ``block²`` copies follow one another whole (tiled), where PyTorch's order repeats each channel in place.
    A module-level function, not only :class:`ICNR`'s method, so that grading lesson 05 can withhold it
    (``instructor_tools.grading.answers``).
    """
    return keras.ops.tile(kernel0, (1, 1, 1, int(block) ** 2))


@keras.saving.register_keras_serializable(package="course")
class ICNR(keras.initializers.Initializer):
    """ICNR (Aitken et al. 2017) for a conv that feeds ``tf.nn.depth_to_space(block)``.

    Draws a kernel for ``C`` output channels and repeats it for each of the ``block²``
    sub-pixel positions, so the layer starts out as "convolve, then nearest-neighbour
    upsample" and has no checkerboard at initialisation. ``depth_to_space`` reads channel
    ``(i·block + j)·C + c`` for output channel ``c`` at sub-pixel ``(i, j)`` (position-major;
    PyTorch's ``PixelShuffle`` is channel-major, ``c·block² + i·block + j``), so the copies
    are tiled along the last axis, not interleaved.
    """

    def __init__(self, block: int = 2, base: str | dict | keras.initializers.Initializer | None = None) -> None:
        self.block = int(block)
        self.base = keras.initializers.get(base) if base is not None else _init()

    def __call__(self, shape: tuple[int, int, int, int], dtype: str | None = None) -> tf.Tensor:
        """A ``(kh, kw, in, out)`` kernel whose ``block²`` groups of ``out / block²`` channels are equal."""
        kh, kw, cin, cout = shape
        copies = self.block ** 2
        if cout % copies:
            raise ValueError(f"ICNR: {cout} output channels are not a multiple of block²={copies}")
        return icnr_kernel(self.base((kh, kw, cin, cout // copies), dtype=dtype), self.block)

    def get_config(self) -> dict:
        """What ``keras.saving`` needs to rebuild the initializer."""
        return {"block": self.block, "base": keras.initializers.serialize(self.base)}


@keras.saving.register_keras_serializable(package="course")
class DepthToSpace(layers.Layer):
    """``tf.nn.depth_to_space``: (H, W, block²·C) → (block·H, block·W, C), TensorFlow's channel order."""

    def __init__(self, block: int = 2, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.block = int(block)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """Rearrange ``x``'s channels into ``block × block`` pixel blocks."""
        return tf.nn.depth_to_space(x, self.block)

    def compute_output_shape(self, shape: tuple) -> tuple:
        """``(batch, block·H, block·W, C / block²)`` (unknown sizes stay unknown)."""
        b, h, w, c = shape
        block = self.block
        return (b, None if h is None else h * block, None if w is None else w * block, c // block ** 2)

    def get_config(self) -> dict:
        """The layer's configuration, ``block`` included."""
        return {**super().get_config(), "block": self.block}


# --------------------------------------------------------------------------- models

def upsample_block(x: keras.KerasTensor, channels: int, kind: str, *, use_bias: bool, activation: str | None = None,
                   name: str = "up") -> keras.KerasTensor:
    """Double the height and width of ``x`` and give it ``channels`` channels, the ``kind`` way."""
    if kind == "convtranspose":
        return layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=use_bias, activation=activation,
                                      kernel_initializer=_init(), name=f"{name}_convT4")(x)
    if kind == "convtranspose3":
        return layers.Conv2DTranspose(channels, 3, strides=2, padding="same", use_bias=use_bias, activation=activation,
                                      kernel_initializer=_init(), name=f"{name}_convT3")(x)
    if kind == "resize_conv":
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_nearest")(x)
        return layers.Conv2D(channels, 3, padding="same", use_bias=use_bias, activation=activation,
                             kernel_initializer=_init(), name=f"{name}_conv3")(x)
    if kind == "pixel_shuffle":
        # The bias (if any) is repeated too: zeros, so ICNR's symmetry holds at the start.
        x = layers.Conv2D(4 * channels, 3, padding="same", use_bias=use_bias, kernel_initializer=ICNR(2),
                          name=f"{name}_conv3x4")(x)
        x = DepthToSpace(2, name=f"{name}_shuffle")(x)
        return layers.Activation(activation, name=f"{name}_{activation}")(x) if activation else x
    raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE_KINDS)}; got {kind!r}")


def build_generator(latent_dim: int = 64, upsample: str = "convtranspose", width: int = 128,
                    out_shape: tuple[int, int, int] = (28, 28, 1), refine: int = 0, hidden: int = 0) -> keras.Model:
    """G: z → [dense ``hidden`` → BN-ReLU] → dense (H/4)·(W/4)·width → BN-ReLU → [``refine`` × (3×3 conv → BN-ReLU)]
    → up ×2 (width/2) → BN-ReLU → up ×2 to ``out_shape`` → tanh.

    For MNIST ``out_shape`` is (28, 28, 1): 7×7×width → 14×14×width/2 → 28×28×1. ``refine=0`` is
    lesson 07's plain DCGAN; the cpu and gpu profiles use one refining block (docs/gan_results.md).
    ``hidden`` puts a dense layer between z and the projection, as in the DCGAN authors' own MNIST generator.
    """
    if upsample not in UPSAMPLE_KINDS:
        raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE_KINDS)}; got {upsample!r}")
    if width < 2 or width % 2:
        raise ValueError(f"width must be an even number ≥ 2; got {width}")
    h, w, channels = out_shape
    if h % 4 or w % 4:
        raise ValueError(f"out_shape must have a height and width divisible by 4 (two ×2 upsamplings); got {out_shape}")
    z = keras.Input((latent_dim,), name="z")
    x = z
    if hidden:
        x = layers.Dense(hidden, use_bias=False, kernel_initializer=_init(), name="hidden")(x)
        x = layers.ReLU(name="relu_hidden")(_batch_norm("bn_hidden")(x))
    x = layers.Dense(h // 4 * (w // 4) * width, use_bias=False, kernel_initializer=_init(), name="project")(x)
    x = layers.Reshape((h // 4, w // 4, width), name="reshape")(x)
    x = layers.ReLU(name="relu_7")(_batch_norm("bn_7")(x))
    for i in range(refine):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=_init(), name=f"refine_{i}")(x)
        x = layers.ReLU(name=f"relu_refine_{i}")(_batch_norm(f"bn_refine_{i}")(x))
    x = upsample_block(x, width // 2, upsample, use_bias=False, name="up14")
    x = layers.ReLU(name="relu_14")(_batch_norm("bn_14")(x))
    x = upsample_block(x, channels, upsample, use_bias=True, activation="tanh", name="up28")
    return keras.Model(z, x, name=f"generator_{upsample}")


@keras.saving.register_keras_serializable(package="course")
class MinibatchStd(layers.Layer):
    """Append one feature map: the standard deviation of each feature over the batch, averaged over all features
    and positions (ProGAN, Karras et al. 2018). ``(N, H, W, C)`` → ``(N, H, W, C + 1)``."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """``x`` with the batch's mean standard deviation appended as a constant channel."""
        std = keras.ops.mean(keras.ops.sqrt(keras.ops.var(x, axis=0) + 1e-8))
        shape = keras.ops.shape(x)
        return keras.ops.concatenate([x, keras.ops.broadcast_to(std, (shape[0], shape[1], shape[2], 1))], axis=-1)

    def compute_output_shape(self, shape: tuple) -> tuple:
        """One more channel."""
        return (*shape[:-1], shape[-1] + 1)


def build_discriminator(width: int = 64, in_shape: tuple[int, int, int] = (28, 28, 1), hidden: int = 0,
                        spectral_norm: bool = False, mbstd: bool = False) -> keras.Model:
    """D: image → conv4×4 s2 (width) → LeakyReLU → conv4×4 s2 (2·width) → BN → LeakyReLU → [minibatch std]
    → [dense ``hidden`` → BN → LeakyReLU] → one logit.

    ``hidden=0`` is lesson 07's plain DCGAN; the cpu and gpu profiles add the dense layer, which lets D
    judge a digit's overall shape: the largest single gain measured (docs/gan_results.md).
    ``spectral_norm`` wraps every layer in ``keras.layers.SpectralNormalization`` (Miyato et al. 2018) and
    drops D's BatchNorm; ``mbstd`` adds a :class:`MinibatchStd` feature map at 7×7.
    """
    def sn(layer: keras.layers.Layer) -> keras.layers.Layer:
        return layers.SpectralNormalization(layer, name=f"sn_{layer.name}") if spectral_norm else layer

    def norm(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
        return x if spectral_norm else _batch_norm(name)(x)

    image = keras.Input(tuple(in_shape), name="image")
    x = sn(layers.Conv2D(width, 4, strides=2, padding="same", kernel_initializer=_init(), name="conv14"))(image)
    x = layers.LeakyReLU(0.2, name="lrelu14")(x)
    x = sn(layers.Conv2D(2 * width, 4, strides=2, padding="same", use_bias=spectral_norm, kernel_initializer=_init(),
                         name="conv7"))(x)
    x = layers.LeakyReLU(0.2, name="lrelu7")(norm(x, "bn7"))
    if mbstd:
        x = MinibatchStd(name="mbstd")(x)
    x = layers.Flatten(name="flatten")(x)
    if hidden:
        x = sn(layers.Dense(hidden, use_bias=spectral_norm, kernel_initializer=_init(), name="hidden"))(x)
        x = layers.LeakyReLU(0.2, name="lrelu_hidden")(norm(x, "bn_hidden"))
    logit = sn(layers.Dense(1, kernel_initializer=_init(), name="logit"))(x)
    return keras.Model(image, logit, name="discriminator")


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor, real_target: float = 1.0,
                       loss: str = "bce") -> tf.Tensor:
    """``loss="bce"``: binary cross-entropy, real digits towards ``real_target`` (1, or less with label
    smoothing), fakes towards 0; ``"hinge"``: max(0, 1 − D(x)) + max(0, 1 + D(G(z)))."""
    if loss == "hinge":
        return (keras.ops.mean(keras.ops.relu(1.0 - real_logits))
                + keras.ops.mean(keras.ops.relu(1.0 + fake_logits)))
    bce = keras.losses.binary_crossentropy
    return (keras.ops.mean(bce(keras.ops.full_like(real_logits, real_target), real_logits, from_logits=True))
            + keras.ops.mean(bce(keras.ops.zeros_like(fake_logits), fake_logits, from_logits=True)))


def generator_loss(fake_logits: tf.Tensor, loss: str = "bce") -> tf.Tensor:
    """``"bce"``: the non-saturating loss, G wants D to call its fakes real (−log D(G(z))); ``"hinge"``: −D(G(z))."""
    if loss == "hinge":
        return -keras.ops.mean(fake_logits)
    return keras.ops.mean(keras.losses.binary_crossentropy(keras.ops.ones_like(fake_logits), fake_logits,
                                                           from_logits=True))


def r1_penalty(d: keras.Model, real: tf.Tensor, gamma: float) -> tuple[tf.Tensor, tf.Tensor]:
    """``(D(real), γ/2 · E‖∇ₓD(x)‖²)``: D's logits on the real batch and the R1 penalty (Mescheder et al. 2018).

    Called inside the tape that differentiates D's loss, the penalty's own gradient is taken through it."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = d(real, training=True)
        total = tf.reduce_sum(logits)  # inside the tape: it must see the sum too
    grad = tape.gradient(total, real)
    return logits, gamma / 2 * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))


# --------------------------------------------------------------------------- training

class _KerasRun:
    """One training run: the models, optimizers and compiled step, the data, the step reached and the loss log.

    The loop that drives it is :func:`helpers.gan.loop.train_loop`.
    """

    def __init__(self, cfg: GanConfig) -> None:
        self.cfg = cfg
        keras.utils.set_random_seed(cfg.seed)  # the initial weights
        self.g = build_generator(cfg.latent_dim, cfg.upsample, cfg.g_width, refine=cfg.g_refine,
                                 hidden=cfg.g_hidden)
        self.d = build_discriminator(cfg.d_width, hidden=cfg.d_hidden, spectral_norm=cfg.d_spectral_norm,
                                     mbstd=cfg.d_mbstd)
        self.ema = build_generator(cfg.latent_dim, cfg.upsample, cfg.g_width, refine=cfg.g_refine,
                                   hidden=cfg.g_hidden)
        self.ema.set_weights(self.g.get_weights())
        self.opt_g = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.opt_d = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.opt_g.build(self.g.trainable_variables)
        self.opt_d.build(self.d.trainable_variables)
        # XLA unless the configuration says otherwise (the smoke profile does: config.FRAMEWORK_SETTINGS)
        self.jit = bool(cfg.extra.get("jit_compile", True))
        self.step_fn = tf.function(self._step, jit_compile=self.jit)
        self.sample_fn = tf.function(lambda z: self.ema(z, training=False), jit_compile=self.jit)
        self.data = tf.constant(training_data(cfg))
        self.order, self.order_epoch = None, -1
        self.losses: tuple[tf.Tensor, tf.Tensor] | None = None  # the last step's, read when logged
        self.step, self.history, self.trained_s = 0, new_history(), 0.0

    def _step(self, real: tf.Tensor, z: tf.Tensor, ema_decay: tf.Tensor, r1_gamma: float
              ) -> tuple[tf.Tensor, tf.Tensor]:
        # r1_gamma is a Python number: tf.function traces one step with the penalty and one without (lazy R1)
        cfg = self.cfg
        real_target = 1.0 - cfg.label_smoothing
        loss_kind = cfg.loss

        def d_real() -> tuple[tf.Tensor, tf.Tensor | float]:  # D(real) and the R1 penalty (0 without)
            if r1_gamma:
                return r1_penalty(self.d, real, r1_gamma)
            return self.d(real, training=True), 0.0

        if cfg.extra.get("update", "simultaneous") == "alternating":
            # PyTorch-style: update D first, then G through the *updated* D (one more D pass).
            with tf.GradientTape() as tape_g:
                fake = self.g(z, training=True)
                with tf.GradientTape() as tape_d:
                    real_logits, penalty = d_real()
                    loss_d = discriminator_loss(real_logits, self.d(tf.stop_gradient(fake), training=True),
                                                real_target, loss_kind) + penalty
                grads_d = tape_d.gradient(loss_d, self.d.trainable_variables)
                self.opt_d.apply_gradients(zip(grads_d, self.d.trainable_variables, strict=True))
                loss_g = generator_loss(self.d(fake, training=True), loss_kind)
            grads_g = tape_g.gradient(loss_g, self.g.trainable_variables)
        else:
            # One forward pass serves both losses (as in TensorFlow's DCGAN tutorial): cheaper on a CPU.
            with tf.GradientTape() as tape_g, tf.GradientTape() as tape_d:
                fake = self.g(z, training=True)
                real_logits, penalty = d_real()
                fake_logits = self.d(fake, training=True)
                loss_d = discriminator_loss(real_logits, fake_logits, real_target, loss_kind) + penalty
                loss_g = generator_loss(fake_logits, loss_kind)
            grads_d = tape_d.gradient(loss_d, self.d.trainable_variables)
            grads_g = tape_g.gradient(loss_g, self.g.trainable_variables)
            self.opt_d.apply_gradients(zip(grads_d, self.d.trainable_variables, strict=True))
        self.opt_g.apply_gradients(zip(grads_g, self.g.trainable_variables, strict=True))
        # EMA of G's weights; BN's moving statistics are copied (decay 0 copies everything).
        for avg, w in zip(self.ema.trainable_variables, self.g.trainable_variables, strict=True):
            avg.assign(ema_decay * avg + (1.0 - ema_decay) * w)
        for avg, w in zip(self.ema.non_trainable_variables, self.g.non_trainable_variables, strict=True):
            avg.assign(w)
        return loss_d, loss_g

    # ---- state
    def _groups(self) -> dict[str, list]:
        return {"g": self.g.variables, "d": self.d.variables, "ema": self.ema.variables,
                "opt_g": self.opt_g.variables, "opt_d": self.opt_d.variables}

    def save(self, path: Path, trained_s: float) -> None:
        """Write the checkpoint (atomically): every variable, and the step, configuration and loss log as JSON."""
        groups = self._groups().items()
        arrays = {f"{group}/{i}": np.asarray(v.numpy()) for group, vs in groups for i, v in enumerate(vs)}
        arrays["meta"] = np.frombuffer(json.dumps({
            "version": CHECKPOINT_VERSION, "step": int(self.step), "config": self.cfg.to_dict(),
            "history": self.history, "trained_s": trained_s,
        }).encode(), dtype=np.uint8)

        def write(f: io.BufferedWriter) -> None:
            buffer = io.BytesIO()  # np.savez wants to seek; the file object may not
            np.savez(buffer, **arrays)
            f.write(buffer.getvalue())

        atomic_write(path, write)

    def resume(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``; :class:`CheckpointError` if it cannot or must not be."""
        arrays, meta = _read_checkpoint(path)
        step = check_saved_run(meta.get("config"), meta.get("step"), self.cfg, path)
        for group, variables in self._groups().items():
            for i, v in enumerate(variables):
                key = f"{group}/{i}"
                if key not in arrays or tuple(arrays[key].shape) != tuple(v.shape):
                    raise CheckpointError(f"{path} does not match the model ({key} missing or misshapen). "
                                          f"{START_AFRESH}")
        for group, variables in self._groups().items():
            for i, v in enumerate(variables):
                v.assign(arrays[f"{group}/{i}"])
        self.step, self.history, self.trained_s = step, meta["history"], float(meta.get("trained_s", 0.0))

    # ---- training
    def one_step(self) -> None:
        """One step on the next batch of the epoch's order; the noise is a function of (seed, step)."""
        cfg = self.cfg
        epoch, position = divmod(self.step, cfg.steps_per_epoch)
        if epoch != self.order_epoch:
            self.order, self.order_epoch = _epoch_order(cfg, epoch), epoch
        real = tf.gather(self.data, self.order[position * cfg.batch_size:(position + 1) * cfg.batch_size])
        z = tf.random.stateless_normal((cfg.batch_size, cfg.latent_dim), seed=(cfg.seed, self.step))
        decay = cfg.ema_decay if self.step >= cfg.ema_start else 0.0
        self.losses = self.step_fn(real, z, tf.constant(decay, tf.float32), r1_gamma_at(cfg, self.step))
        self.step += 1

    def log_losses(self) -> tuple[float, float]:
        """The losses of the step just taken (PyTorch logs the interval's mean: it syncs once a log)."""
        loss_d, loss_g = self.losses
        return float(loss_d), float(loss_g)

    def finish(self) -> None:
        """Nothing to wait for: the steps ran eagerly, one ``tf.function`` call each."""

    def recalibrate_batchnorm(self, batches: int = 20, batch_size: int = 256) -> None:
        """Recompute the EMA generator's BatchNorm statistics for *its own* weights.

        The copied statistics were measured with G's current weights, not the averaged ones.
        Eagerly, with momentum 1 − 1/k at the k-th batch, the moving statistics become the
        plain average over the batches. Deterministic: the noise is fixed by the seed.
        """
        norms = [layer for layer in self.ema.layers if isinstance(layer, layers.BatchNormalization)]
        saved = [layer.momentum for layer in norms]
        try:
            for k in range(1, batches + 1):
                for layer in norms:
                    layer.momentum = 1.0 - 1.0 / k
                z = tf.random.stateless_normal((batch_size, self.cfg.latent_dim), seed=(self.cfg.seed + 2, k))
                self.ema(z, training=True)
        finally:
            for layer, momentum in zip(norms, saved, strict=True):
                layer.momentum = momentum

    def samples(self) -> np.ndarray:
        """``cfg.n_samples`` digits from the EMA generator, BN in inference mode, noise fixed by the seed."""
        n, out = self.cfg.n_samples, []
        for start in range(0, n, _SAMPLE_BATCH):
            size = min(_SAMPLE_BATCH, n - start)
            z = tf.random.stateless_normal((size, self.cfg.latent_dim), seed=(self.cfg.seed + 1, 10**6 + start))
            out.append(self.sample_fn(z).numpy())
        return to_uint8(np.concatenate(out), (-1.0, 1.0))


def _epoch_order(cfg: GanConfig, epoch: int) -> np.ndarray:
    """The shuffled order of the training digits in ``epoch``: a pure function of (seed, epoch)."""
    return np.random.default_rng([cfg.seed, epoch]).permutation(cfg.n_train)


def training_data(cfg: GanConfig) -> np.ndarray:
    """The ``cfg.n_train`` training digits as float32 (N, 28, 28, 1) in [-1, 1] (a seeded subset when < 60,000)."""
    subset = cfg.n_train < 60_000
    x, _ = load_mnist("train", cfg.n_train if subset else None, value_range=(-1.0, 1.0), channel="last",
                      seed=cfg.seed if subset else None)
    return x


def _set_threads(threads: int | str | None) -> None:
    """Honour ``cfg.extra["threads"]`` (tiny smoke models lose more than they gain from threads on a busy machine).

    TensorFlow fixes its thread pools when it first runs an op; later in the same process
    the request is ignored (the run is still correct, only not pinned).
    """
    if not threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    except RuntimeError:
        pass


def _read_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and the metadata of a checkpoint :meth:`_KerasRun.save` wrote (or version 1's, converted)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except Exception as exc:
        raise CheckpointError(f"cannot read the checkpoint {path}: {type(exc).__name__}: {exc}. "
                              f"{START_AFRESH}") from None
    version = meta.get("version", meta.get("format"))  # version 1 called it "format"
    if version == 1 and isinstance(meta.get("history", []), list):  # its log: [[step, {"d": …, "g": …}], …]
        log = meta.get("history", [])
        meta["history"] = {"step": [s for s, _ in log], "loss_d": [v["d"] for _, v in log],
                           "loss_g": [v["g"] for _, v in log]}
    elif version != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {version!r}, expected {CHECKPOINT_VERSION}. "
                              f"{START_AFRESH}")
    return arrays, meta


def _tf_device(device: str | None) -> str:
    """A TensorFlow device name: the GPU if there is one (None), or ``cpu``/``gpu``/``cuda`` spelt TensorFlow's way."""
    if device is None:
        return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
    return {"cpu": "/CPU:0", "gpu": "/GPU:0", "cuda": "/GPU:0"}.get(str(device).lower(), str(device))


def train(cfg: GanConfig, out_dir: str | Path, resume: bool = False, *, device: str | None = None,
          stop_after: int | None = None, on_log: OnLog | None = None, on_epoch: OnEpoch | None = None,
          progress: bool = True) -> tuple[np.ndarray, dict]:
    """Train the DCGAN ``cfg`` describes; return ``(samples_uint8, info)``: the contract of :mod:`helpers.gan`.

    Keras specifics: ``device`` is a TensorFlow device name (``"/CPU:0"``; ``"cpu"`` and ``"gpu"`` are
    understood; default the first GPU if there is one); ``on_epoch`` gets the EMA generator as a
    ``keras.Model``, ``(N, latent_dim)`` → ``(N, 28, 28, 1)`` (call it with ``training=False``);
    ``info`` adds ``ema_decay``. The losses logged are the logging step's own (PyTorch logs the mean
    over the interval: it syncs with the device once a log, not once a step).
    """
    cfg.validate()  # again: a field may have been changed since the configuration was built
    if cfg.framework != "keras":
        raise ValueError(f"helpers.gan.train_keras trains framework='keras' configurations; got {cfg.framework!r}")
    _set_threads(cfg.extra.get("threads"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(out_dir, "keras")
    started = time.perf_counter()
    device = _tf_device(device)
    with tf.device(device):
        run = _KerasRun(cfg)
        first_step = loop.start(run, path, resume)
        run_s = loop.train_loop(run, path, stop_after=stop_after, on_log=on_log, on_epoch=on_epoch, g_ema=run.ema,
                                progress=progress)
        run.recalibrate_batchnorm()
        samples = run.samples()
    words = f"{device} · TensorFlow {tf.__version__} · Keras {keras.__version__}{' · XLA' if run.jit else ''}"
    return samples, {**loop.run_info(run, first_step, run_s, started, path, words), "ema_decay": cfg.ema_decay}
