"""Start TensorFlow without red start-up noise, and without hiding anything else.

On a machine without a GPU, importing TensorFlow writes lines like ``oneDNN custom operations
are on``, ``Could not find cuda drivers`` and ``failed call to cuInit … (303)`` straight to the
process's stderr, from C++, where no Python setting reaches them (they come before TensorFlow
reads ``TF_CPP_MIN_LOG_LEVEL``). Jupyter shows them in red, and learners read red as "broken".

:func:`native_stderr_filtered` catches what is written to file descriptor 2 while the framework
starts, drops the lines that match :data:`STARTUP_NOISE` and writes every other line back to
stderr: a real error at start-up is still seen. This module imports no framework.

Used by helpers.keras_utils.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

#: Start-up lines that say nothing is wrong (TensorFlow 2.19–2.21 on a CPU-only machine).
#: Real warnings (W…) and errors (E…) other than these pass through.
STARTUP_NOISE = tuple(re.compile(p) for p in (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"^I\d{4} ",                                 # absl/glog INFO lines: I<mmdd> <time> <thread> <file>] …
    r"^\S+ \S+: I \S+\] ",                       # TensorFlow's older INFO format: <date> <time>: I <file>] …
    r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$",
    r"failed call to cuInit: .*(303|CUDA_ERROR_NO_DEVICE|no CUDA-capable device)",  # no GPU here: expected
    r"Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory .* one has already",
    r"computation placer already registered",
    r"^TF-TRT Warning: Could not find TensorRT$",
))

#: TensorFlow's own C++ log threshold: 1 hides INFO lines (XLA's "compiled cluster" and the like)
#: and keeps warnings and errors.
TF_LOG_LEVEL = "1"


def is_startup_noise(line: str) -> bool:
    """True for a line of TensorFlow's known start-up noise."""
    return any(p.search(line) for p in STARTUP_NOISE)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Within the block, lines written to fd 2 that are :func:`is_startup_noise` are dropped; the
    others are written to ``sys.stderr`` when the block ends (in Jupyter: the cell's stderr)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (a GUI launcher without a console): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors="replace").splitlines()
                    if line.strip() and not is_startup_noise(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def start_tensorflow() -> tuple[ModuleType, ModuleType]:
    """Import TensorFlow and Keras and start TensorFlow's devices, its start-up noise filtered.

    Returns ``(tf, keras)``. Device discovery (where CUDA is initialised) and XLA's start happen here
    rather than at the first layer or compiled step a lesson runs, so that their lines are filtered too.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    with native_stderr_filtered():
        import keras
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
        # XLA announces itself (service started, first cluster compiled) once per process, through a
        # logger that TensorFlow 2.19 does not silence: let that happen here, on a trivial function.
        try:
            tf.function(lambda x: x + 1.0, jit_compile=True)(tf.constant(1.0))
        except Exception:  # no XLA here: the lesson that asks for it shows the error in context
            pass
    return tf, keras
