"""The book for every reader: figures with their descriptions as alt text, pages a keyboard and a screen
reader can use, colours with enough contrast in the light and the dark theme.

* **Alt text.** A figure's description travels with its output, as the ``image/png`` metadata
  ``{"alt": …}`` (:mod:`helpers.plotting` puts it there). MyST-NB reads an image's alt only from the
  cell's metadata (one for the whole cell), so :func:`alt_texts` maps each picture's SHA-256 (the
  name MyST-NB gives its file) to its description, :mod:`instructor_tools.book.pages` writes the map
  beside the sources (:data:`ALT_TEXTS`), and this module, a Sphinx extension, writes it into each
  image node. :func:`undescribed` finds the figures without one: the book refuses to build them.
* **Keyboard and screen readers** (:data:`SCRIPT`): a ``<pre>`` that scrolls can be focused (a
  keyboard user scrolls it with the arrow keys) and is announced as code or output; the sidebar
  caption that Sphinx marks ``role="heading"`` gets the level a heading needs; Furo's two ``<aside>``
  landmarks get names that tell them apart.
* **Contrast**: the highlighting styles are accessible-pygments' ``a11y-light`` and ``a11y-dark``
  (:data:`PYGMENTS`), and outputs whose colours were chosen for a terminal (rich's tables, as Keras prints
  a model's summary) are drawn in the theme's text colour (:data:`STYLE`).
"""

from __future__ import annotations

import hashlib
import json
from binascii import a2b_base64
from pathlib import Path

#: The map ``{sha256 of a picture's PNG: its alt text}``, written beside the book's sources.
ALT_TEXTS = "_alt_texts.json"
#: Where a figure's description sits in an output's metadata (as :mod:`helpers.plotting` writes it).
MIME, ALT = "image/png", "alt"
#: Highlighting styles that meet WCAG AA contrast on Furo's light and dark backgrounds.
PYGMENTS = {"pygments_style": "a11y-light", "pygments_dark_style": "a11y-dark"}
SCRIPT_FILE, STYLE_FILE = "course-a11y.js", "course-a11y.css"

SCRIPT = """\
// Written by instructor_tools/book/access.py: edit it there.
(() => {
  "use strict";
  // A code block or output that scrolls sideways: focusable, so that the arrow keys scroll it, and named.
  const focusScrolling = () => {
    for (const pre of document.querySelectorAll("article pre")) {
      const scrolls = pre.scrollWidth > pre.clientWidth || pre.scrollHeight > pre.clientHeight;
      if (scrolls && !pre.hasAttribute("tabindex")) {
        pre.tabIndex = 0;
        pre.setAttribute("role", "group");
        const what = pre.closest(".cell_output, .output") ? "output" : "code";
        pre.setAttribute("aria-label", `${what}, scrollable`);
      }
    }
  };
  const ready = () => {
    // Sphinx's toctree caption says role="heading" without the level every heading has.
    for (const caption of document.querySelectorAll('[role="heading"]:not([aria-level])')) {
      caption.setAttribute("aria-level", "2");
    }
    // Furo's two <aside> landmarks: named, so that a screen reader's list of landmarks tells them apart.
    for (const [selector, name] of [[".sidebar-drawer", "Lessons"], [".toc-drawer", "On this page"]]) {
      const aside = document.querySelector(selector);
      if (aside && !aside.hasAttribute("aria-label")) aside.setAttribute("aria-label", name);
    }
    focusScrolling();
    window.addEventListener("resize", focusScrolling);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
"""

STYLE = """\
/* Written by instructor_tools/book/access.py: edit it there. */
/* Outputs coloured for a terminal (rich's tables: Keras's model summaries) pick colours such as #0087ff that
   fail the contrast minimum on a white page: they take the theme's text colour instead. */
.cell_output span[style*="color"] { color: var(--color-foreground-primary) !important; }
/* A focused scrolling block shows where the keyboard is. */
article pre[tabindex]:focus-visible { outline: 2px solid var(--color-brand-primary); outline-offset: 2px; }
"""


def _pictures(nb):
    """``(cell index, output, PNG as base64)`` for every picture among the code cells' outputs."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else ():
            data = output.get("data", {}).get(MIME)
            if data:
                yield index, output, data


def alt_text(output) -> str:
    """The description an output's metadata gives its picture ("" when it has none)."""
    return " ".join(str(output.get("metadata", {}).get(MIME, {}).get(ALT, "")).split())


def picture_name(data: str) -> str:
    """The SHA-256 of a base64 PNG: the name (without ``.png``) MyST-NB gives its file."""
    return hashlib.sha256(a2b_base64(data)).hexdigest()


def alt_texts(nb) -> dict[str, str]:
    """``{picture_name: alt text}`` for the described pictures of ``nb``."""
    return {picture_name(data): alt_text(output) for _, output, data in _pictures(nb) if alt_text(output)}


def undescribed(nb) -> list[int]:
    """The indices of the cells that show a picture without a description, in order, each once."""
    return sorted({index for index, output, _ in _pictures(nb) if not alt_text(output)})


def _describe_images(app, doctree) -> None:
    """Sphinx's ``doctree-read``: each image of a lesson's outputs gets its picture's description as alt."""
    from docutils import nodes

    path = Path(app.srcdir) / ALT_TEXTS
    texts = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for image in doctree.findall(nodes.image):
        text = texts.get(Path(image.get("uri", "")).stem)
        if text:
            image["alt"] = text


def setup(app) -> dict:
    """The Sphinx extension: alt text into the image nodes, the script and the style onto every page."""
    app.connect("doctree-read", _describe_images)
    app.add_js_file(SCRIPT_FILE)
    app.add_css_file(STYLE_FILE)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
