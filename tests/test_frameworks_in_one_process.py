"""Keras and PyTorch in one process, as the suite's workers run them: neither order crashes the process.

A worker that crashes takes every test queued on it along (pytest-xdist reports INTERNALERROR), so this is checked in
a subprocess that starts the way a worker does (the root conftest first) and exits with the crash's signal.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

KERAS = """
import numpy as np, keras
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.compile("adam", "mse")
model.fit(np.zeros((8, 4)), np.zeros((8, 2)), verbose=0)
"""
TORCH = """
import torch
weight = torch.nn.Parameter(torch.zeros(3))
optimiser = torch.optim.Adam([weight])  # PyTorch's CUDA build imports triton from here
weight.sum().backward()
optimiser.step()
"""
TRITON = """
import importlib.util
if importlib.util.find_spec("triton") is not None:
    import triton.language  # what torch.compile loads
"""


@pytest.mark.slow
@pytest.mark.parametrize("order", [(KERAS, TORCH, TRITON), (TORCH, TRITON, KERAS)], ids=["keras_first", "torch_first"])
def test_keras_and_torch_optimiser_share_a_process(root, order):
    code = "import conftest\n" + "".join(order) + "print('both ran')\n"  # conftest: the suite's own start-up
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"})
    crashed = f" (killed by signal {-result.returncode})" if result.returncode < 0 else ""
    assert result.returncode == 0 and "both ran" in result.stdout, (
        f"exit {result.returncode}{crashed}; triton installed: {importlib.util.find_spec('triton') is not None}\n"
        f"{result.stderr[-3000:]}")
