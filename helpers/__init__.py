"""The course's helper package: data, run profiles, plotting, instant checks,
NumPy reference implementations, framework bridges, GAN training and grading.

Framework-specific code lives in modules named after their framework
(``*_torch.py`` imports only PyTorch, ``*_keras.py`` only TensorFlow/Keras), so a
NumPy lesson never pays for either, and no kernel has to import both.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"

__all__ = ["ROOT", "DATA_DIR"]
