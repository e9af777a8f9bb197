"""The generated setup cell, run as on Colab (a fake google.colab, a local clone URL)."""

import subprocess
import sys

from instructor_tools import lesson

RUNNER = """
import sys, types
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = types.ModuleType("google.colab")
cell = open(sys.argv[1]).read()
exec(compile(cell, "setup-cell", "exec"), {})
exec(compile(cell, "setup-cell", "exec"), {})   # a second run must change nothing
import helpers, helpers.data
print("HELPERS", helpers.__file__)
print("DATA", helpers.data.verify_mnist())
print("PATH_ENTRIES", sys.path.count(sys.argv[2]))
"""


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_upstream(tmp_path, root):
    """A git repository holding the course's helpers and data, on a branch named like COURSE_REF."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    subprocess.run(["cp", "-r", str(root / "helpers"), str(root / "data"), str(upstream)], check=True)
    git("init", "-q", "-b", "release-test", cwd=upstream)
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A", cwd=upstream)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "course", cwd=upstream)
    return upstream


def test_setup_cell_on_colab_fetches_course_once(tmp_path, root):
    upstream = make_upstream(tmp_path, root)
    cell = tmp_path / "cell.py"
    cell.write_text(lesson.SETUP_CELL)
    target = tmp_path / "content" / "course"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COURSE_REPOSITORY": upstream.as_uri(),
           "COURSE_REF": "release-test", "COURSE_DIR": str(target)}
    workdir = tmp_path / "content"
    workdir.mkdir()
    result = subprocess.run([sys.executable, "-c", RUNNER, str(cell), str(target)], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"HELPERS {target / 'helpers' / '__init__.py'}" in result.stdout
    assert f"DATA {target / 'data' / 'mnist.npz'}" in result.stdout
    assert "PATH_ENTRIES 1" in result.stdout
    assert (target / ".git").is_dir()


def test_setup_cell_elsewhere_is_quiet_and_finds_helpers(tmp_path, root):
    result = subprocess.run([sys.executable, "-c", lesson.SETUP_CELL + "\nimport helpers; print(helpers.ROOT)"],
                            cwd=root / "notebooks", capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(root) and result.stderr == ""


def test_badge_and_setup_cell_come_from_one_setting(root):
    from helpers import config

    for folder in ("solutions", "notebooks"):
        for path in sorted((root / folder).glob("*.ipynb")):
            text = path.read_text()
            badge = f"colab.research.google.com/github/{config.GITHUB_REPOSITORY}/blob/{config.GIT_REF}"
            assert f"{badge}/{folder}/{path.name}" in text
            assert config.REPOSITORY_URL in text
