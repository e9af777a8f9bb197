"""The course's package: everything a lesson imports, and nothing of the instructor's tools.

* ``helpers.*``: data, run profiles, instant checks, plotting, NumPy references, array layouts,
  the environment check and the framework bridges (``torch_utils``/``port_torch``,
  ``keras_utils``/``port_keras``);
* ``helpers.widgets``: the interactive explorers;
* ``helpers.gan``: the reference DCGAN — configuration, outputs, metrics, a trainer per
  framework (``train_torch``, ``train_keras``) and the command line (``python -m helpers.gan``);
* ``helpers.apps``: the MNIST judge, super-resolution and pix2pix.

The build and the grader are a separate package, ``instructor_tools``. Framework-specific code
lives in modules whose names say their framework (``*_torch`` import only PyTorch, ``*_keras``
only TensorFlow/Keras), so a NumPy lesson never pays for either, and no kernel has to import
both (``tests/test_imports.py``). docs/design.md maps each lesson to the modules it uses.

Used in lesson 06.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"

__all__ = ["ROOT", "DATA_DIR"]
