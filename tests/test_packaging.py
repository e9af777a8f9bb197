"""Install files, CI script, README and contributor hooks agree with each other."""

import importlib
import inspect
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

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


def test_ci_runs_the_readme_install_word_for_word(root):
    """The newcomer's stack installs exactly what the README tells a newcomer to, with no constraints file."""
    readme = (root / "README.md").read_text()
    install = "python -m pip install -r requirements-dev.txt"
    assert f"`{install}`" in readme
    ci_lines = [line.strip() for line in (root / ".ci" / "run").read_text().splitlines()]
    assert any(line.startswith(install) and "-c " not in line for line in ci_lines), \
        ".ci/run never installs requirements-dev.txt without a constraints file, as the README does"
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme  # the CPU-only route


def test_ci_runs_every_python_the_readme_promises(root):
    lo, hi = envcheck.SUPPORTED_PYTHON
    assert lo[0] == hi[0] == 3
    run = (root / ".ci" / "run").read_text()
    for minor in range(lo[1], hi[1] + 1):
        assert f"python_for 3.{minor})" in run, f"the README promises Python 3.{minor}; .ci/run never runs it"


def test_readme_opens_jupyterlab_at_the_course_root(root, monkeypatch):
    """`jupyter lab notebooks/00_setup.ipynb` alone would serve notebooks/ only: solutions/ out of reach."""
    from jupyter_server.serverapp import ServerApp

    command = re.search(r"^python -m jupyter lab (.+)$", (root / "README.md").read_text(), flags=re.M)
    assert command, "README.md gives no `python -m jupyter lab ...` command"
    monkeypatch.chdir(root)
    app = ServerApp()
    app.parse_command_line(command.group(1).split())
    assert Path(app.root_dir).resolve() == root
    assert (Path(app.root_dir) / app.file_to_run).is_file()
    assert {"solutions", "notebooks", "data"} <= {p.name for p in Path(app.root_dir).iterdir()}


def test_grading_outputs_are_never_committed(root):
    outputs = ["submissions/s001/01_why_upsampling.ipynb", "release/solutions/01_why_upsampling.ipynb", "grades.csv",
               "grades_totals.csv", "feedback/s001/01.md", "elsewhere/feedback/s001/01.md"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *outputs], cwd=root, capture_output=True, text=True)
    assert sorted(result.stdout.split()) == sorted(outputs), result.stdout + result.stderr


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
    assert hooks["build-notebooks"]["entry"] == "python -m instructor_tools.build"
    assert hooks["ruff"]["entry"] == "ruff check" and "jupyter" in hooks["ruff"]["types_or"]


def test_ruff_is_clean(root):
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def pins(path):
    """``{name: version}`` of the ``name==version`` lines of a constraints file."""
    found = {}
    for line in requirement_lines(path):
        name, sep, pinned = line.partition("==")
        assert sep, f"{path.name}: {line!r} is not a name==version pin"
        found[name.strip().lower()] = pinned.strip()
    return found


def test_every_requirement_floor_is_the_floor_stack_ci_runs(root):
    from packaging.requirements import Requirement
    from packaging.version import Version

    floor = pins(root / ".ci" / "floor-constraints.txt")
    for line in requirement_lines(root / "requirements.txt"):
        if line.startswith("-e "):
            continue
        req = Requirement(line)
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"requirements.txt: {line!r} needs exactly one lower bound (>=)"
        name = req.name.lower()
        assert name in floor, f"{name} has a floor in requirements.txt but no pin in .ci/floor-constraints.txt"
        assert Version(floor[name]) == Version(lows[0]), \
            f"{name}: requirements.txt says >={lows[0]}, the floor stack CI runs pins {floor[name]}"
    names = {Requirement(line).name.lower() for line in requirement_lines(root / "requirements.txt")
             if not line.startswith("-e ")}
    assert set(floor) <= names, f"floor pins for packages the course does not require: {set(floor) - names}"
    run = (root / ".ci" / "run").read_text()
    assert "-c .ci/floor-constraints.txt" in run, ".ci/run does not install the floor stack"


#: What Google Colab's GPU runtime shipped (googlecolab/backend-info, pip-freeze.gpu.txt and os-info.txt, August 2026).
COLAB = {"python": "3.13", "tensorflow": "2.20.0", "keras": "3.13.2", "torch": "2.11.0", "numpy": "2.1.3",
         "scipy": "1.16.3", "matplotlib": "3.10.0", "ipywidgets": "7.7.1", "scikit-image": "0.25.2", "tqdm": "4.67.3"}


def test_the_floor_stack_is_colab_like(root):
    """A Colab learner keeps Colab's packages: each is at or above the floor CI tests, and the setup cell
    installs only what Colab lacks."""
    from packaging.version import Version

    floor = pins(root / ".ci" / "floor-constraints.txt")
    for name, colab in COLAB.items():
        if name in floor:
            assert Version(floor[name]) <= Version(colab), f"Colab's {name} {colab} is below the floor {floor[name]}"
    lo, hi = envcheck.SUPPORTED_PYTHON
    assert lo <= tuple(map(int, COLAB["python"].split("."))) <= hi
    assert floor["tensorflow"].startswith("2.19") and floor["keras"].startswith("3.10")
    assert floor["numpy"] == "2.0.2" and floor["ipywidgets"].startswith("7.")
    setup = (root / "instructor_tools" / "lesson.py").read_text()
    assert 'for pkg in ("torchinfo",)' in setup  # the one package Colab lacks


def test_licences_are_in_place_and_named(root):
    assert (root / "LICENSE").read_text().startswith("MIT License\n")
    cc = (root / "LICENSES" / "CC-BY-4.0.txt").read_text()
    assert "Creative Commons Attribution 4.0 International Public License" in cc and len(cc) > 15_000
    readme = (root / "README.md").read_text()
    assert "](LICENSE)" in readme and "](LICENSES/CC-BY-4.0.txt)" in readme and "data/README.md" in readme
    assert "Attribution-Share Alike 3.0" in (root / "data" / "README.md").read_text()  # MNIST's own terms


def test_readme_gan_command_is_one_the_cli_accepts(root):
    from helpers.gan import cli

    command = re.search(r"^python -m helpers\.gan (.+)$", (root / "README.md").read_text(), flags=re.M)
    assert command, "README.md shows no `python -m helpers.gan ...` command"
    args = cli.build_parser().parse_args(command.group(1).split())
    assert args.framework and args.out  # both required: the README's example names them


def test_every_console_script_is_a_python_m_command_with_the_same_main(root):
    """pyproject's [project.scripts] and the ``python -m`` forms run one ``main(argv)``: the console script
    (installed by ``-e .``) prints the same usage as the module."""
    scripts = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert set(scripts) == {"course-build", "course-grade", "course-book", "course-study-time", "course-gan"}
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        main = getattr(importlib.import_module(module), function)
        assert list(inspect.signature(main).parameters) == ["argv"], name
        runnable = module.removesuffix(".cli")  # helpers.gan's __main__ calls cli.main
        via_module = subprocess.run([sys.executable, "-m", runnable, "--help"], cwd=root, capture_output=True,
                                    text=True, timeout=120)
        assert via_module.returncode == 0, (name, via_module.stderr)
        installed = shutil.which(name, path=str(Path(sys.executable).parent))
        assert installed, f"{name} is not installed next to {sys.executable}: pip install -e ."
        via_script = subprocess.run([installed, "--help"], cwd=root, capture_output=True, text=True, timeout=120)
        assert via_script.returncode == 0 and via_script.stdout == via_module.stdout, name
