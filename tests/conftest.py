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
