"""PyTorch side of porting a Keras ``Conv2DTranspose``: build the exact equivalent, and export back.

Imports PyTorch only (never TensorFlow). What the two frameworks must agree on — the
weight layout and Keras' asymmetric ``same`` crop — is computed in :mod:`helpers.layouts`
(plain NumPy); the Keras side is :mod:`helpers.port_keras`. Weights travel as NumPy
arrays plus a Keras-style config dict, e.g. in an ``.npz`` written by
:func:`helpers.layouts.save_arrays`.

>>> module = conv_transpose_from_keras(kernel, bias, config)   # kernel (kH, kW, out, in), NumPy
>>> y = module(torch.from_numpy(layouts.nhwc_to_nchw(x)))      # equals the Keras output, NCHW

Used in lesson 06.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from . import layouts
from .reference import as_pair

#: Keras activation names this port understands, and their PyTorch modules.
ACTIVATIONS = {"linear": None, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class Crop2d(nn.Module):
    """Drop ``bottom`` rows and ``right`` columns at the end of an NCHW tensor (Keras' extra ``same`` crop)."""

    def __init__(self, bottom: int = 0, right: int = 0):
        super().__init__()
        if bottom < 0 or right < 0:
            raise ValueError("Crop2d removes rows/columns: bottom and right must be >= 0")
        self.bottom, self.right = int(bottom), int(right)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` without its last ``bottom`` rows and ``right`` columns."""
        return x[..., : x.shape[-2] - self.bottom, : x.shape[-1] - self.right]

    def extra_repr(self) -> str:
        """What ``print(module)`` shows inside the parentheses."""
        return f"bottom={self.bottom}, right={self.right}"


def _activation_module(name: str | None) -> nn.Module | None:
    name = name or "linear"
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not ported; known: {sorted(ACTIVATIONS)}")
    maker = ACTIVATIONS[name]
    return None if maker is None else maker()


def keras_style_conv_transpose(in_channels: int, filters: int, kernel_size: int | tuple[int, int],
                               strides: int | tuple[int, int] = 1, padding: str = "valid",
                               output_padding: int | tuple[int, int] | None = None,
                               dilation_rate: int | tuple[int, int] = 1, use_bias: bool = True,
                               activation: str | None = None) -> nn.Sequential:
    """A PyTorch module that behaves like ``keras.layers.Conv2DTranspose`` with these arguments (NCHW in and out).

    It is a ``ConvTranspose2d`` named ``conv``, followed by a :class:`Crop2d` named ``crop``
    only when Keras crops one row/column more at the end than at the start (an odd
    ``k - s`` with ``padding="same"``), and by the activation named ``act``.
    """
    eq = layouts.torch_equivalent(kernel_size, strides, padding, output_padding, dilation_rate)
    parts: dict[str, nn.Module] = {
        "conv": nn.ConvTranspose2d(in_channels, filters, eq.kernel_size, stride=eq.stride, padding=eq.padding,
                                   output_padding=eq.output_padding, dilation=eq.dilation, bias=use_bias)
    }
    if eq.needs_crop:
        parts["crop"] = Crop2d(*eq.crop_end)
    act = _activation_module(activation)
    if act is not None:
        parts["act"] = act
    module = nn.Sequential(OrderedDict(parts))
    module.keras_config = {  # travels with the module, so that export_to_keras gives back the same layer
        "filters": int(filters), "kernel_size": list(eq.kernel_size), "strides": list(eq.stride),
        "padding": padding.lower(),
        "output_padding": None if output_padding is None else list(as_pair(output_padding, "output_padding", 0)),
        "dilation_rate": list(eq.dilation), "use_bias": bool(use_bias), "activation": activation or "linear",
    }
    return module


def conv_transpose_from_keras(kernel: ArrayLike, bias: ArrayLike | None, config: dict) -> nn.Sequential:
    """Port a Keras ``Conv2DTranspose``: its kernel ``(kH, kW, out, in)``, bias and config → an equivalent module.

    ``config`` holds the layer's ``get_config()`` keys ``kernel_size``, ``strides``,
    ``padding``, ``output_padding``, ``dilation_rate``, ``activation`` (``filters`` and
    ``use_bias`` are read from the arrays). See :func:`helpers.port_keras.export_conv_transpose`.
    """
    weight = layouts.keras_conv_transpose_kernel_to_torch(kernel)
    in_channels, filters = weight.shape[:2]
    if tuple(weight.shape[2:]) != as_pair(config["kernel_size"], "kernel_size", 1):
        raise ValueError(f"kernel of shape {np.shape(kernel)} does not match kernel_size={config['kernel_size']}")
    module = keras_style_conv_transpose(
        in_channels, filters, config["kernel_size"], config.get("strides", 1), config.get("padding", "valid"),
        config.get("output_padding"), config.get("dilation_rate", 1), use_bias=bias is not None,
        activation=config.get("activation"),
    )
    with torch.no_grad():
        module.conv.weight.copy_(torch.from_numpy(np.asarray(weight, dtype=np.float32)))
        if bias is not None:
            module.conv.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float32)))
    return module


def _activation_name(module: nn.Module) -> str:
    for name, maker in ACTIVATIONS.items():
        if maker is not None and isinstance(module, maker):
            return name
    raise ValueError(f"cannot export activation {type(module).__name__}; known: {sorted(ACTIVATIONS)}")


def export_to_keras(module: nn.Module) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Kernel ``(kH, kW, out, in)``, bias and Keras config of a ``Conv2DTranspose`` that computes what ``module`` does.

    ``module`` is one built by :func:`keras_style_conv_transpose` / :func:`conv_transpose_from_keras`
    (its Keras config travels with it), or a plain ``nn.ConvTranspose2d``, whose
    ``padding``/``output_padding`` are translated by :func:`helpers.layouts.keras_config_for_torch`
    (``ValueError`` when Keras has no such setting, or for ``groups > 1``).
    """
    if isinstance(module, nn.ConvTranspose2d):
        conv, config = module, None
    elif isinstance(module, nn.Sequential) and hasattr(module, "keras_config"):
        conv, config = module.conv, dict(module.keras_config)
        act = getattr(module, "act", None)
        config["activation"] = "linear" if act is None else _activation_name(act)
    else:
        raise TypeError("expected nn.ConvTranspose2d or a module from keras_style_conv_transpose, "
                        f"got {type(module).__name__}")
    if conv.groups != 1:
        raise ValueError("Keras Conv2DTranspose has no groups: cannot export groups > 1")
    if config is None:
        per_axis = [layouts.keras_config_for_torch(k, s, p, op, d) for k, s, p, op, d in
                    zip(conv.kernel_size, conv.stride, conv.padding, conv.output_padding, conv.dilation, strict=True)]
        if per_axis[0]["padding"] != per_axis[1]["padding"]:
            raise ValueError(f"rows and columns need different Keras paddings: {per_axis}")
        ops = [a["output_padding"] for a in per_axis]
        if (ops[0] is None) != (ops[1] is None):
            raise ValueError(f"rows and columns need different kinds of Keras output_padding: {per_axis}")
        config = {
            "filters": conv.out_channels, "kernel_size": list(conv.kernel_size), "strides": list(conv.stride),
            "padding": per_axis[0]["padding"], "output_padding": None if ops[0] is None else ops,
            "dilation_rate": list(conv.dilation), "use_bias": conv.bias is not None, "activation": "linear",
        }
    kernel = layouts.torch_conv_transpose_weight_to_keras(conv.weight.detach().cpu().numpy())
    bias = None if conv.bias is None else conv.bias.detach().cpu().numpy().copy()
    return kernel, bias, config
