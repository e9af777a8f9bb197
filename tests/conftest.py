"""Fixtures shared by the tests (the smoke profile is set for the whole suite in ../conftest.py)."""

import sys
from pathlib import Path

import pytest

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
