"""Settings for every test, notebooks included: kernels and CLIs started by the suite run the
smoke profile, whichever paths pytest is given. Every notebook cell must also run quietly: a
learner reads red stderr as "broken", so a cell that writes to stderr fails unless each line is
on the short allow-list below."""

import importlib.util
import os
import re

import pytest

os.environ["COURSE_PROFILE"] = "smoke"


def load_triton_before_tensorflow() -> None:
    """Import triton, where it is installed, before anything in this process can import TensorFlow.

    Why: the suite imports Keras and PyTorch in the same worker process (a learner's kernel never does). TensorFlow
    loads its C++ core with ``RTLD_GLOBAL`` (``tensorflow/python/pywrap_dlopen_global_flags.py``), so the LLVM
    inside ``libtensorflow_framework.so.2`` becomes the process's. Triton, which PyTorch's CUDA build installs and
    imports lazily (``torch.optim.Adam`` and ``torch.compile`` reach it), bundles another LLVM in
    ``triton/_C/libtriton.so`` without hiding its symbols. Loaded after TensorFlow, its static initialisers bind to
    TensorFlow's LLVM (``llvm::DebugCounter::instance()``, a different version and layout) and the process dies of
    SIGSEGV (``python -c "import keras, triton"``: exit 139). Loaded first, each library keeps its own LLVM.
    ``tests/test_frameworks_in_one_process.py`` runs both frameworks in one process after this, and fails if
    a new release of either brings the crash back.
    """
    if importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401


load_triton_before_tensorflow()

#: stderr lines a notebook cell may print, each with the reason it is expected.
STDERR_ALLOWED = (
    # An unsolved exercise in a student notebook: the setup cell's transformer prints this one line
    # (helpers.checks.unfinished_line). A failed check's line, "✗ <message>", is not allowed: it fails the cell.
    re.compile(r"^\u2717 [^:]+: not solved yet \(write it in its cell"),
)


def unexpected_stderr(outputs) -> list[str]:
    """The stderr lines in a cell's outputs that are not on :data:`STDERR_ALLOWED`."""
    lines = []
    for out in outputs or ():
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            lines += [line for line in out.get("text", "").splitlines()
                      if line.strip() and not any(p.search(line) for p in STDERR_ALLOWED)]
    return lines


def _without_pytest_env(start_kernel):
    def setup():
        hidden = os.environ.pop("PYTEST_CURRENT_TEST", None)
        try:
            return start_kernel()
        finally:
            if hidden is not None:
                os.environ["PYTEST_CURRENT_TEST"] = hidden
    return setup


def pytest_collection_modifyitems(items):
    # nbval starts a notebook's kernel in the notebook's setup(). ipykernel does not forward what C
    # libraries write to the process's stderr (TensorFlow's start-up logs, say) when it sees
    # PYTEST_CURRENT_TEST, but in JupyterLab a learner sees those lines: start kernels without it.
    for notebook in {item.parent for item in items if type(item).__name__ == "IPyNbCell"}:
        notebook.setup = _without_pytest_env(notebook.setup)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if type(item).__name__ == "IPyNbCell":  # an nbval cell: it has run, its outputs are in test_outputs
        bad = unexpected_stderr(getattr(item, "test_outputs", None))
        if bad:
            shown = "\n".join(f"    {line[:300]}" for line in bad[:20])
            pytest.fail(f"cell {item.name} wrote to stderr ({len(bad)} line(s) not on the allow-list "
                        f"in conftest.py):\n{shown}", pytrace=False)
    return result
