"""Keras side of porting a ``Conv2DTranspose``: export its weights and config, and build one from them.

Imports Keras/TensorFlow only (never PyTorch). Weights travel as NumPy arrays in the
Keras layout ``(kH, kW, out, in)`` plus a config dict with the ``get_config()`` keys
that matter for the result; :mod:`helpers.port_torch` builds the PyTorch equivalent
from exactly that, and exports back to it.

Used in lesson 05.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .keras_utils import keras  # TensorFlow started quietly (helpers.quiet)

#: The ``get_config()`` keys that decide what a Conv2DTranspose computes.
CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "output_padding", "dilation_rate", "use_bias",
               "activation")


def _plain(value: object):
    """Tuples → lists, so that the config survives a round trip through JSON."""
    return list(value) if isinstance(value, tuple) else value


def conv_transpose_config(layer: keras.layers.Conv2DTranspose) -> dict:
    """The parts of ``layer.get_config()`` that :mod:`helpers.port_torch` needs (JSON-able)."""
    config = layer.get_config()
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError("only channels_last layers are ported (the Keras default)")
    if config.get("groups", 1) != 1:
        raise ValueError("only groups=1 is ported")
    # Keras 3.10 leaves output_padding out of get_config() (later versions include it): read the layer.
    config.setdefault("output_padding", getattr(layer, "output_padding", None))
    out = {key: _plain(config[key]) for key in CONFIG_KEYS}
    if not isinstance(out["activation"], str):
        raise ValueError(f"only built-in activations given by name are ported, got {out['activation']!r}")
    return out


def export_conv_transpose(layer: keras.layers.Conv2DTranspose) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """``(kernel, bias, config)`` of a built layer: kernel ``(kH, kW, out, in)`` and bias as NumPy arrays."""
    if not layer.built:
        raise ValueError("build the layer first (call it on an input, or put it in a model with keras.Input)")
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    bias = keras.ops.convert_to_numpy(layer.bias) if layer.use_bias else None
    return kernel, bias, conv_transpose_config(layer)


def conv_transpose_from_arrays(kernel: ArrayLike, bias: ArrayLike | None, config: dict) -> keras.layers.Conv2DTranspose:
    """A built ``Conv2DTranspose`` with these weights: the inverse of :func:`export_conv_transpose`."""
    kernel = np.asarray(kernel, dtype=np.float32)
    options = {key: (tuple(v) if isinstance(v, list) else v) for key, v in config.items() if key in CONFIG_KEYS}
    options["filters"] = kernel.shape[2]
    options["use_bias"] = bias is not None
    layer = keras.layers.Conv2DTranspose(**options)
    layer.build((None, None, None, kernel.shape[3]))
    layer.set_weights([kernel] if bias is None else [kernel, np.asarray(bias, dtype=np.float32)])
    return layer
