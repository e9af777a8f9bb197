"""Keras half of the cross-framework tests: run as a subprocess, so no process imports both frameworks.

    python tests/keras_worker.py OUT.npz [TORCH_EXPORT.npz]

Writes to ``OUT.npz`` (via :func:`helpers.layouts.save_arrays`):

* ``ct{i}_*``: for every Conv2DTranspose case in ``CASES`` a random layer's exported
  kernel/bias/config, its input (NHWC) and its Keras output;
* ``up_*``: ``UpSampling2D`` (nearest, bilinear) and ``tf.nn.depth_to_space`` outputs;
* ``back{i}_y``: for every case in ``TORCH_EXPORT.npz`` (kernels exported from PyTorch
  by :func:`helpers.port_torch.export_to_keras`), the output of the Keras layer built
  from it by :func:`helpers.port_keras.conv_transpose_from_arrays`.
"""

from __future__ import annotations

import itertools
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import keras
import numpy as np
import tensorflow as tf

from helpers import layouts, port_keras


def conv_transpose_cases() -> list[dict]:
    """Every k ∈ {2,3,4,5}, s ∈ {1,2,3}, padding same/valid, output_padding None or each value TF accepts.

    Plus non-square ones.
    """
    cases = []
    for k, s, padding in itertools.product((2, 3, 4, 5), (1, 2, 3), ("same", "valid")):
        for op in (None, *range(s)):
            try:
                layouts.keras_conv_transpose_crop(k, s, padding, op)
            except ValueError:  # e.g. 'same' with output_padding=0 and an even kernel: TensorFlow rejects it
                continue
            cases.append({"kernel_size": [k, k], "strides": [s, s], "padding": padding, "output_padding": op})
    cases += [
        {"kernel_size": [3, 4], "strides": [2, 3], "padding": "same", "output_padding": None},
        {"kernel_size": [5, 2], "strides": [3, 2], "padding": "same", "output_padding": None},
        {"kernel_size": [3, 4], "strides": [2, 3], "padding": "valid", "output_padding": [1, 2]},
    ]
    return cases


def main(out_path: str, torch_export: str | None = None) -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    arrays, meta = {}, {"cases": []}
    for i, case in enumerate(conv_transpose_cases()):
        layer = keras.layers.Conv2DTranspose(2, case["kernel_size"], strides=case["strides"], padding=case["padding"],
                                             output_padding=case["output_padding"],
                                             activation="relu" if i % 4 == 0 else None,
                                             bias_initializer="random_normal")
        x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)  # H != W, so a swapped axis cannot hide
        arrays[f"ct{i}_y"] = keras.ops.convert_to_numpy(layer(x))
        kernel, bias, config = port_keras.export_conv_transpose(layer)
        arrays[f"ct{i}_x"], arrays[f"ct{i}_kernel"], arrays[f"ct{i}_bias"] = x, kernel, bias
        meta["cases"].append(config)

    image = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
    arrays["up_x"] = image
    for interpolation in ("nearest", "bilinear"):
        for size in ((2, 2), (3, 2)):
            layer = keras.layers.UpSampling2D(size=size, interpolation=interpolation)
            arrays[f"up_{interpolation}_{size[0]}x{size[1]}"] = keras.ops.convert_to_numpy(layer(image))
    arrays["d2s_x"] = rng.normal(size=(2, 3, 4, 8)).astype(np.float32)
    arrays["d2s_y"] = tf.nn.depth_to_space(arrays["d2s_x"], 2).numpy()

    if torch_export:
        config, exported = layouts.load_arrays(torch_export)
        for i, case in enumerate(config["cases"]):
            bias = exported.get(f"back{i}_bias")
            layer = port_keras.conv_transpose_from_arrays(exported[f"back{i}_kernel"], bias, case)
            arrays[f"back{i}_y"] = keras.ops.convert_to_numpy(layer(exported[f"back{i}_x"]))
            arrays[f"back{i}_roundtrip"] = port_keras.export_conv_transpose(layer)[0]
    meta["versions"] = {"keras": keras.__version__, "tensorflow": tf.__version__}
    meta["torch_imported"] = "torch" in sys.modules  # the Keras side must never pull PyTorch in
    layouts.save_arrays(out_path, meta, **{k: v for k, v in arrays.items() if v is not None})


if __name__ == "__main__":
    main(*sys.argv[1:])
