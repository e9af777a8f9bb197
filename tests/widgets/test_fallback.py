"""The explorers' still picture: what a page without a kernel (the book, GitHub) shows of them."""

import base64

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display

from helpers import data
from helpers.widgets import conv_explorer, explorer

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shown(monkeypatch):
    """What ``display`` publishes, as a frontend receives it (the same path under ipywidgets 7 and 8)."""
    published = []
    shell = InteractiveShell.instance()
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, metadata=None, **kw: published.append(data))
    return published


@pytest.mark.parametrize("make", [lambda: explorer.upsampling_explorer(data.load_mnist("test", n=3)[0]),
                                  lambda: conv_explorer.conv_transpose_explorer()])
def test_an_explorer_is_shown_live_with_its_current_picture_as_fallback(shown, make):
    box = make()
    display(box)
    first = shown[-1]
    assert first[WIDGET_VIEW]["model_id"] == box.model_id  # a live frontend still renders the controls
    assert base64.b64decode(first["image/png"]) == box.picture.value
    assert box.picture in box.children
    slider = next(c for c in box.children[0].children if hasattr(c, "max") and c.value < c.max)
    slider.value += 1
    display(box)
    assert base64.b64decode(shown[-1]["image/png"]) == box.picture.value != base64.b64decode(first["image/png"])
