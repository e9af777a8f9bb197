"""Fixtures for the browser tests: a JupyterLab server on a copy of the course, headless Chromium.

* The server listens on 127.0.0.1 only, with a random token, and keeps its settings,
  workspaces and runtime files in a temporary folder: no news pop-up, no update check,
  no autosave (the tests run a *copy* of the course, so the repository's notebooks are
  never written), every cell kept in the page (no virtual scrolling), and its kernels
  run the ``smoke`` profile.
* Chromium, launched by Playwright with a fresh profile, is the first found of:
  ``COURSE_CHROMIUM`` (an executable; set but wrong is a failure), Playwright's own Chromium
  (``python -m playwright install chromium``), a ``chromium``/``chromium-browser``/
  ``google-chrome``/``google-chrome-stable`` on PATH (see ``lab.find_browser``). Without one
  the tests are skipped with a line saying how to get one, or fail when ``CI`` is set.
* Every test leaves ``test-artifacts/browser/<test>.png`` (the final page) and
  ``<test>.console.log`` (the browser console and page errors); a failure report names
  both. ``jupyterlab-server.log`` is the server's own log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .lab import LabServer, choose_browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
#: What the tests need of the course: the lessons and what their kernels import or read.
COURSE_PARTS = ("helpers", "data", "solutions", "notebooks")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium keeps calling home, which a closed network answers with refusals.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    if report.when == "call" and report.failed and "page" in getattr(item, "fixturenames", ()):
        stem = ARTIFACTS / item.name
        report.sections.append(("browser artifacts", f"screenshot:  {stem}.png\nconsole log: {stem}.console.log\n"
                                                     f"server log:  {ARTIFACTS / 'jupyterlab-server.log'}"))
    return report


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course for the server to serve: running it in the browser never touches the repository."""
    root = tmp_path_factory.mktemp("course")
    for part in COURSE_PARTS:
        if (ROOT / part).exists():
            ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
            shutil.copytree(ROOT / part, root / part, ignore=ignore)
    return root


@pytest.fixture(scope="module")
def lab_server(course, artifacts, tmp_path_factory) -> LabServer:
    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        "COURSE_PROFILE": "smoke",
        "PYTHONUNBUFFERED": "1",
    }
    # A learner's kernel: inline figures (the test suite's headless MPLBACKEND=Agg would hide every plot),
    # no grading probe.
    for name in ("MPLBACKEND", "COURSE_PROBE"):
        env.pop(name, None)
    port, token = _free_port(), secrets.token_hex(16)
    log_path = artifacts / "jupyterlab-server.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
         "--ServerApp.allow_root=True", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
         "--ServerApp.shutdown_no_activity_timeout=1800"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root=course)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}; see {log_path}", pytrace=False)
        try:
            server.api("/api/status")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"JupyterLab did not answer within 120 s; see {log_path}", pytrace=False)
            time.sleep(0.5)
    yield server
    try:  # a clean shutdown also stops the kernels the tests started
        request = urllib.request.Request(f"{server.url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(request, timeout=10).close()
        process.wait(timeout=30)
    except Exception:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser():
    executable = choose_browser()  # skips, or fails under CI, when there is none
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, lab_server, artifacts, request):
    """A fresh browser context and page; afterwards the final page and its console are saved."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    page.console_lines = console
    yield page
    stem = artifacts / request.node.name
    try:
        page.screenshot(path=f"{stem}.png")
    except Exception as err:  # the page may have crashed; keep the console log anyway
        console.append(f"[test harness] screenshot failed: {err}")
    Path(f"{stem}.console.log").write_text("\n".join(console) + "\n", encoding="utf-8")
    context.close()
    # The next test opens its own notebook; a kernel left running would only compete for the CPU.
    for session in lab_server.api("/api/sessions"):
        request_ = urllib.request.Request(f"{lab_server.url}/api/sessions/{session['id']}", method="DELETE",
                                          headers={"Authorization": f"token {lab_server.token}"})
        urllib.request.urlopen(request_, timeout=30).close()
