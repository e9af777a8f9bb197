"""Where the course runs and how much work the heavy cells do.

Run profiles: ``smoke`` (CI: seconds a notebook), ``cpu`` (a laptop: minutes, still a
convincing result), ``gpu`` (the full run). :func:`profile` picks one: an explicit
argument wins, then the ``COURSE_PROFILE`` environment variable, then ``smoke`` under
CI (``CI`` set), then ``gpu`` when a CUDA device is visible, else ``cpu``.

This module imports neither TensorFlow nor PyTorch; the framework-specific parts are
in :mod:`helpers.torch_utils` and :mod:`helpers.keras_utils`.

Used in lessons 00, 02, 03, 04, 05, 06, 07, 08, 09 and 10.
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import numpy as np

#: The run profiles, cheapest first: the one list (helpers.gan and instructor_tools.grade import it).
PROFILES = ("smoke", "cpu", "gpu")
T = TypeVar("T")


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but empty, 0, false or no."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def cuda_visible() -> bool:
    """A CUDA GPU is visible, asked of a framework only if one is already imported."""
    if "torch" in sys.modules:
        return bool(sys.modules["torch"].cuda.is_available())
    if "tensorflow" in sys.modules:
        return bool(sys.modules["tensorflow"].config.list_physical_devices("GPU"))
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    driver = shutil.which("nvidia-smi") is not None and Path("/proc/driver/nvidia").exists()
    return Path("/dev/nvidia0").exists() or driver


def profile(override: str | None = None) -> str:
    """The run profile in force (see the module docstring for the order of precedence)."""
    chosen = override or os.environ.get("COURSE_PROFILE") or None
    if chosen is not None:
        chosen = chosen.strip().lower()
        if chosen not in PROFILES:
            raise ValueError(f"Unknown run profile {chosen!r}: choose one of {', '.join(PROFILES)}")
        return chosen
    if in_ci():
        return "smoke"
    return "gpu" if cuda_visible() else "cpu"


def pick(smoke: T, cpu: T, gpu: T, override: str | None = None) -> T:
    """The value for the profile in force: ``epochs = pick(smoke=1, cpu=5, gpu=25)``."""
    return dict(zip(PROFILES, (smoke, cpu, gpu), strict=True))[profile(override)]


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and whichever of PyTorch / TensorFlow is already imported."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    elif "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


def describe(override: str | None = None) -> str:
    """One line: where we run and which profile is in force."""
    where = "Colab" if in_colab() else ("CI" if in_ci() else "local")
    return (
        f"profile={profile(override)} · {where} · Python {platform.python_version()} · "
        f"NumPy {np.__version__} · CUDA GPU {'yes' if cuda_visible() else 'no'}"
    )


def settings(table: Mapping[str, dict], override: str | None = None) -> dict:
    """A copy of ``table[profile]`` for the run profile in force (see :func:`profile`): a lesson's
    per-profile numbers live in one ``SETTINGS`` table and the lesson reads its row once."""
    return dict(table[profile(override)])
