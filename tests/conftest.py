"""Test-suite wide settings: every kernel and CLI started by a test runs the smoke profile."""

import os
import sys
from pathlib import Path

import pytest

os.environ["COURSE_PROFILE"] = "smoke"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def torch_one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine threads wait for each other."""
    import torch  # only the modules that ask for this fixture pay for PyTorch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
