"""helpers.diagrams: each picture shows what its text says (read back from the figure's patches and texts)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from helpers import diagrams, reference  # noqa: E402

X = np.array([[1.0, 2.0], [3.0, 4.0]])
TENT = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 4


def texts(ax):
    return [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_scatter_draws_one_copy_per_input_pixel_where_the_stride_puts_it(stride):
    fig = diagrams.scatter(X, TENT, strides=(stride,))
    canvas = fig.axes[2]
    outlines = [p for p in canvas.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlines) == X.size
    for (r, c), outline in zip(np.ndindex(X.shape), outlines):
        x0, y0 = outline.get_xy()
        inset = (3 - outline.get_width()) / 2  # copies are drawn slightly inset so that overlaps stay visible
        assert (x0 - inset, y0 - inset) == pytest.approx((c * stride, r * stride))
        assert outline.get_edgecolor()[:3] == pytest.approx(diagrams.COLOURS[r * 2 + c])
    out = reference.conv_transpose2d(X[None, None], TENT[None, None], stride=stride)[0, 0]
    assert texts(canvas) == [f"{v:.3g}" for v in out.ravel()]
    assert f"output {out.shape[0]}×{out.shape[1]}" in canvas.get_title()


def test_scatter_refuses_what_it_cannot_colour():
    with pytest.raises(ValueError, match="at most 10 pixels"):
        diagrams.scatter(np.ones((4, 4)), TENT)


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_gan_loop_names_both_losses_and_what_each_updates():
    ax = diagrams.gan_loop().axes[0]
    words = " ".join(texts(ax))
    for part in ("generator G", "discriminator D", "real digits", "fake images", "real → 1, fake → 0", "fake → 1",
                 "updates D only", "updates G only"):
        assert part in words
    dashed = [a for a in arrows(ax) if a.get_linestyle() not in ("-", "solid")]
    assert len(arrows(ax)) == 8 and len(dashed) == 2  # six forward arrows, two gradients


@pytest.mark.parametrize("skips", [True, False])
def test_unet_draws_a_skip_only_where_asked(skips):
    levels = [("input", "output", False), ("enc1", "fuse2", skips), ("enc2", "fuse3", skips)]
    ax = diagrams.unet(levels, "enc3").axes[0]
    assert {"input", "output", "enc1", "fuse2", "enc2", "fuse3", "enc3"} <= set(texts(ax))
    assert texts(ax).count("skip") == (2 if skips else 0)
    assert len(arrows(ax)) == 6 + (2 if skips else 0)
    assert ax.get_title() == ("U-Net with skips" if skips else "U-Net without skips")
