"""How the browser tests find Chrome/Chromium, and what they do without one — no browser needed.

Every test here runs on a fake machine: no COURSE_CHROMIUM, no CI, a PATH made of one empty
folder, and a Playwright whose own Chromium is not installed; each test adds what it needs
(fake executables are small scripts). Not marked ``browser``: these run everywhere.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from . import lab


def fake_executable(folder: Path, name: str) -> str:
    """An executable file that ``shutil.which(name)`` finds when ``folder`` is on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "nt":
        path = folder / f"{name}.bat"
        path.write_text("@exit /b 0\n")
    else:
        path = folder / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def same_file(a: str | None, b: str) -> bool:
    return a is not None and os.path.samefile(a, b)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine with no browser at all; ``machine.bin`` is the only folder on PATH."""
    monkeypatch.delenv("COURSE_CHROMIUM", raising=False)
    monkeypatch.delenv("CI", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    not_installed = str(tmp_path / "ms-playwright" / "chromium-0000" / "chrome")
    monkeypatch.setattr(lab, "playwright_chromium", lambda: not_installed)

    class Machine:
        bin = bin_dir
        playwright_path = not_installed

        @staticmethod
        def install_playwright_chromium() -> str:
            path = fake_executable(tmp_path / "ms-playwright" / "chromium-0000", "chrome")
            monkeypatch.setattr(lab, "playwright_chromium", lambda: path)
            return path

    return Machine


# ---------------------------------------------------------------- where the browser is found


def test_course_chromium_comes_first(machine, tmp_path, monkeypatch):
    chosen = fake_executable(tmp_path / "elsewhere", "my-chrome")
    monkeypatch.setenv("COURSE_CHROMIUM", chosen)
    fake_executable(machine.bin, "chromium")

    def playwright_chromium():
        raise AssertionError("Playwright was asked although COURSE_CHROMIUM is set")

    monkeypatch.setattr(lab, "playwright_chromium", playwright_chromium)
    path, tried = lab.find_browser()
    assert path == chosen
    assert tried == [f"COURSE_CHROMIUM={chosen}"]


def test_playwright_chromium_comes_before_path(machine):
    installed = machine.install_playwright_chromium()
    fake_executable(machine.bin, "chromium")
    path, tried = lab.find_browser()
    assert path == installed
    assert tried == ["COURSE_CHROMIUM (not set)", f"Playwright's Chromium ({installed})"]


def test_playwright_chromium_that_is_not_installed_is_passed_over(machine):
    on_path = fake_executable(machine.bin, "chromium")
    path, tried = lab.find_browser()
    assert same_file(path, on_path)
    assert tried[1] == f"Playwright's Chromium ({machine.playwright_path}: not installed)"


def test_playwright_without_an_answer_is_passed_over(machine, monkeypatch):
    monkeypatch.setattr(lab, "playwright_chromium", lambda: None)
    on_path = fake_executable(machine.bin, "google-chrome")
    path, tried = lab.find_browser()
    assert same_file(path, on_path)
    assert tried[1] == "Playwright's Chromium (Playwright gave no path)"


@pytest.mark.parametrize("index", range(len(lab.SYSTEM_BROWSERS)))
def test_system_browsers_on_path_in_order(machine, index):
    """With this name and every later one on PATH, this one is chosen; the earlier ones were tried."""
    names = lab.SYSTEM_BROWSERS
    paths = {name: fake_executable(machine.bin, name) for name in names[index:]}
    path, tried = lab.find_browser()
    assert same_file(path, paths[names[index]])
    assert [entry.split(" on PATH")[0] for entry in tried[2:]] == list(names[: index + 1])


def test_nothing_found(machine):
    path, tried = lab.find_browser()
    assert path is None
    assert tried == [
        "COURSE_CHROMIUM (not set)",
        f"Playwright's Chromium ({machine.playwright_path}: not installed)",
        *(f"{name} on PATH" for name in lab.SYSTEM_BROWSERS),
    ]


# ---------------------------------------------------------------- a wrong COURSE_CHROMIUM


@pytest.mark.parametrize("kind", ["missing", "folder", "not executable"])
def test_a_wrong_course_chromium_is_an_error(machine, tmp_path, monkeypatch, kind):
    """Set but naming no executable file: an error that names it, even with a browser on PATH and outside CI."""
    if kind == "not executable" and os.name == "nt":
        pytest.skip("Windows has no executable bit")
    target = tmp_path / "chrome"
    if kind == "folder":
        target.mkdir()
    elif kind == "not executable":
        target.write_text("#!/bin/sh\n")
        target.chmod(0o644)
    monkeypatch.setenv("COURSE_CHROMIUM", str(target))
    machine.install_playwright_chromium()
    fake_executable(machine.bin, "chromium")
    with pytest.raises(lab.BrowserSettingError, match="COURSE_CHROMIUM=.* is not an executable file"):
        lab.find_browser()
    with pytest.raises(pytest.fail.Exception, match="COURSE_CHROMIUM=.* is not an executable file"):
        lab.choose_browser()


# ---------------------------------------------------------------- without a browser: skip, or fail under CI


@pytest.mark.parametrize("ci", [None, "", "0", "false", "False", "no"])
def test_no_browser_skips_outside_ci(machine, monkeypatch, ci):
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    assert not lab.in_ci()
    with pytest.raises(pytest.skip.Exception) as skipped:
        lab.choose_browser()
    reason = skipped.value.msg
    assert reason == lab.GET_A_BROWSER and "\n" not in reason
    for how in ("python -m playwright install chromium", "apt-get install chromium", "COURSE_CHROMIUM"):
        assert how in reason


@pytest.mark.parametrize("ci", ["true", "1", "yes", "TRUE"])
def test_no_browser_fails_in_ci(machine, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    assert lab.in_ci()
    with pytest.raises(pytest.fail.Exception) as failed:
        lab.choose_browser()
    message = failed.value.msg
    assert "python -m playwright install chromium" in message and "CI is set" in message
    _, tried = lab.find_browser()
    assert "; ".join(tried) in message  # names everything that was tried


def test_a_browser_found_in_ci_is_used(machine, monkeypatch):
    monkeypatch.setenv("CI", "true")
    on_path = fake_executable(machine.bin, "chromium-browser")
    assert same_file(lab.choose_browser(), on_path)


# ---------------------------------------------------------------- the real Playwright


def test_playwright_says_where_its_chromium_lives(tmp_path, monkeypatch):
    """The real lookup (Playwright's driver, no browser started) answers with a path under its browsers folder."""
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    path = lab.playwright_chromium()
    assert path is not None and Path(path).is_relative_to(tmp_path) and "chromium" in path
    assert not lab.is_executable(path)  # nothing is installed there
