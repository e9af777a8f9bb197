"""Drive JupyterLab the way a learner does: open a notebook, Run → Run All Cells, read the page.

Everything here reads the rendered page (DOM, images), never the notebook file: the point
of the browser tests is what the learner sees. :func:`find_browser` and :func:`choose_browser`
pick the Chrome/Chromium that Playwright launches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, sync_playwright

from helpers.plotting import PALETTE

STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
PANEL = ".jp-NotebookPanel"
#: In a stderr output: a traceback, or an exception's one-line report (``NameError: ...``).
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b", re.MULTILINE)
#: What ipywidgets shows in place of a widget whose model never arrived.
BROKEN_WIDGET = "Error displaying widget"


#: A system Chrome/Chromium, looked up on PATH in this order.
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The one line a browser test shows when it is skipped for want of a browser.
GET_A_BROWSER = (
    "no Chromium for the browser tests: run `python -m playwright install chromium` (once), or install the "
    "system package (e.g. `apt-get install chromium`), or set COURSE_CHROMIUM to a Chrome/Chromium executable"
)


class BrowserSettingError(Exception):
    """COURSE_CHROMIUM is set but names no executable file."""


def is_executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def playwright_chromium() -> str | None:
    """Where Playwright keeps its own Chromium (what ``python -m playwright install chromium`` puts
    in place), installed or not; None if Playwright cannot say."""
    try:
        with sync_playwright() as playwright:
            return playwright.chromium.executable_path
    except Exception:  # no driver, or called inside an asyncio loop: no answer, not a crash
        return None


def find_browser() -> tuple[str | None, list[str]]:
    """The Chrome/Chromium to launch and, in order, what was looked at to find it.

    1. ``COURSE_CHROMIUM``, if set: it must be an executable file (else :class:`BrowserSettingError`);
    2. Playwright's own Chromium, if installed;
    3. the first of :data:`SYSTEM_BROWSERS` on PATH.

    ``(None, tried)`` when there is none.
    """
    override = os.environ.get("COURSE_CHROMIUM", "")
    if override:
        if not is_executable(override):
            raise BrowserSettingError(f"COURSE_CHROMIUM={override!r} is not an executable file: "
                                      "point it at a Chrome/Chromium executable, or unset it")
        return override, [f"COURSE_CHROMIUM={override}"]
    tried = ["COURSE_CHROMIUM (not set)"]
    bundled = playwright_chromium()
    if bundled and is_executable(bundled):
        return bundled, [*tried, f"Playwright's Chromium ({bundled})"]
    tried.append(f"Playwright's Chromium ({bundled}: not installed)" if bundled
                 else "Playwright's Chromium (Playwright gave no path)")
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        tried.append(f"{name} on PATH" + (f" ({found})" if found else ""))
        if found:
            return found, tried
    return None, tried


def in_ci() -> bool:
    """The ``CI`` environment variable is set to something other than "", "0", "false" or "no"."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def choose_browser() -> str:
    """:func:`find_browser`'s browser, or the end of the test: skipped when there is none, failed
    when ``CI`` is set (a CI run without its browser tests proves nothing) or COURSE_CHROMIUM is wrong."""
    try:
        path, tried = find_browser()
    except BrowserSettingError as err:
        pytest.fail(str(err), pytrace=False)
    if path is None:
        if in_ci():
            pytest.fail(f"{GET_A_BROWSER}. CI is set, so this is a failure, not a skip. "
                        f"Tried: {'; '.join(tried)}", pytrace=False)
        pytest.skip(GET_A_BROWSER)
    return path


@dataclass
class LabServer:
    """A running JupyterLab: where it listens, its token and the course folder it serves."""

    url: str
    token: str
    root: Path

    def api(self, path: str):
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")


class Notebook:
    """One notebook open in JupyterLab, in a Playwright page."""

    def __init__(self, page: Page, server: LabServer, path: str):
        self.page, self.server, self.path = page, server, path

    # ------------------------------------------------------------------ opening and running

    @classmethod
    def open(cls, page: Page, server: LabServer, path: str, timeout_s: float = 120) -> Notebook:
        """Open ``path`` (relative to the server's root) and wait until its kernel is ready."""
        # ?reset: a fresh workspace, so only this notebook is open (the server remembers the last one).
        page.goto(f"{server.url}/lab/tree/{path}?reset&token={server.token}", timeout=timeout_s * 1000)
        page.locator(PANEL).first.wait_for(timeout=timeout_s * 1000)
        if page.locator(PANEL).count() != 1:
            raise AssertionError(f"{path}: expected one open notebook, the page shows {page.locator(PANEL).count()}")
        notebook = cls(page, server, path)
        notebook.wait_for_kernel(timeout_s)
        return notebook

    def wait_for_kernel(self, timeout_s: float = 120) -> None:
        """The notebook has a running kernel (no kernel-choice dialog) and the page shows it idle."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            sessions = [s for s in self.server.api("/api/sessions") if s["path"] == self.path and s.get("kernel")]
            shown_idle = self.page.evaluate(
                """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')]
                         .some(e => e.dataset.status === 'idle')""")
            if sessions and sessions[0]["kernel"]["execution_state"] == "idle" and shown_idle:
                return
            if self.page.locator(".jp-Dialog").count():
                raise AssertionError(f"{self.path}: JupyterLab shows a dialog instead of starting the kernel: "
                                     f"{self.page.locator('.jp-Dialog').first.inner_text()!r}")
            time.sleep(0.25)
        raise TimeoutError(f"{self.path}: no idle kernel after {timeout_s:.0f} s")

    def run_all(self, timeout_s: float = 300) -> None:
        """Run → Run All Cells from the menu bar, then wait until nothing is running or queued."""
        self.page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        self.wait_until_done(timeout_s)

    def _state(self) -> dict:
        return self.page.evaluate(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .map(p => p.textContent.trim());
                const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
                return {
                    running: prompts.filter(p => p.includes('*')).length,
                    executed: prompts.filter(p => /\\[\\d+\\]/.test(p)).length,
                    status: indicator ? indicator.dataset.status : null,
                };
            }"""
        )

    def wait_until_done(self, timeout_s: float = 300, settle_s: float = 1.5) -> None:
        """No cell running or queued (``[*]``), at least one executed, the kernel idle — for ``settle_s`` in a row.

        Run All queues every cell at once and the kernel reports idle between two of them,
        so one idle reading is not enough: the state must hold.
        """
        deadline = time.monotonic() + timeout_s
        calm_since = None
        while time.monotonic() < deadline:
            state = self._state()
            kernels = self.server.api("/api/kernels")
            calm = (
                state["running"] == 0
                and state["executed"] > 0
                and state["status"] == "idle"
                and all(k["execution_state"] == "idle" for k in kernels)
            )
            if not calm:
                calm_since = None
            elif calm_since is None:
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= settle_s:
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.path}: cells still running after {timeout_s:.0f} s (last state {state})")

    # ------------------------------------------------------------------ reading the page

    def cell_index(self, text: str) -> int:
        found = [i for i, cell in enumerate(self.source_cells()) if text in cell["source"]]
        if len(found) != 1:
            raise AssertionError(f"{self.path}: expected one cell containing {text!r}, found {len(found)}")
        return found[0]

    def cells(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")

    def cell_containing(self, text: str) -> Locator:
        """The one cell whose source (read from the notebook file) contains ``text``.

        Found by position, not by the editor's text: CodeMirror need not render the
        lines of an editor that is scrolled out of view.
        """
        return self.cells().nth(self.cell_index(text))

    def source_cells(self) -> list[dict]:
        cells = json.loads((self.server.root / self.path).read_text(encoding="utf-8"))["cells"]
        return [{**cell, "source": "".join(cell["source"])} for cell in cells]

    def error_outputs(self) -> list[str]:
        """The text of every output that shows a failure: a traceback or an error printed to stderr
        (JupyterLab renders both with the stderr MIME type), or a widget that could not be displayed."""
        texts = [text for text in self.stderr_outputs() if ERROR_TEXT.search(text)]
        outputs = self.page.locator(".jp-OutputArea-output").all_inner_texts()
        texts += [text for text in outputs if BROKEN_WIDGET in text]
        return texts

    def stderr_outputs(self) -> list[str]:
        return self.page.locator(STDERR_OUTPUT).all_inner_texts()

    def unexecuted_code_cells(self) -> list[int]:
        """Indices of the code cells with source that show no execution count (Run All stops at an error)."""
        prompts = self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')]"
            ".map(c => { const p = c.querySelector('.jp-InputPrompt'); return p ? p.textContent : null; })")
        cells = self.source_cells()
        if len(prompts) != len(cells):
            raise AssertionError(f"{self.path}: the page shows {len(prompts)} cells, the file has {len(cells)}")
        return [i for i, (cell, prompt) in enumerate(zip(cells, prompts))
                if cell["cell_type"] == "code" and cell["source"].strip() and not re.search(r"\[\d+\]", prompt or "")]


def image_digests(scope: Locator) -> list[str]:
    """SHA-256 of the decoded pixels of every visible ``<img>`` and ``<canvas>`` inside ``scope``.

    Pixels, not ``src`` strings: two encodings of the same picture compare equal, and a
    changed picture with the same label compares different.
    """
    return scope.evaluate(
        """async (root) => {
            const digests = [];
            const images = [...root.querySelectorAll('img, canvas')]
                .filter(e => e.offsetWidth > 0 && e.offsetHeight > 0);
            for (const element of images) {
                if (element.tagName === 'IMG') await element.decode().catch(() => {});
                const width = element.naturalWidth || element.width, height = element.naturalHeight || element.height;
                const canvas = document.createElement('canvas');
                canvas.width = width; canvas.height = height;
                const context = canvas.getContext('2d');
                context.drawImage(element, 0, 0);
                const pixels = context.getImageData(0, 0, width, height).data;
                const hash = await crypto.subtle.digest('SHA-256', pixels);
                const hex = [...new Uint8Array(hash)].map(b => b.toString(16).padStart(2, '0')).join('');
                digests.push(width + 'x' + height + ':' + hex);
            }
            return digests;
        }"""
    )


def wait_for_new_images(scope: Locator, before: list[str], timeout_s: float = 60) -> list[str]:
    """Wait until the images inside ``scope`` differ from ``before`` (and are non-empty); return them."""
    deadline = time.monotonic() + timeout_s
    current = before
    while time.monotonic() < deadline:
        current = image_digests(scope)
        if current and current != before:
            return current
        time.sleep(0.25)
    raise AssertionError(f"the displayed image did not change within {timeout_s:.0f} s (still {current})")


def wait_for_images(scope: Locator, expected: list[str], timeout_s: float = 60) -> None:
    """Wait until the images inside ``scope`` are exactly ``expected`` (digests from :func:`image_digests`)."""
    deadline = time.monotonic() + timeout_s
    current = image_digests(scope)
    while current != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        current = image_digests(scope)
    if current != expected:
        raise AssertionError(f"the displayed image is {current}, expected {expected}")


#: Installed before Run All: records what appears only for a moment, such as progress bars
#: that close when they finish (``leave=False``).
WATCHER = """() => {
    if (window.__courseWatch) return;
    const watch = window.__courseWatch = {progress: new Set(), bars: 0};
    // A bar's last change and its removal can reach the page together: remember each bar's cell
    // and label while it is attached, and read its changes from the mutation records.
    const bars = new WeakMap();
    const snapshot = (bar) => {
        const {id, cell, box} = bars.get(bar);
        watch.progress.add(JSON.stringify({bar: id, cell, width: bar.style.width,
            style: [...bar.classList].filter(c => c.startsWith('progress-bar-')).join(' '),
            text: box ? box.textContent.replace(/\\s+/g, ' ').trim() : ''}));
    };
    const record = (mutations) => {
        for (const bar of document.querySelectorAll('.jp-OutputArea .widget-hprogress .progress-bar')) {
            if (!bars.has(bar)) {
                const cell = bar.closest('.jp-Cell');
                const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell')];
                bars.set(bar, {id: ++watch.bars, cell: cells.indexOf(cell), box: bar.closest('.widget-hbox')});
            }
            snapshot(bar);
        }
        for (const mutation of mutations) {
            if (bars.has(mutation.target)) snapshot(mutation.target);
        }
    };
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                         characterData: true});
    record([]);
}"""

def _rgb(colour: str) -> str:
    return ", ".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5))


#: Pixels of the two first colours of the course's line cycle (helpers.plotting.PALETTE: Okabe–Ito blue and
#: orange) in an image.
COLOUR_COUNTS = """async (img) => {
    await img.decode().catch(() => {});
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const near = (i, r, g, b) => Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60;
    let blue = 0, orange = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (near(i, BLUE)) blue++;
        if (near(i, ORANGE)) orange++;
    }
    return {blue, orange, width: img.naturalWidth, height: img.naturalHeight};
}""".replace("BLUE", _rgb(PALETTE[0])).replace("ORANGE", _rgb(PALETTE[1]))


def watch(page: Page) -> None:
    """Start recording progress bars (call before :meth:`Notebook.run_all`)."""
    page.evaluate(WATCHER)


def progress_states(page: Page) -> list[dict]:
    """Every distinct progress-bar state the page showed since :func:`watch`: ``bar`` (a number per bar),
    ``cell`` (its cell's index), ``width`` (of the filled part, e.g. ``"100%"``), ``style`` and ``text``."""
    return [json.loads(state) for state in page.evaluate("() => [...window.__courseWatch.progress]")]


def colour_counts(img: Locator) -> dict:
    return img.evaluate(COLOUR_COUNTS)
