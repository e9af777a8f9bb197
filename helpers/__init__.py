"""The course's helper package: data, run profiles, plotting, instant checks,
NumPy reference implementations, framework bridges, GAN training and grading.

Framework-specific code lives in modules whose names say their framework
(``torch_utils``, ``gan_torch``, ``port_torch``, ``sr_torch``, ``pix2pix_torch`` import only
PyTorch; ``keras_utils``, ``gan_keras``, ``port_keras`` only TensorFlow/Keras), so a NumPy
lesson never pays for either, and no kernel has to import both (``tests/test_imports.py``).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"

__all__ = ["ROOT", "DATA_DIR"]
