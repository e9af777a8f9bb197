"""Install files, CI script, README and contributor hooks agree with each other."""

import re
import subprocess
import sys

import yaml

from helpers import envcheck


def requirement_lines(path):
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-r ")]


def test_environment_yml_installs_what_requirements_txt_installs(root):
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip_section) == sorted(requirement_lines(root / "requirements.txt"))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major, minor = map(int, python.split("=")[1].split("."))
    assert envcheck.SUPPORTED_PYTHON[0] <= (major, minor) <= envcheck.SUPPORTED_PYTHON[1]


def test_learners_get_a_normal_torch_and_ci_the_cpu_pin(root):
    learners = requirement_lines(root / "requirements.txt")
    assert any(re.fullmatch(r"torch>=[\d.]+", line) for line in learners)
    assert "torch==2.13.0" in requirement_lines(root / ".ci" / "constraints.txt")
    assert "-c .ci/constraints.txt" in (root / ".ci" / "run").read_text()
    dev = (root / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev and "nbval" in dev and "pytest-xdist" in dev


def readme_test_command(root):
    commands = re.findall(r"^\s*(python -m pytest[^`\n]*)", (root / "README.md").read_text(), flags=re.M)
    assert commands, "README.md gives no test command"
    return commands[0].strip()


def test_ci_runs_exactly_the_readme_test_command(root):
    command = readme_test_command(root)
    ci_lines = [line.strip() for line in (root / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


def test_supported_python_is_stated_consistently(root):
    lo, hi = envcheck.SUPPORTED_PYTHON
    stated = f"Python {lo[0]}.{lo[1]}–{hi[0]}.{hi[1]}"
    assert stated in (root / "README.md").read_text()
    requires = re.search(r'^requires-python = "([^"]+)"', (root / "pyproject.toml").read_text(), re.M).group(1)
    assert requires == f">={lo[0]}.{lo[1]},<{hi[0]}.{hi[1] + 1}"
    assert lo <= sys.version_info[:2] <= hi


def test_every_lesson_is_in_the_readme_with_its_badge(root):
    readme = (root / "README.md").read_text()
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        assert f"](notebooks/{path.name})" in readme, f"README does not link notebooks/{path.name}"
        assert f"/blob/main/notebooks/{path.name})" in readme, f"README has no Colab badge for {path.name}"


def test_pre_commit_hooks_are_the_checks_the_suite_runs(root):
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {h["id"]: h for repo in yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"]
             for h in repo["hooks"]}
    assert hooks["build-notebooks"]["entry"] == "python -m helpers.build"
    assert hooks["ruff"]["entry"] == "ruff check" and "jupyter" in hooks["ruff"]["types_or"]


def test_ruff_is_clean(root):
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
