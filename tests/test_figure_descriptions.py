"""Every figure the course draws says what it shows, and can be read in a dark theme and by a colour-blind reader.

The descriptions travel as IPython publishes them to a frontend (``InteractiveShell.display_pub``): the
``image/png`` output's metadata ``{"alt": …}``, which the book writes into ``<img alt>``.
"""

from __future__ import annotations

import json
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.pylabtools import select_figure_formats
from IPython.display import display
from matplotlib.colors import to_rgb

from helpers import ROOT, data, diagrams, healthy_run, plotting
from helpers.apps import sr_figures
from helpers.widgets import conv_explorer, explorer

matplotlib.use("Agg")


@pytest.fixture
def published(monkeypatch):
    """``(data, metadata)`` of every display, as a frontend receives them, from a shell that draws PNGs."""
    shell = InteractiveShell.instance()
    select_figure_formats(shell, {"png"})
    assert plotting.announce_descriptions(shell)
    out = []
    monkeypatch.setattr(shell.display_pub, "publish",
                        lambda data, metadata=None, **kw: out.append((data, metadata or {})))
    yield out
    plt.close("all")


def alt_of(metadata: dict) -> str | None:
    return metadata.get("image/png", {}).get(plotting.ALT)


def test_a_described_figure_is_displayed_with_its_alt_text_and_an_undescribed_one_without(published):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    display(fig)
    assert "image/png" in published[-1][0] and alt_of(published[-1][1]) is None
    assert plotting.describe(fig, "  A line falling\nfrom 1 to 0. ") is None  # a cell's value shows nothing more
    display(fig)
    assert alt_of(published[-1][1]) == "A line falling from 1 to 0."
    with pytest.raises(ValueError, match="empty"):
        plotting.describe(fig, " \n")


def test_the_inline_backends_own_metadata_keeps_the_alt_text(published):
    """matplotlib-inline displays each figure with metadata of its own (``needs_background``): the two merge."""
    fig = plotting.described(plt.figure(), "An empty figure.")
    display(fig, metadata={"needs_background": "light"})
    assert published[-1][1] == {"image/png": {"alt": "An empty figure."}, "needs_background": "light"}


RNG = np.random.default_rng(0)
#: One call per figure-making helper of the course, each as a lesson makes it.
HELPERS = {
    "show_grid": lambda: plotting.show_grid(RNG.random((6, 4, 4)), title="six digits"),
    "compare": lambda: plotting.compare({"small": np.zeros((7, 7)), "big": np.zeros((28, 28))}),
    "image_row": lambda: plotting.image_row({"a": np.zeros((4, 4)), "b": np.zeros((8, 8))}),
    "image_column": lambda: plotting.image_column({"a": np.zeros((4, 16)), "b": np.zeros((4, 16))}),
    "overlays": lambda: plotting.overlays(np.zeros((5, 5)), {"sees": np.eye(5)}),
    "line_chart": lambda: plotting.line_chart({"loss": [3, 2, 1]}, xlabel="step", ylabel="loss", levels={"log 2": 0.7}),
    "line_charts": lambda: plotting.line_charts([{"series": {"a": [1, 2]}, "title": "left"},
                                                  {"series": {"b": [2, 1]}, "title": "right"}]),
    "show_matrix": lambda: plotting.show_matrix(np.arange(6).reshape(2, 3), title="counts"),
    "sample_points": lambda: plotting.sample_points(4, {"half-pixel": np.linspace(-0.25, 3.25, 8)}),
    "LivePlot": lambda: _live_plot().figure(),
    "spectra_at_init": lambda: plotting.spectra_at_init({"g": RNG.random((4, 8, 8))}, {"g": 0.25}),
    "checkerboard_ablation": lambda: plotting.checkerboard_ablation(
        {"convtranspose": 0.2, "resize_conv": 0.01}, {"convtranspose": 0.003}, 0.002,
        {"convtranspose": {"inception_score": 6.5, "fid": 20.0}}, {"inception_score": 9.6, "fid": 1.0}),
    "scatter": lambda: diagrams.scatter(np.arange(4.0).reshape(2, 2), np.ones((3, 3))),
    "gan_loop": lambda: diagrams.gan_loop(),
    "unet": lambda: diagrams.unet([("enc1", "dec1", True), ("enc2", "dec2", False)], "bottom"),
    "conv_matrix_transpose": lambda: diagrams.conv_matrix_transpose(np.ones((3, 3)), 4, stride=1, padding=0),
    "output_padding_canvas": lambda: diagrams.output_padding_canvas(3, 3, 2, 1, 1),
    "sub_kernels": lambda: diagrams.sub_kernels(np.arange(16.0).reshape(4, 4)),
    "channel_order": lambda: diagrams.channel_order({"a": np.arange(8).reshape(2, 2, 2)}),
    "feature_maps": lambda: diagrams.feature_maps([(100, 1, 1), (64, 4, 4)], title="generator"),
}


def _live_plot():
    plot = plotting.LivePlot(["loss_d", "loss_g"], title="losses")
    for step in range(3):
        plot.update(step, loss_d=0.5, loss_g=float(step))
    return plot


@pytest.mark.parametrize("name", HELPERS)
def test_every_figure_helper_describes_its_figure(name, published):
    fig = HELPERS[name]()
    text = plotting.description(fig)
    assert text and text.endswith(".") and len(text.split()) >= 6, text
    display(fig)
    assert alt_of(published[-1][1]) == text


def test_descriptions_carry_the_figures_own_titles_and_numbers():
    assert plotting.description(HELPERS["compare"]()) == "2 images side by side: small, 7×7 and big, 28×28."
    assert "the share of power at Nyquist: g 0.250" in plotting.description(HELPERS["spectra_at_init"]())
    ablation = plotting.description(HELPERS["checkerboard_ablation"]())
    assert "convtranspose 0.200 → 0.003" in ablation and "resize_conv 0.010 → not trained" in ablation
    assert "at step 2: loss_d 0.5 and loss_g 2" in plotting.description(HELPERS["LivePlot"]())
    charts = plotting.description(HELPERS["line_charts"]())
    assert charts.startswith("2 charts side by side. Left: a line chart") and "Right: a line chart" in charts


#: Every figure helper, and lesson 09's study, whose phase spread is on a log axis.
DRAWN = {**HELPERS, "sr_figures.study": lambda: sr_figures.study(
    [{"kind": kind, "step": step, "phase spread": 0.05 / (1 + step) * (1 + seed / 4), "PSNR dB": 28 + step / 50 + seed}
     for kind in ("resize_conv", "pixel_shuffle") for step in (0, 100, 200) for seed in (0, 1)],
    {"phase spread": 0.004, "PSNR dB": 29.0})}


@pytest.mark.parametrize("name", DRAWN)
def test_no_figure_needs_matplotlibs_math_fonts(name, monkeypatch):
    """Math text (matplotlib's own log ticks, 10⁻²) is drawn with the math fonts its font cache lists. A CI
    machine's cache lacked them, and each figure with a log axis printed 21 "findfont" warnings into its cell."""
    def refuse(self, text, *args, **kwargs):
        raise AssertionError(f"{name} draws math text: {text!r}")

    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse", refuse)
    fig = DRAWN[name]()
    fig.canvas.draw()
    plt.close(fig)


def test_a_log_axis_reads_as_plain_numbers():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [0.002, 30])
    plotting.log_scale(ax)
    fig.canvas.draw()
    labels = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert labels[:4] == ["0.001", "0.01", "0.1", "1"] and "10" in labels, labels
    plt.close(fig)


def test_log_axes_are_drawn_only_by_log_scale():
    """A lesson or helper that puts an axis on a log scale itself gets matplotlib's math-text ticks back."""
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in (ROOT / "helpers").rglob("*.py")}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        sources[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    calls = re.compile(r"\b(set_[xy]scale|semilog[xy]|loglog)\(|\bscale\s*=\s*[\"']log")
    found = {name: calls.findall(text) for name, text in sources.items()}
    assert {name: hits for name, hits in found.items() if hits} == {"helpers/plotting.py": ["set_yscale"]}


def test_figures_are_opaque_so_a_dark_theme_does_not_swallow_them():
    fig = HELPERS["compare"]()
    assert to_rgb(fig.get_facecolor()) == (1.0, 1.0, 1.0) and fig.get_facecolor()[3] == 1.0
    assert plt.rcParams["savefig.facecolor"] == "white" and not plt.rcParams["savefig.transparent"]


#: Viénot, Brettel and Mollon (1999): linear RGB as a protanope and a deuteranope see it.
DICHROMATS = {
    "protanopia": np.array([[0.11238, 0.88762, 0.0], [0.11238, 0.88762, 0.0], [0.00401, -0.00401, 1.0]]),
    "deuteranopia": np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]]),
}


#: sRGB's linear RGB → CIE XYZ (D65) and that white point, for CIELAB.
XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def seen_by(colour: str, matrix: np.ndarray) -> np.ndarray:
    """The colour as a dichromat sees it, in CIELAB (where a distance of about 10 is a clear difference)."""
    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = XYZ @ (matrix @ linear) / (XYZ @ np.ones(3))
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(colours, matrix) -> float:
    """The smallest CIELAB distance between two of ``colours`` as the dichromat sees them."""
    seen = [seen_by(c, matrix) for c in colours]
    return min(float(np.linalg.norm(a - b)) for i, a in enumerate(seen) for b in seen[i + 1:])


@pytest.mark.parametrize("kind", DICHROMATS)
def test_the_upsamplers_colours_stay_apart_for_colour_blind_readers(kind):
    """The course colours up to five upsamplers from the cycle: a red-green colour-blind reader must tell the
    first five apart. matplotlib's default cycle fails the same measure (its green and red, orange and green)."""
    ours = [c["color"] for c in plt.rcParams["axes.prop_cycle"]][:5]
    assert ours == list(plotting.PALETTE[:5])
    default = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    assert closest_pair(default, DICHROMATS[kind]) < 10
    assert closest_pair(ours, DICHROMATS[kind]) > 15


@pytest.mark.parametrize(("make", "says"), [
    (lambda: explorer.upsampling_explorer(data.load_mnist("test", n=3)[0]), "shrunk by 4 to 7×7, upsampled back with "
                                                                              "nearest"),
    (lambda: conv_explorer.conv_transpose_explorer(), "A 3×3 input, each pixel stamping a 3×3 kernel copy 2 cells"),
])
def test_an_explorers_still_picture_has_alt_text_and_follows_its_controls(published, make, says):
    box = make()
    display(box)
    bundle, metadata = published[-1]
    assert "image/png" in bundle and says in alt_of(metadata)
    assert box.picture.course_description == alt_of(metadata)  # the description follows the picture
    controls = [w for child in box.children for w in getattr(child, "children", [child]) if w is not box.picture]
    assert controls and all(w.description for w in controls)  # every control is labelled
    first = box.picture.course_description
    slider = next(w for w in controls if hasattr(w, "max") and w.value < w.max)
    slider.value += 1
    assert box.picture.course_description != first


def test_healthy_run_show_describes_its_picture(tmp_path, published):
    plt.imsave(tmp_path / "demo.png", np.zeros((10, 20)))
    (tmp_path / healthy_run.TIMES).write_text(json.dumps({"demo": {"cpu": 30.0}}))
    healthy_run.show("demo", tmp_path, shows="a grid of 64 generated digits.")
    assert alt_of(published[-1][1]) == ("What a healthy run ends with, in the course's reference run (cpu profile): "
                                        "a grid of 64 generated digits.")
    healthy_run.show("demo", tmp_path)
    assert "the picture the next cell ends with" in alt_of(published[-1][1])
