"""``--sandbox pod``: the checks that refuse a pod that is not a sandbox, and the trust model, for real.

The checks are faked one by one (root, capabilities, a route out, writable course files, an old
Landlock, a course copy where kernels read), each named in the refusal. Then the grader itself runs
in ``--sandbox pod`` the way a pod runs it, on this machine: as a non-root uid without capabilities,
in a network namespace with no route (``unshare --net``), with the course files read-only to it,
and grades planted submissions that try to read the solutions, the course's own helpers, the
batch's snapshot and other students' notebooks, the grader's memory (``/proc/PID/environ`` and
``mem``), to signal the grader and its worker, and to write into the course. Each earns nothing;
the rest of each is graded.

The real test needs root (to make the namespace and leave root), ``unshare``, ``setpriv`` and
Landlock ABI 6 (Linux 6.12+): without them it is skipped saying which, except under ``CI``, where
that fails.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import nbformat
import pytest
from planted_lesson import (
    EXERCISES,
    LESSON,
    POINTS,
    SOLUTION,
    TARGET,
    THE_LESSON,
    solution_code,
    solved_except,
    wrong,
)

from helpers import ROOT
from instructor_tools import grade
from instructor_tools.grading import isolation as iso
from instructor_tools.grading.sandbox import landlock_abi
from instructor_tools.grading.shards import INFRASTRUCTURE_FAILURE

NOBODY = 65534


# --------------------------------------------------------------------------- each check, faked


def test_root_is_refused():
    assert "root" in iso.root_problem(0) and "runAsNonRoot" in iso.root_problem(0)
    assert iso.root_problem(1000) is None


def test_capabilities_are_refused_by_name():
    held = "CapPrm:\t00000000000000c0\nCapEff:\t00000000000000c0\nCapAmb:\t0000000000000000\n"
    problem = iso.capability_problem(held)
    assert "CAP_SETGID" in problem and "CAP_SETUID" in problem and "drop: [ALL]" in problem
    none = "CapInh:\t00000000000000c0\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"  # inheritable alone
    assert iso.capability_problem(none) is None


ROUTES_V4 = ("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
             "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
LOOPBACK_V6 = "00000000000000000000000000000001 80 00000000000000000000000000000000 00 " \
              "00000000000000000000000000000000 00000000 00000001 00000000 80200001       lo\n"


def test_routes_out_are_the_interfaces_other_than_loopback():
    assert iso.routes_out(ROUTES_V4, LOOPBACK_V6) == ["eth0"]
    assert iso.routes_out(ROUTES_V4.splitlines()[0] + "\n", LOOPBACK_V6) == []


def test_a_network_that_answers_is_refused_and_one_that_drops_is_not():
    with socket.create_server(("127.0.0.1", 0)) as server:  # stands in for a host beyond the pod
        problem = iso.network_problem(["eth0"], [server.getsockname()])
    assert "127.0.0.1" in problem and "eth0" in problem and "NetworkPolicy" in problem
    closed = socket.create_server(("127.0.0.1", 0))
    address = closed.getsockname()
    closed.close()  # nothing listens: what a pod whose egress is denied sees
    assert iso.network_problem(["eth0"], [address]) is None
    assert iso.network_problem([], [("127.0.0.1", 1)]) is None  # no route out: nothing to try


def test_egress_probes_default_to_the_api_server_and_can_be_named():
    api = iso.egress_probes({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"})
    assert api[0] == ("10.96.0.1", 443) and len(api) == 1 + len(iso.EGRESS_PROBES)
    assert iso.egress_probes({"COURSE_GRADER_EGRESS_PROBES": "192.0.2.7:80 [2001:db8::1]:53"}) == [
        ("192.0.2.7", 80), ("2001:db8::1", 53)]


def test_writable_course_files_are_refused(tmp_path):
    course = tmp_path / "helpers"
    course.mkdir()
    assert str(course) in iso.writable_problem([course]) and "readOnlyRootFilesystem" in iso.writable_problem([course])
    os.chmod(course, 0o555)
    try:
        assert (iso.writable_problem([course]) is None) == (os.geteuid() != 0)  # root writes through any mode
    finally:
        os.chmod(course, 0o755)


def test_landlock_older_than_signal_scoping_is_refused():
    assert "ABI 6" in iso.landlock_problem(5) and "found ABI 5" in iso.landlock_problem(5)
    assert "found none" in iso.landlock_problem(0)
    assert iso.landlock_problem(iso.POD_LANDLOCK_ABI) is None


def test_a_course_copy_where_kernels_read_is_refused(tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "helpers").mkdir(parents=True)
    (site / "helpers" / "reference.py").write_text("def answer(): ...\n")
    installation = iso.Installation(path=(str(site),), sites=(str(site),), specs=(), pointers=())
    problem = iso.installed_copy_problem(installation)
    assert str(site / "helpers") in problem and "editable" in problem
    clean = iso.Installation(path=(str(tmp_path / "other"),), sites=(), specs=(), pointers=())
    assert iso.installed_copy_problem(clean) is None  # the checkout (ROOT) is read by no kernel here


def test_pod_mode_refuses_naming_every_failing_check(monkeypatch):
    monkeypatch.setattr(iso, "root_problem", lambda: "it runs as root")
    monkeypatch.setattr(iso, "network_problem", lambda: "the network reaches out")
    for name in ("capability_problem", "writable_problem", "landlock_problem", "installed_copy_problem"):
        monkeypatch.setattr(iso, name, lambda: None)
    with pytest.raises(iso.SandboxUnavailable) as refused:
        iso.detect(allow_unsandboxed=True, sandbox="pod")  # --unsandboxed never stands in for a pod
    assert "it runs as root" in str(refused.value) and "the network reaches out" in str(refused.value)
    monkeypatch.setattr(iso, "root_problem", lambda: None)
    monkeypatch.setattr(iso, "network_problem", lambda: None)
    pod = iso.detect(sandbox="pod")
    assert pod.kind == "pod" and pod.job_uid() == 0 and pod.bounds.startswith("pod: ")


def test_the_command_refuses_a_pod_with_the_reserved_exit_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(iso, "pod_problems", lambda: ["it runs as root (uid 0)"])
    (tmp_path / "subs").mkdir()
    code = grade.main([str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv"), "--sandbox", "pod"])
    assert code == INFRASTRUCTURE_FAILURE
    assert "--sandbox pod" in capsys.readouterr().err and not (tmp_path / "grades.csv").exists()


# --------------------------------------------------------------------------- the trust model, for real

# Each attack is the body of a function that returns True if it got through; a submission whose attack
# gets through swaps its wrong answer for the right one, so a breach shows as points.
ATTACKS = {
    "solutions": f"open({str(ROOT / 'solutions' / LESSON)!r}).read()\n    return True",
    "course_helpers": f"open({str(ROOT / 'helpers' / 'reference.py')!r}).read()\n    return True",
    # cwd is BATCH/<job>/sandbox/work: the batch's snapshot holds the whole helpers package, answers included
    "snapshot": "from pathlib import Path\n    batch = Path.cwd().parents[2]\n"
                "    (batch / 'snapshot' / 'helpers' / 'reference.py').read_text()\n    return True",
    "batch_listing": "import os\n    from pathlib import Path\n    return len(os.listdir(Path.cwd().parents[2])) > 0",
    "grader_memory": "\n    ".join([
        "import os",
        "got = False",
        "for pid in _ancestors():",
        "    for what in ('environ', 'mem'):",
        "        try:",
        "            with open(f'/proc/{pid}/{what}', 'rb') as f:",
        "                f.seek(0 if what == 'environ' else int(open(f'/proc/{pid}/maps').read().split('-')[0], 16))",
        "                got = got or len(f.read(64)) > 0",
        "        except OSError:",
        "            pass",
        "return got"]),
    "signals": "\n    ".join([
        "import os",
        "got = False",
        "for pid in _ancestors():",
        "    try:",
        "        os.kill(pid, 0)  # permission to signal, without a signal",
        "        got = True",
        "    except OSError:",
        "        pass",
        "return got"]),
    "write_course": "open(PWNED, 'w').write('written by a submission')\n    return True",
    # the grader's command line is world-readable: it names the submissions folder, whose notebooks are not
    "other_submissions": "\n    ".join([
        "import os",
        "for pid in _ancestors():",
        "    for arg in open(f'/proc/{pid}/cmdline', 'rb').read().decode().split('\\0'):",
        "        for folder, _, files in os.walk(arg) if os.path.isdir(arg) else ():",
        "            for name in files:",
        "                if name.endswith('.ipynb') and len(open(os.path.join(folder, name)).read()) > 0:",
        "                    return True",
        "return False"]),
}

ANCESTORS = '''
def _ancestors():
    """The kernel's worker, the grader and whatever started it: every process above this one."""
    pids, pid = [], os.getppid()
    while pid > 1:
        pids.append(pid)
        status = open(f"/proc/{pid}/status").read()
        pid = int(status.split("PPid:")[1].split()[0])
    return pids
'''


def breach(name: str, pwned: Path) -> str:
    """``_got_through``: whether the attack ``name`` got through (``pwned``: the file it tries to write)."""
    body = ATTACKS[name].replace("PWNED", repr(str(pwned)))
    return ("import os\n" + ANCESTORS + f"\n\ndef _breach():\n    {body}\n\n\ntry:\n"
            "    _got_through = _breach()\nexcept Exception:\n    _got_through = False\n")


def attack(name: str, token: str) -> str:
    return (wrong(TARGET) + "\n" + breach(name, ROOT / "helpers" / f"pwned-{token}.py")
            + f"if _got_through:\n    exec({solution_code(TARGET)!r})\n")


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_attack_gets_through_where_nothing_confines_it(name, tmp_path):
    """So that the pod's zero is the pod's doing: unconfined, as the grader's own user, each attack succeeds."""
    work = tmp_path / "batch" / "job" / "sandbox" / "work"
    work.mkdir(parents=True)
    (tmp_path / "batch" / "snapshot" / "helpers").mkdir(parents=True)
    (tmp_path / "batch" / "snapshot" / "helpers" / "reference.py").write_text("def answer(): ...\n")
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    (tmp_path / "subs" / "ada" / LESSON).write_text("{}")
    code = breach(name, tmp_path / "pwned.py") + "print('GOT THROUGH' if _got_through else 'blocked')\n"
    # under a parent that, like the grader, names the submissions folder on its command line
    done = subprocess.run(["sh", "-c", '"$0" -c "$1"; :', sys.executable, code, str(tmp_path / "subs")], cwd=work,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "GOT THROUGH", done.stderr[-2000:]


def _missing_for_a_real_pod() -> str | None:
    if os.geteuid() != 0:
        return "the real pod test runs as root (to make a network namespace and leave root for uid 65534)"
    missing = [tool for tool in ("unshare", "setpriv") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} missing (util-linux)"
    if landlock_abi() < iso.POD_LANDLOCK_ABI:
        return f"Landlock ABI {iso.POD_LANDLOCK_ABI} (Linux 6.12+) missing: found {landlock_abi()}"
    return None


# Run as root in the new mount and network namespaces: every folder on the way to the Python installation,
# the course and the work folder is made passable for uid 65534 (a non-passable one, such as /root, is
# covered by a tmpfs into which only the needed entries are bound back), then root is left for good.
AS_A_POD = r'''
import os, subprocess, sys
hold_in, keep = sys.argv[1], sys.argv[2:sys.argv.index("--")]
command = sys.argv[sys.argv.index("--") + 1:]
covered = {}
for path in keep:
    parts = os.path.realpath(path).split("/")[1:]
    for depth in range(1, len(parts)):
        folder = "/" + "/".join(parts[:depth])
        if not os.stat(folder).st_mode & 0o001 or folder in covered:
            covered.setdefault(folder, set()).add(parts[depth])
            break
for n, (folder, entries) in enumerate(sorted(covered.items())):
    hold = f"{hold_in}/.hold-{n}"  # removed with the work folder; the mounts end with the namespace
    os.makedirs(hold)
    subprocess.run(["mount", "--bind", folder, hold], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", folder], check=True)
    for entry in entries:
        os.makedirs(f"{folder}/{entry}")
        subprocess.run(["mount", "--bind", f"{hold}/{entry}", f"{folder}/{entry}"], check=True)
os.execvp("setpriv", ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all",
                      "--bounding-set=-all", "--no-new-privs", *command])
'''


@pytest.fixture
def pod_work():
    why = _missing_for_a_real_pod()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the pod's trust model cannot be tested here: {why}")
        pytest.skip(why)
    work = Path(tempfile.mkdtemp(prefix="pod-", dir="/tmp"))  # pytest's own tmp folders are root's alone
    os.chmod(work, 0o755)
    yield work
    shutil.rmtree(work, ignore_errors=True)


@pytest.mark.slow
def test_a_kernel_in_a_pod_reaches_neither_answers_nor_grader(pod_work):
    token = uuid.uuid4().hex[:8]
    subs, out = pod_work / "subs", pod_work / "out"
    notebooks = {"full": SOLUTION, "wrong": solved_except(TARGET, wrong(TARGET))}
    notebooks |= {name: solved_except(TARGET, attack(name, token)) for name in ATTACKS}
    for student, nb in notebooks.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / LESSON)
    out.mkdir()
    os.chown(out, NOBODY, NOBODY)  # the pod's emptyDir: the one place the grader writes
    for path in [pod_work, *pod_work.rglob("*")]:
        os.chmod(path, os.stat(path).st_mode | 0o555 if path.is_dir() else 0o644)
    env = {"PATH": os.environ["PATH"], "HOME": str(out), "TMPDIR": str(out), "LANG": "C.UTF-8"}
    keep = [sys.base_prefix, sys.prefix, str(ROOT), str(pod_work)]
    done = subprocess.run(
        ["unshare", "--mount", "--net", "--", sys.executable, "-c", AS_A_POD, str(pod_work), *keep, "--",
         sys.executable, "-m", "instructor_tools.grade", str(subs), "--out", str(out / "grades.csv"),
         "--sandbox", "pod", "--jobs", "2", "--timeout", "30"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = list(csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8")))
    assert rows and all(r["isolation"].startswith("pod: ") for r in rows), rows[:1]

    def earned(student: str, exercise: str) -> float:
        tests = {t.grade_id for t in THE_LESSON.tests if t.exercise == exercise}
        return sum(float(r["points"]) for r in rows if r["student_id"] == student and r["grade_id"] in tests)

    assert sum(float(r["points"]) for r in rows if r["student_id"] == "full") == THE_LESSON.max_points
    for student in ["wrong", *ATTACKS]:
        assert earned(student, TARGET) == 0, (student, [r for r in rows if r["student_id"] == student])
        for exercise in EXERCISES:
            if exercise != TARGET:
                assert earned(student, exercise) == POINTS[exercise], (student, exercise)
    assert not (ROOT / "helpers" / f"pwned-{token}.py").exists()
