"""The book's figures say what they show: a planted lesson, run in a real kernel and rendered by Sphinx.

A figure a cell draws by hand without ``plotting.describe`` stops the book with the lesson and the cell's
last line; with it, the description is the page's ``<img alt>``. The rest of the accessibility work (axe-core
on every page, light and dark) is checked on the smoke book in ``tests/browser/test_book.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest
from docutils import nodes
from docutils.utils import new_document

from instructor_tools.book import access, execute, pages

DRAWS = ("import matplotlib.pyplot as plt\nfrom helpers import plotting\n"
         "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])")
DESCRIBED = DRAWS + '\nplotting.describe(fig, "A line falling from 1 to 0: the point of this planted lesson.")'
README = "# Planted course\n\nA course of one lesson.\n\n## Lessons\n\n| lesson |\n|---|\n| 42 |\n"


def run_planted(tmp_path, code: str):
    """The planted lesson ``42_planted`` (a title and ``code``), executed as the book executes lessons."""
    (tmp_path / "solutions").mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Planted"), nbformat.v4.new_code_cell(code)]
    nb.metadata.update(kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
                       language_info={"name": "python"})
    nbformat.write(nb, tmp_path / "solutions" / "42_planted.ipynb")
    (tmp_path / "README.md").write_text(README)
    return execute.execute_all("smoke", tmp_path / "cache", root=tmp_path, log=lambda *a, **k: None)


def test_a_figure_drawn_by_hand_without_a_description_stops_the_book(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "agg")  # a headless run's setting: the book's kernels still draw inline
    executed = run_planted(tmp_path, DRAWS)
    assert access.undescribed(executed[0].nb) == [1]
    with pytest.raises(pages.PageError, match=r"42_planted: the cell that ends 'ax.plot\(\[0, 1\], \[1, 0\]\)'"
                                              r"(.|\n)*plotting.describe\(fig, "):
        pages.write_sources(tmp_path / "src", executed, "smoke", root=tmp_path)


def test_a_described_figure_reaches_the_page_as_its_alt_text(tmp_path):
    executed = run_planted(tmp_path, DESCRIBED)
    [figure] = [o for o in executed[0].nb.cells[1].outputs if "image/png" in o.get("data", {})]  # shown once
    text = "A line falling from 1 to 0: the point of this planted lesson."
    assert figure.metadata["image/png"] == {"alt": text}
    src = tmp_path / "src"
    pages.write_sources(src, executed, "smoke", root=tmp_path)
    assert json.loads((src / access.ALT_TEXTS).read_text()) == {access.picture_name(figure.data["image/png"]): text}
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(src), str(tmp_path / "html")]
    result = subprocess.run(command,
                            cwd=tmp_path, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "html" / "lessons" / "42_planted.html").read_text(encoding="utf-8")
    [img] = re.findall(r'<img [^>]*src="\.\./_images/[0-9a-f]{64}\.png"[^>]*>', page)
    assert f'alt="{text}"' in img
    assert access.SCRIPT_FILE in page and access.STYLE_FILE in page


def test_the_extension_gives_each_image_its_pictures_description(tmp_path):
    (tmp_path / access.ALT_TEXTS).write_text(json.dumps({"ab" * 32: "A described picture."}))
    doctree = new_document("page")
    known, unknown = nodes.image(uri=f"../jupyter_execute/{'ab' * 32}.png"), nodes.image(uri="other.png")
    doctree += [known, unknown]
    access._describe_images(type("App", (), {"srcdir": str(tmp_path)})(), doctree)
    assert known["alt"] == "A described picture." and "alt" not in unknown


def test_the_highlighting_styles_exist_and_meet_the_contrast_minimum():
    """WCAG AA (4.5:1) for every token colour of both styles on their own background."""
    from pygments.styles import get_style_by_name

    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for name in access.PYGMENTS.values():
        style = get_style_by_name(name)
        background = luminance(style.background_color.lstrip("#"))
        colours = {s["color"] for _, s in style if s["color"]}
        ratios = {c: (max(luminance(c), background) + 0.05) / (min(luminance(c), background) + 0.05) for c in colours}
        assert colours and min(ratios.values()) >= 4.5, (name, ratios)
