"""Lesson 00's environment check: what is installed, where we run, whether the data is sound.

Versions are read from package metadata, so the check imports neither TensorFlow nor
PyTorch (importing both into one kernel is what the course avoids).

Used in lesson 00.
"""

from __future__ import annotations

import ast
import html
import platform
import re
import sys
import textwrap
from importlib import metadata
from pathlib import Path

from . import runtime
from .data import DataError, mnist_path, verify_mnist

#: (distribution name, why the course needs it)
PACKAGES = [
    ("numpy", "arrays: every lesson"),
    ("matplotlib", "figures"),
    ("ipywidgets", "interactive explorers"),
    ("scipy", "Fréchet distance, interpolation"),
    ("scikit-image", "PSNR/SSIM and natural test images (lesson 09)"),
    ("tensorflow", "Keras lessons 05 and 07"),
    ("keras", "Keras lessons 05 and 07"),
    ("torch", "PyTorch lessons 06, 08–10"),
    ("torchinfo", "PyTorch model summaries"),
    ("tqdm", "progress bars"),
]
SUPPORTED_PYTHON = ((3, 11), (3, 13))


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def report() -> list[dict]:
    """Rows of ``{"item", "ok", "detail"}``: Python, packages, GPU, where we run, data."""
    rows = []
    lo, hi = SUPPORTED_PYTHON
    py_ok = lo <= sys.version_info[:2] <= hi
    rows.append({"item": "Python", "ok": py_ok,
                 "detail": f"{platform.python_version()} (course supports {lo[0]}.{lo[1]}–{hi[0]}.{hi[1]})"})
    for name, why in PACKAGES:
        found = version(name)
        rows.append({"item": name, "ok": found is not None,
                     "detail": f"{found} — {why}" if found else f"missing — {why}: pip install -r requirements.txt"})
    gpu = runtime.cuda_visible()
    rows.append({"item": "GPU", "ok": True,
                 "detail": "CUDA GPU visible" if gpu
                 else "none: the lessons run on the CPU (profile 'cpu' or 'smoke')"})
    rows.append({"item": "Run profile", "ok": True, "detail": runtime.describe()})
    try:
        verify_mnist()
        rows.append({"item": "MNIST", "ok": True, "detail": f"verified (SHA-256 matches): {mnist_path()}"})
    except DataError as err:
        rows.append({"item": "MNIST", "ok": False, "detail": str(err)})
    return rows


def show(rows: list[dict] | None = None) -> list[dict]:
    """Display the report as an HTML table in Jupyter (plain text elsewhere); return the rows."""
    rows = report() if rows is None else rows
    try:
        from IPython.display import HTML, display
    except ImportError:  # plain Python
        for row in rows:
            print(f"{'OK ' if row['ok'] else 'FIX'} {row['item']:<14} {row['detail']}")
        return rows
    cells = "".join(
        f"<tr><td>{'✅' if r['ok'] else '❌'}</td><td><b>{html.escape(r['item'])}</b></td>"
        f"<td style='text-align:left'>{html.escape(r['detail'])}</td></tr>"
        for r in rows
    )
    display(HTML(f"<table class='course-envcheck'><tr><th></th><th>item</th><th>status</th></tr>{cells}</table>"))
    return rows


#: reST inline markup in docstrings: a role (``:mod:`helpers.gan```), a literal (````x````), interpreted text (```x```).
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`([^`]+)`")
_TITLED = re.compile(r"(.+?)\s*<[^<>]+>")
_QUOTED = re.compile(r"``(.+?)``|`([^`]+)`")


def _role_text(found: re.Match) -> str:
    content = found.group(1)
    titled = _TITLED.fullmatch(content)
    if titled:  # :func:`the check <helpers.checks.check_array>`
        return titled.group(1)
    return content[1:].rsplit(".", 1)[-1] if content.startswith("~") else content  # :class:`~a.B` shows B


def plain_text(rst: str) -> str:
    """reST inline markup as a learner reads it: ``:mod:`helpers.gan``` → helpers.gan, ````x```` → x."""
    return _QUOTED.sub(lambda found: found.group(1) or found.group(2), _ROLE.sub(_role_text, rst))


def summary(docstring: str) -> str:
    """A docstring's first paragraph on one line, in plain text: what the tour shows of a module."""
    return plain_text(" ".join(docstring.strip().split("\n\n")[0].split()))


def module_tour(package_dir: Path | None = None) -> list[tuple[str, str]]:
    """``(module, summary of its docstring)`` for every module and subpackage of helpers, read without importing it
    (importing would load the frameworks)."""
    package_dir = package_dir or Path(__file__).parent
    tour = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or any(part.startswith("_") for part in parts):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        tour.append((".".join(("helpers", *parts)), summary(doc)))
    return tour


def tour_text(width: int = 100, package_dir: Path | None = None) -> str:
    """The tour as lesson 00 prints it: one module a line, its summary wrapped under itself beside the names."""
    tour = module_tour(package_dir)
    indent = max(len(module) for module, _ in tour) + 2
    return "\n".join(
        textwrap.fill(text, width, initial_indent=f"{module:<{indent}}", subsequent_indent=" " * indent)
        if text else module
        for module, text in tour)
