"""The course as a book (``python -m instructor_tools.book``), built once in the smoke profile and read in Chromium.

The book built is the public one, the one GitHub Pages publishes: no page may show a solution region's
marker or a hidden test. The book is served from 127.0.0.1, as GitHub Pages serves it (Sphinx's search
fetches pages for its snippets, which ``file://`` forbids), and every request for anything else is refused
and recorded: a page that needs the network fails here. Screenshots and console logs: ``test-artifacts/book/``.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from helpers.checks import stub_message
from instructor_tools.book import execute, pages
from instructor_tools.lesson import BEGIN_HIDDEN, END_HIDDEN, lessons

from . import axe

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """The smoke-profile book: ``(out folder, the command's stdout)``; built once per session."""
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run([sys.executable, "-m", "instructor_tools.book", "--profile", "smoke", "--out", str(out)],
                            cwd=ROOT, text=True, capture_output=True, timeout=1800)
    assert result.returncode == 0, f"the book did not build:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return out, result.stdout


@pytest.fixture(scope="module")
def book_artifacts() -> Path:
    """The book's own folder: the lesson tests' module-scoped fixture empties theirs."""
    folder = ROOT / "test-artifacts" / "book"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(book):
    """The built site over HTTP on 127.0.0.1: ``(base URL, html folder)``."""
    html = book[0] / "html"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", html
    httpd.shutdown()
    thread.join()


@pytest.fixture
def site(server, browser, book_artifacts, request):
    """A fresh page on the served site; a request for anything else is refused and recorded."""
    base, html = server
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(30_000)
    remote: list[str] = []

    def refuse(route):
        remote.append(route.request.url)
        route.abort()

    local = ("data:", "blob:", "about:", base)
    context.route(lambda url: not url.startswith(local), refuse)
    page = context.new_page()
    page.on("request", lambda r: None if r.url.startswith(local) else remote.append(r.url))
    console: list[str] = []
    page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    page.console_lines, page.base, page.html = console, base, html
    yield page
    stem = book_artifacts / request.node.name
    page.screenshot(path=f"{stem}.png")
    Path(f"{stem}.console.log").write_text("\n".join(console) + "\n", encoding="utf-8")
    context.close()
    assert not remote, f"the book asked the network for: {sorted(set(remote))}"


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name in ("id", "name") and value)


def anchors(path: Path) -> set[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.ids


def pages_of(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


def url_of(page, path: Path, query: str = "") -> str:
    return page.base + path.relative_to(page.html).as_posix() + query


def path_of(page, url: str) -> Path | None:
    """The file a URL of the site names (``…/`` is its index.html); None for a URL off the site."""
    if not url.startswith(page.base):
        return None
    path = page.html / unquote(urlsplit(url).path).lstrip("/")
    return path / "index.html" if path.is_dir() else path


def open_page(page, path: Path, query: str = "") -> None:
    page.goto(url_of(page, path, query), wait_until="load")


def console_errors(page) -> list[str]:
    return [line for line in page.console_lines if line.startswith(("[error]", "[pageerror]"))]


def test_the_build_executes_every_lesson_and_writes_its_page(book):
    out, stdout = book
    names = [p.stem for p in lessons()]
    assert re.findall(r"^  (\S+): executed in [\d.]+ s$", stdout, re.M) == names, stdout
    assert f"{len(names)} lessons ({len(names)} executed, 0 cached)" in stdout
    assert sorted(p.stem for p in (out / "html" / "lessons").glob("*.html")) == names


def test_a_rebuild_with_nothing_changed_executes_nothing(book):
    out, _ = book
    lines = []
    again = execute.execute_all("smoke", out / "cache", log=lambda s, **k: lines.append(s))
    assert [lesson.cached for lesson in again] == [True] * len(again) and again, lines
    assert not any("executing" in line for line in lines)


def test_no_page_references_the_network(book):
    """The static half of the offline promise: no script, stylesheet, image or font comes from http(s)."""
    out, _ = book
    remote = re.compile(r"""<(?:script|img|source)[^>]*\ssrc=["']?(?:https?:)?//"""
                        r"""|<link[^>]*\shref=["']?(?:https?:)?//""")
    for path in pages_of(out / "html"):
        found = remote.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name} loads from the network: {found}"
    for css in (out / "html" / "_static").rglob("*.css"):
        assert not re.search(r"@import\s+url\(['\"]?https?:|url\(['\"]?(?:https?:)?//", css.read_text()), css.name


#: A check's name as a graded cell writes it: ``name="upsample_nearest (hidden cases)"``.
CHECK_NAME = re.compile(r"""\bname=(["'])[^"'\n]+\1""")


def graded_check_names(nb) -> list[tuple[list[str], list[str]]]:
    """Per graded cell with hidden tests: the ``name="…"`` strings of its visible checks and of its hidden ones."""
    found = []
    for cell in nb.cells:
        hidden = re.findall(rf"^[ \t]*{BEGIN_HIDDEN}\n(.*?)^[ \t]*{END_HIDDEN}$", cell.source, re.M | re.S)
        if cell.cell_type == "code" and hidden:
            visible = re.sub(rf"^[ \t]*{BEGIN_HIDDEN}\n.*?^[ \t]*{END_HIDDEN}$", "", cell.source, flags=re.M | re.S)
            found.append(([m.group(0) for m in CHECK_NAME.finditer(visible)],
                          [m.group(0) for text in hidden for m in CHECK_NAME.finditer(text)]))
    return found


def exercise_ids(nb) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def test_no_page_shows_a_solution_or_a_hidden_test(book, site):
    """What grading depends on stays out of the published book: no marker in any file of the site, no hidden
    check on any page as the browser shows it, the exercises' stubs where the solutions were."""
    html = site.html
    assert pages.markers_in(html) == [], "a region marker reached the public book"
    hidden_total = visible_total = 0
    for path in lessons():
        solution = nbformat.read(path, as_version=4)
        names = graded_check_names(solution)
        hidden = [name for _, found in names for name in found]
        visible = [name for found, _ in names for name in found]
        open_page(site, html / "lessons" / f"{path.stem}.html")
        text = site.locator("article").text_content()
        for marker in pages.MARKERS:
            assert marker not in text, f"{path.stem}: the page shows {marker!r}"
        assert not [name for name in hidden if name in text], f"{path.stem}: the page shows hidden checks"
        # The same search finds the visible checks of those very cells: it would find a hidden one
        assert [name for name in visible if name not in text] == [], f"{path.stem}: visible checks missing"
        for grade_id in exercise_ids(solution):  # the exercise as learners get it
            assert stub_message(grade_id) in text, f"{path.stem}: {grade_id!r} is not the learner's stub"
        hidden_total, visible_total = hidden_total + len(hidden), visible_total + len(visible)
    assert hidden_total >= len(lessons()) and visible_total, "the lessons' hidden checks were not found"


def test_every_page_loads_without_console_errors_and_every_link_resolves(book, site):
    html = site.html
    pages = pages_of(html)
    assert {"index.html", "search.html"} <= {p.name for p in pages}
    ids = {path: anchors(path) for path in pages}
    broken = []
    for path in pages:
        open_page(site, path)
        site.wait_for_load_state("networkidle")
        assert not console_errors(site), f"{path.relative_to(html)}: console errors {console_errors(site)}"
        for href in site.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            target = path_of(site, href)
            if target is None:
                continue
            fragment = unquote(urlsplit(href).fragment)
            if not target.is_file():
                broken.append(f"{path.relative_to(html)} → {href} (no such file)")
            elif fragment and target.suffix == ".html" and fragment not in ids.get(target, set()):
                broken.append(f"{path.relative_to(html)} → {href} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_front_page_is_the_lesson_table_and_links_every_lesson(book, site):
    open_page(site, site.html / "index.html")
    rows = site.locator("table tbody tr")
    names = [p.stem for p in lessons()]
    assert rows.count() == len(names)
    hrefs = site.eval_on_selector_all("table a[href]", "els => els.map(e => e.href)")
    linked = {path_of(site, h).stem for h in hrefs if path_of(site, h)}
    assert set(names) <= linked
    badges = site.locator("table img[alt='Open In Colab']")
    assert badges.count() == len(names)
    assert all(img.evaluate("i => i.complete && i.naturalWidth > 0") for img in badges.all())


def test_every_lesson_page_shows_its_figures(book, site):
    for path in sorted((site.html / "lessons").glob("*.html")):
        open_page(site, path)
        images = site.locator("article img")
        # loading="lazy" images load only near the viewport: scroll each one in before reading it
        sizes = []
        for img in images.all():
            img.scroll_into_view_if_needed()
            img.evaluate("i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })")
            sizes.append(img.evaluate("i => i.naturalWidth"))
        figures = [s for s, img in zip(sizes, images.all(), strict=True)
                   if "_images/" in (img.get_attribute("src") or "") and "colab-badge" not in img.get_attribute("src")]
        assert figures, f"{path.name}: no figure"
        assert all(sizes), f"{path.name}: broken images (naturalWidth 0): {sizes}"
        if site.locator("div.math").count():  # display maths: typeset by the book's own MathJax
            site.locator("div.math mjx-container").first.wait_for()


def lesson_figures(page) -> list[dict]:
    """``{src, alt}`` of the figures of the page's article: the lessons' outputs, not the Colab badge."""
    return page.eval_on_selector_all(
        "article img", "els => els.map(e => ({src: e.getAttribute('src') || '', alt: e.getAttribute('alt')}))"
        ".filter(i => i.src.includes('_images/') && !i.src.includes('colab-badge'))")


def test_every_lesson_figure_says_what_it_shows(book, site):
    """A screen reader reads a figure's alt text: a sentence from the code that drew it, never its file name."""
    said = []
    for path in sorted((site.html / "lessons").glob("*.html")):
        open_page(site, path)
        figures = lesson_figures(site)
        assert figures, f"{path.name}: no figure"
        for figure in figures:
            alt, file = (figure["alt"] or "").strip(), figure["src"].rsplit("/", 1)[-1]
            assert alt and "_images/" not in alt and file.split(".")[0] not in alt and len(alt.split()) >= 5, \
                f"{path.name}: {figure['src']} has alt {figure['alt']!r}"
            said.append(f"{path.name}: {alt}")
    (ROOT / "test-artifacts" / "book" / "alt-texts.txt").write_text("\n".join(said) + "\n", encoding="utf-8")


def test_every_page_passes_axe_in_the_light_and_the_dark_theme(book, site):
    """axe-core finds no critical and no serious violation on any page, in either colour scheme (Furo follows
    the reader's): code regions a keyboard can reach, enough contrast, named landmarks, complete ARIA."""
    audits = {}
    for scheme in ("light", "dark"):
        site.emulate_media(color_scheme=scheme)
        for path in pages_of(site.html):
            open_page(site, path)
            site.wait_for_load_state("networkidle")
            audits[f"{path.relative_to(site.html)} ({scheme})"] = axe.audit(site)
    report = axe.report(audits)
    (ROOT / "test-artifacts" / "book" / "axe.txt").write_text(report, encoding="utf-8")
    assert len(audits) == 2 * len(pages_of(site.html)) >= 2 * (len(lessons()) + 2)
    assert not [name for name, found in audits.items() if axe.blocking(found)], report


def test_widgets_show_their_first_picture(book, site):
    """An explorer's cell ran with a live widget; the page shows the picture it showed first."""
    out, _ = book
    widget_cells = []
    for stored in (out / "cache" / "smoke").glob("*.ipynb"):
        nb = nbformat.read(stored, as_version=4)
        for cell in nb.cells:
            bundles = [o.get("data", {}) for o in cell.get("outputs", []) if "data" in o]
            if any("application/vnd.jupyter.widget-view+json" in d and "image/png" in d for d in bundles):
                widget_cells.append((stored.name.split(".")[0], cell.source.strip().splitlines()[-1]))
    assert widget_cells, "no lesson displays an explorer with its still picture"
    for name, last_line in widget_cells:
        open_page(site, site.html / "lessons" / f"{name}.html")
        cell = site.locator("div.cell").filter(has=site.locator(".cell_input", has_text=last_line))
        assert cell.count() == 1, f"{name}: no cell shows {last_line!r}"
        picture = cell.locator(".cell_output img")
        assert picture.count() == 1, f"{name}: {last_line!r} shows no picture"
        picture.scroll_into_view_if_needed()
        assert picture.evaluate("i => i.naturalWidth") > 200


def test_search_finds_transposed(book, site):
    open_page(site, site.html / "search.html", "?q=transposed")
    site.locator("#search-results ul.search li").first.wait_for()
    site.locator("#search-results ul.search li p.context").first.wait_for()  # snippets: fetched from the pages
    hrefs = site.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert any("/lessons/" in h for h in hrefs), hrefs
    site.wait_for_load_state("networkidle")
    assert not console_errors(site), console_errors(site)
    open_page(site, path_of(site, hrefs[0]))  # a result opens a page of the book that says it
    assert "transposed" in site.locator("article").inner_text().lower()
