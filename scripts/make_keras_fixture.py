"""Write ``data/keras_conv_transpose.npz``: a small Keras-trained Conv2DTranspose for lesson 06 to port.

    python scripts/make_keras_fixture.py [--out data/keras_conv_transpose.npz] [--steps 600]

Lesson 06 imports PyTorch only, so it cannot train or run a Keras layer. This script
(Keras only) trains a two-layer super-resolution model on MNIST — 14×14 digits (2×2
averages) → ``Conv2D(8, 3, same, relu)`` → ``Conv2DTranspose(1, 3, strides=2, same)``
→ 28×28 — and saves, with :func:`helpers.layouts.save_arrays`, everything the lesson
needs to port it and check the port:

* ``kernel`` ``(3, 3, 1, 8)``, ``bias`` ``(1,)``: the Conv2DTranspose (Keras layout);
* ``conv_kernel`` ``(3, 3, 1, 8)``, ``conv_bias`` ``(8,)``: the Conv2D before it;
* ``x`` ``(8, 14, 14, 8)``: the Conv2DTranspose's input for 8 test digits, ``y``: its Keras output;
* ``digits_low`` ``(8, 14, 14, 1)``, ``digits`` ``(8, 28, 28, 1)``, ``model_y``: the model's input, target, output;
* ``table_x`` ``(2, 4, 5, 8)`` and what Keras/TensorFlow make of it: ``table_nearest``,
  ``table_bilinear`` (``UpSampling2D`` ×2), ``table_depth_to_space`` (``tf.nn.depth_to_space``, r=2);
* ``resize_x`` ``(1, 4, 4, 1)`` (the numbers 0…15) and ``tf_resize_nearest``: ``tf.image.resize``
  to 6×6 with ``method="nearest"`` — a non-integer scale, where PyTorch's ``nearest`` differs;
* config: both layers' configs (:func:`helpers.port_keras.conv_transpose_config`), the
  training recipe and the Keras/TensorFlow versions.

The kernel size 3 with stride 2 and ``padding="same"`` is the article's layer and the
case whose crop is asymmetric (docs/design.md, F6).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from helpers import DATA_DIR, layouts, port_keras
from helpers.data import load_mnist


def halve(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28, 1) → (N, 14, 14, 1): the mean of each 2×2 block."""
    n, h, w, c = images.shape
    return images.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR / "keras_conv_transpose.npz")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--train", type=int, default=4096, help="training digits")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    x_train, _ = load_mnist("train", args.train, value_range=(0.0, 1.0), channel="last")
    x_test, _ = load_mnist("test", 8, value_range=(0.0, 1.0), channel="last")
    conv = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="features")
    up = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", name="upsample")
    inputs = keras.Input((14, 14, 1))
    model = keras.Model(inputs, up(conv(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    batch = 64
    epochs = max(1, round(args.steps * batch / len(x_train)))
    history = model.fit(halve(x_train), x_train, batch_size=batch, epochs=epochs, verbose=0, shuffle=True)

    low = halve(x_test).astype(np.float32)
    features = keras.ops.convert_to_numpy(conv(low))
    kernel, bias, config = port_keras.export_conv_transpose(up)
    kept = ("filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias")
    conv_config = {key: (list(v) if isinstance(v, tuple) else v) for key, v in conv.get_config().items()
                   if key in kept}
    meta = {
        "conv_transpose": config,
        "conv": conv_config,
        "recipe": f"Adam(3e-3), MSE, batch {batch}, {epochs} epochs on {len(x_train)} MNIST training digits "
                  "(2x2 means -> original), seed 0",
        "final_mse": float(history.history["loss"][-1]),
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
    }
    rng = np.random.default_rng(0)
    table_x = rng.normal(size=(2, 4, 5, 8)).astype(np.float32)
    resize_x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    extras = {
        "table_x": table_x,
        "table_nearest": keras.ops.convert_to_numpy(keras.layers.UpSampling2D(2, interpolation="nearest")(table_x)),
        "table_bilinear": keras.ops.convert_to_numpy(keras.layers.UpSampling2D(2, interpolation="bilinear")(table_x)),
        "table_depth_to_space": tf.nn.depth_to_space(table_x, 2).numpy(),
        "resize_x": resize_x,
        "tf_resize_nearest": tf.image.resize(resize_x, (6, 6), method="nearest").numpy(),
    }
    layouts.save_arrays(
        args.out, meta, **extras, kernel=kernel, bias=bias, conv_kernel=keras.ops.convert_to_numpy(conv.kernel),
        conv_bias=keras.ops.convert_to_numpy(conv.bias), x=features, y=keras.ops.convert_to_numpy(up(features)),
        digits_low=low, digits=x_test.astype(np.float32), model_y=keras.ops.convert_to_numpy(model(low)),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes); final training MSE {meta['final_mse']:.4f}")
    return args.out


if __name__ == "__main__":
    main()
