"""helpers.quiet: TensorFlow's C++ start-up noise is dropped, everything else written to stderr stays."""

import os
import subprocess
import sys

from helpers import ROOT, quiet

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795641958.970888    3097 port.cc:153] oneDNN custom operations are on. You may see ...",
    "I0000 00:00:1795641958.971191    3097 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU "
    "will not be used.",
    "2025-03-01 10:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1795641961.138035    3097 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "2025-03-01 10:00:00.123456: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:152] failed call "
    "to cuInit: UNKNOWN ERROR (303)",
    # TensorFlow 2.19 (the floor stack) on a CPU-only machine:
    "2026-11-25 21:36:51.902986: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable to register "
    "cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered",
    "W0000 00:00:1795642611.929969   12157 computation_placer.cc:177] computation placer already registered. Please "
    "check linkage and avoid linking the same target more than once.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "I0000 00:00:1795642640.327208   12384 service.cc:152] XLA service 0x55ad0854d880 initialized for platform Host",
]
REAL = [
    "E0000 00:00:1795641961.138035    3097 cuda_driver.cc:52] failed call to cuInit: CUDA_ERROR_OUT_OF_MEMORY",
    "W0000 00:00:1795641961.138035    3097 op_level_cost_estimator.cc:699] Error in PredictCost() for the op",
    "Segmentation fault in your own extension",
]


def test_noise_is_recognised_and_real_messages_are_not():
    assert all(quiet.is_startup_noise(line) for line in NOISE)
    assert not any(quiet.is_startup_noise(line) for line in REAL)


def test_filter_drops_noise_written_to_fd2_and_keeps_the_rest(capfd):
    with quiet.native_stderr_filtered():
        os.write(2, ("\n".join(NOISE[:3] + REAL[:1] + NOISE[3:] + REAL[1:]) + "\n").encode())
        print("python-level stderr stays", file=sys.stderr)
    out, err = capfd.readouterr()
    assert err.splitlines() == ["python-level stderr stays", *REAL]


def test_filter_restores_fd2_when_the_block_raises(capfd):
    try:
        with quiet.native_stderr_filtered():
            raise KeyError("boom")
    except KeyError:
        pass
    os.write(2, b"after the block\n")
    assert capfd.readouterr().err == "after the block\n"


def run_python(code):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a learner has it
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_tensorflow_starts_with_nothing_on_stderr():
    """What a learner's lesson 05/07 kernel and the Keras CLI see: the bridge module starts TensorFlow."""
    layer = "keras.layers.Conv2D(1, 3)(np.zeros((1, 5, 5, 1), 'float32'))"
    assert run_python(f"import numpy as np; from helpers.keras_utils import keras; {layer}") == ""
    # The control: the same without the bridge is noisy, so the test above proves the filter works.
    bare = run_python(f"import numpy as np; import keras; {layer}").splitlines()
    assert any(quiet.is_startup_noise(line) for line in bare), bare


def test_keras_command_line_writes_only_its_progress_bar_to_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "helpers.gan", "--framework", "keras", "--profile", "smoke",
                             "--steps", "2", "--out", str(tmp_path / "run")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and all(line.startswith("DCGAN keras convtranspose:") for line in lines), lines
