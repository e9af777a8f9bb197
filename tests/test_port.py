"""Keras ↔ PyTorch parity of Conv2DTranspose ports, UpSampling2D and depth_to_space.

No process imports both frameworks: a Keras subprocess (``tests/keras_worker.py``) writes
its layers' weights, inputs and outputs to an ``.npz``; this process (PyTorch only) ports
them, compares, and sends PyTorch-exported weights back to the same subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import layouts, port_torch, reference

WORKER = Path(__file__).with_name("keras_worker.py")
pytestmark = pytest.mark.slow  # one Keras subprocess for the module: about half a minute
TOL = {"rtol": 1e-5, "atol": 1e-5}  # float32 rounding of sums of at most 5·5·3 products

# PyTorch layers to export to Keras: (kernel, stride, padding, output_padding); each has a Keras twin.
TORCH_CASES = [(4, 2, 1, 0), (3, 2, 0, 1), (2, 2, 0, 0), (3, 1, 1, 0), (5, 3, 1, 0), (2, 3, 0, 2)]


def _torch_export_cases() -> tuple[dict, dict]:
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    meta, arrays = {"cases": []}, {}
    modules = [torch.nn.ConvTranspose2d(3, 2, k, stride=s, padding=p, output_padding=op) for k, s, p, op in TORCH_CASES]
    modules.append(port_torch.keras_style_conv_transpose(3, 2, 3, 2, "same", activation="relu"))  # the asymmetric one
    for i, module in enumerate(modules):
        with torch.no_grad():
            module[0].bias.normal_() if isinstance(module, torch.nn.Sequential) else module.bias.normal_()
        kernel, bias, config = port_torch.export_to_keras(module)
        x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
        with torch.no_grad():
            y = module(torch.from_numpy(layouts.nhwc_to_nchw(x))).numpy()
        meta["cases"].append(config)
        arrays.update({f"back{i}_kernel": kernel, f"back{i}_bias": bias, f"back{i}_x": x, f"back{i}_torch_y": y})
    return meta, arrays


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    """Run the Keras worker once: ``(config, arrays)`` of its outputs, plus what was sent to it."""
    folder = tmp_path_factory.mktemp("keras")
    meta, sent = _torch_export_cases()
    layouts.save_arrays(folder / "torch_export.npz", meta, **sent)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(WORKER), str(folder / "keras.npz"), str(folder / "torch_export.npz")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    config, arrays = layouts.load_arrays(folder / "keras.npz")
    assert config["torch_imported"] is False  # helpers.port_keras and helpers.layouts never import PyTorch
    return config, arrays, meta, sent


def _case_ids():
    cases = []
    for k in (2, 3, 4, 5):
        for s in (1, 2, 3):
            for padding in ("same", "valid"):
                for op in (None, *range(s)):
                    cases.append((k, s, padding, op))
    return cases


def _find(config, k, s, padding, op):
    want = {"kernel_size": [k, k], "strides": [s, s], "padding": padding,
            "output_padding": None if op is None else [op, op]}
    for i, case in enumerate(config["cases"]):
        if all(case[key] == value for key, value in want.items()):
            return i, case
    return None, None


def _port_and_run(arrays, i, case):
    module = port_torch.conv_transpose_from_keras(arrays[f"ct{i}_kernel"], arrays[f"ct{i}_bias"], case)
    with torch.no_grad():
        y = module(torch.from_numpy(layouts.nhwc_to_nchw(arrays[f"ct{i}_x"]))).numpy()
    return layouts.nchw_to_nhwc(y)


@pytest.mark.parametrize("k,s,padding,op", _case_ids())
def test_keras_layer_ported_to_torch_gives_the_same_output(keras_run, k, s, padding, op):
    config, arrays, _, _ = keras_run
    i, case = _find(config, k, s, padding, op)
    if i is None:  # the only combination TensorFlow refuses: 'same', output_padding=0, even kernel
        assert padding == "same" and op == 0 and k % 2 == 0
        with pytest.raises(ValueError):
            layouts.keras_conv_transpose_length(5, k, s, padding, op)
        return
    keras_y = arrays[f"ct{i}_y"]
    assert keras_y.shape[1:3] == (layouts.keras_conv_transpose_length(5, k, s, padding, op),
                                  layouts.keras_conv_transpose_length(4, k, s, padding, op))
    np.testing.assert_allclose(_port_and_run(arrays, i, case), keras_y, **TOL)
    if case["activation"] == "linear":  # and both equal the NumPy reference
        numpy_y = layouts.keras_conv_transpose_numpy(arrays[f"ct{i}_x"], arrays[f"ct{i}_kernel"], arrays[f"ct{i}_bias"],
                                                     s, padding, op)
        np.testing.assert_allclose(numpy_y, keras_y, **TOL)


def test_every_keras_case_ports_including_non_square(keras_run):
    config, arrays, _, _ = keras_run
    assert len(config["cases"]) >= 60
    for i, case in enumerate(config["cases"]):
        np.testing.assert_allclose(_port_and_run(arrays, i, case), arrays[f"ct{i}_y"], **TOL, err_msg=str(case))


@pytest.mark.parametrize("k", [3, 5])
def test_naive_same_port_is_off_by_one_pixel_for_odd_kernels(keras_run, k):
    """docs/design.md, F6: padding=(k-1)//2, output_padding=1 has the right size and the wrong values."""
    config, arrays, _, _ = keras_run
    i, case = _find(config, k, 2, "same", None)
    p, op = layouts.naive_torch_padding(k, 2)
    assert (p, op) == ((k - 1) // 2, 1)
    naive = torch.nn.ConvTranspose2d(3, 2, k, stride=2, padding=p, output_padding=op)
    with torch.no_grad():
        naive.weight.copy_(torch.from_numpy(layouts.keras_conv_transpose_kernel_to_torch(arrays[f"ct{i}_kernel"])))
        naive.bias.copy_(torch.from_numpy(arrays[f"ct{i}_bias"]))
        y = layouts.nchw_to_nhwc(naive(torch.from_numpy(layouts.nhwc_to_nchw(arrays[f"ct{i}_x"]))).numpy())
    if case["activation"] == "relu":
        y = np.maximum(y, 0)
    keras_y = arrays[f"ct{i}_y"]
    assert y.shape == keras_y.shape
    assert np.abs(y - keras_y).max() > 1e-2
    # the naive result is the Keras one moved up and left by one pixel
    np.testing.assert_allclose(y[:, :-1, :-1], keras_y[:, 1:, 1:], **TOL)


def test_naive_same_port_is_right_for_k4_s2(keras_run):
    config, arrays, _, _ = keras_run
    i, case = _find(config, 4, 2, "same", None)
    assert layouts.naive_torch_padding(4, 2) == (1, 0)
    eq = layouts.torch_equivalent(4, 2, "same")
    assert (eq.padding, eq.output_padding, eq.needs_crop) == ((1, 1), (0, 0), False)
    np.testing.assert_allclose(_port_and_run(arrays, i, case), arrays[f"ct{i}_y"], **TOL)


def test_torch_layers_exported_to_keras_give_the_same_output(keras_run):
    config, arrays, meta, sent = keras_run
    for i, case in enumerate(meta["cases"]):
        keras_y = arrays[f"back{i}_y"]
        torch_y = layouts.nchw_to_nhwc(sent[f"back{i}_torch_y"])
        np.testing.assert_allclose(keras_y, torch_y, **TOL, err_msg=str(case))
        np.testing.assert_array_equal(arrays[f"back{i}_roundtrip"], sent[f"back{i}_kernel"])
    assert meta["cases"][0]["padding"] == "same"  # torch k4 s2 p1 is Keras 'same'


def test_upsampling2d_equals_reference(keras_run):
    _, arrays, _, _ = keras_run
    x = layouts.nhwc_to_nchw(arrays["up_x"])
    for size in ((2, 2), (3, 2)):
        tag = f"{size[0]}x{size[1]}"
        np.testing.assert_array_equal(layouts.nchw_to_nhwc(reference.upsample_nearest(x, size)),
                                      arrays[f"up_nearest_{tag}"])
        bilinear = reference.interpolate_bilinear(x, scale_factor=size, align_corners=False)
        np.testing.assert_allclose(layouts.nchw_to_nhwc(bilinear), arrays[f"up_bilinear_{tag}"], **TOL)


def test_depth_to_space_is_pixel_shuffle_with_channels_regrouped(keras_run):
    """docs/design.md, F9: TF reads channel (i·r + j)·C + c, PyTorch c·r² + i·r + j."""
    _, arrays, _, _ = keras_run
    x, tf_y = arrays["d2s_x"], arrays["d2s_y"]
    r, c_out = 2, x.shape[-1] // 4
    shuffled = layouts.nchw_to_nhwc(reference.pixel_shuffle(layouts.nhwc_to_nchw(x), r))
    assert np.abs(shuffled - tf_y).max() > 1e-2  # C = 2 > 1: the orders differ
    regrouped = layouts.depth_to_space_order_to_pixel_shuffle(x, r)
    assert not np.array_equal(regrouped, x)
    shuffled = reference.pixel_shuffle(layouts.nhwc_to_nchw(regrouped), r)
    np.testing.assert_allclose(layouts.nchw_to_nhwc(shuffled), tf_y, rtol=0, atol=0)
    y = F.pixel_shuffle(torch.from_numpy(layouts.nhwc_to_nchw(regrouped)), r)
    np.testing.assert_array_equal(layouts.nchw_to_nhwc(y.numpy()), tf_y)
    assert c_out == 2


def test_shipped_keras_fixture_ports_exactly_and_the_naive_port_does_not():
    """data/keras_conv_transpose.npz (scripts/make_keras_fixture.py), as lesson 06 uses it."""
    from helpers import DATA_DIR

    config, arrays = layouts.load_arrays(DATA_DIR / "keras_conv_transpose.npz")
    layer = config["conv_transpose"]
    assert (layer["kernel_size"], layer["strides"], layer["padding"]) == ([3, 3], [2, 2], "same")
    module = port_torch.conv_transpose_from_keras(arrays["kernel"], arrays["bias"], layer)
    x = torch.from_numpy(layouts.nhwc_to_nchw(arrays["x"]))
    with torch.no_grad():
        y = layouts.nchw_to_nhwc(module(x).numpy())
        naive = F.conv_transpose2d(x, module.conv.weight, module.conv.bias, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(y, arrays["y"], **TOL)
    assert np.abs(layouts.nchw_to_nhwc(naive.numpy()) - arrays["y"]).max() > 1e-2
    # the whole little model: Conv2D (k3, same = PyTorch padding=1), ReLU, then the port
    conv = torch.nn.Conv2d(1, 8, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(layouts.keras_conv_kernel_to_torch(arrays["conv_kernel"])))
        conv.bias.copy_(torch.from_numpy(arrays["conv_bias"]))
        out = module(torch.relu(conv(torch.from_numpy(layouts.nhwc_to_nchw(arrays["digits_low"])))))
    np.testing.assert_allclose(layouts.nchw_to_nhwc(out.numpy()), arrays["model_y"], **TOL)
