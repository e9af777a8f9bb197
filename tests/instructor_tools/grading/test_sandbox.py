"""The kernel's sandbox, attacked from inside with tiny notebooks: reads, writes, network, processes, disk, memory.

Each test runs one sandboxed kernel through ``run_cells`` and checks from the grader's side
what the kernel could reach. They need bubblewrap (``apt-get install bubblewrap``); where it
is missing they are skipped with that instruction, except under CI, where that fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid

import pytest

from helpers import ROOT
from instructor_tools.grading import Limits
from instructor_tools.grading.runner import run_cells


@pytest.fixture
def batch(tmp_path):
    os.chmod(tmp_path, 0o711)  # as the grader makes its batch folder
    return tmp_path


def outcome(result: dict) -> str:
    return result["status"] if result["status"] != "error" else f"error {result['ename']}"


def test_nothing_of_the_host_is_readable_or_writable(isolation, batch):
    secret, public = batch / "secret.txt", batch / "public.txt"
    secret.write_text("s3cret")
    public.write_text("anyone may read this")
    os.chmod(secret, 0o600)
    os.chmod(public, 0o644)
    attempts = {  # each must fail: the file is not in the sandbox, or not writable there
        "a root-only file": f"open({str(secret)!r}).read()",
        "a world-readable file beside the batch": f"open({str(public)!r}).read()",
        "the solutions": f"open({str(ROOT / 'solutions' / '02_upsampling_from_scratch.ipynb')!r}).read()",
        "the course's own helpers": f"open({str(ROOT / 'helpers' / 'reference.py')!r}).read()",
        "the passwords": "open('/etc/shadow').read()",
        "writing into its package": "open('/course/helpers/pwned.py', 'w')",
        "writing the data": "open('/course/data/pwned', 'w')",
        "making its package unreadable": "import os; os.chmod('/course/helpers/checks.py', 0)",
        "writing the Python installation": f"open({os.path.join(os.path.dirname(os.__file__), 'pwned.py')!r}, 'w')",
    }
    own = ("import os, tempfile\nopen('mine.txt', 'w').write('ok')\n"
           "open(os.path.join(tempfile.gettempdir(), 'x'), 'w').write('ok')\nassert os.getcwd().startswith('/job')")
    results = run_cells(batch, "t", [*attempts.values(), own], Limits(timeout=20, isolation=isolation))
    for what, r in zip(attempts, results):
        assert r["status"] == "error" and r["ename"] in ("FileNotFoundError", "PermissionError", "OSError"), (what, r)
    assert results[-1]["status"] == "ok", results[-1]  # its own folder and TMPDIR are writable
    assert not (ROOT / "helpers" / "pwned.py").exists()


def test_no_network_and_no_grader_in_sight(isolation, batch):
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(1)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(batch / "grader.sock"))
    unix.listen()
    attempts = {
        "TCP to the host": f"import socket; socket.create_connection(('127.0.0.1', {tcp.getsockname()[1]}), 2)",
        "TCP out": "import socket; socket.create_connection(('1.1.1.1', 443), 2)",
        "a Unix socket of the host": ("import socket; socket.socket(socket.AF_UNIX)"
                                      f".connect({str(batch / 'grader.sock')!r})"),
        "the grader's process": f"open('/proc/{os.getpid()}/cmdline').read()",
        "a signal to the grader": f"import os, signal; os.kill({os.getpid()}, signal.SIGTERM)",
    }
    udp_send = f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', {udp.getsockname()!r})"
    listing = ("import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\nassert len(pids) < 10, pids\n"
               "commands = [open(f'/proc/{p}/cmdline').read() for p in pids]\n"
               "assert not any(w in c for c in commands for w in ('grading.kernel', '-m\\0pytest')), commands")
    results = run_cells(batch, "t", [*attempts.values(), udp_send, listing], Limits(timeout=20, isolation=isolation))
    for what, r in zip(attempts, results):
        assert r["status"] == "error", (what, r)
    with pytest.raises(TimeoutError):  # sent into a network namespace of its own: nothing arrives
        udp.recv(10)
    assert results[-1]["status"] == "ok", (results[-1].get("ename"), results[-1].get("evalue"))  # its own few
    for s in (tcp, udp, unix):
        s.close()


def test_disk_threads_and_detached_children_are_bounded_and_die_with_the_job(isolation, batch):
    token = f"course-survivor-{uuid.uuid4().hex[:8]}"
    cells = [
        "f = open('/job/tmp/big', 'wb')\nfor _ in range(200):\n    f.write(b'x' * (1 << 20))",  # 200 MB > 64 MB
        f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {token!r}],"
        " start_new_session=True)",
        "import threading, time\nfor _ in range(600):\n    threading.Thread(target=time.sleep, args=(60,)).start()",
        "import os\nassert os.getuid() != 0\nprint(os.getuid())",
    ]
    results = run_cells(batch, "t", cells, Limits(timeout=20, disk_mb=64, processes=256, isolation=isolation))
    assert outcome(results[0]) == "error OSError"  # no space left on its tmpfs
    assert results[1]["status"] == "ok"  # a detached process...
    assert outcome(results[2]) == "error RuntimeError"  # can't start new thread: the job's own process limit
    assert results[3]["status"] == "ok"
    survivors = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True).stdout.split()
    assert survivors == []


def test_each_job_has_a_uid_of_its_own_when_graded_as_root(isolation, batch):
    cell = "from helpers import checks\nimport os\nchecks.check_value(os.getuid(), None, name='uid')"
    uids = [run_cells(batch, "t", [cell], Limits(timeout=20, isolation=isolation))[0]["probes"][0]
            for _ in range(2)]
    if isolation.as_root:
        assert uids[0] != uids[1] and '"value": 0' not in uids[0]
    else:  # an unprivileged user namespace keeps the grader's uid; the watchdog bounds the processes
        assert uids[0] == uids[1] and f'"value": {os.getuid()}' in uids[0]


def test_all_processes_of_a_job_together_are_held_to_its_memory(isolation, batch):
    cells = ["import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n        kept = b'x' * (600 << 20)\n"
             "        time.sleep(30)\n        os._exit(0)\ntime.sleep(20)", "1 + 1"]
    results = run_cells(batch, "t", cells, Limits(timeout=25, memory_mb=2048, isolation=isolation))
    assert results[0]["status"] == "died" and "the kernel ran out of its 2048 MB of memory" in results[0]["reason"]
    assert results[1]["status"] == "ok"  # a new kernel, and the rest of the notebook went on


def test_the_whole_run_has_a_budget(isolation, batch):
    cells = ["import time; time.sleep(4)"] * 6
    results = run_cells(batch, "t", cells, Limits(timeout=5, budget=14, isolation=isolation))
    assert [r["status"] for r in results[:2]] == ["ok", "ok"]
    assert {r["status"] for r in results[3:]} == {"timeout"}
    assert all("time budget of 14 s" in r["reason"] for r in results[3:])


def test_links_and_modes_left_in_its_folders_change_nothing_outside(isolation, batch):
    """What a kernel leaves in the one host folder it may write (its sockets') is removed without following it."""
    victim_dir = batch / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "file.txt"
    victim.write_text("keep me")
    os.chmod(victim, 0o600)
    before = [(p.stat().st_mode, p.stat().st_uid) for p in (victim_dir, victim)]
    # Where the system has Landlock, the socket folder takes sockets only: each step may be refused.
    cell = f"""
import json, os, ipykernel.connect
runtime = os.path.dirname(json.load(open(ipykernel.connect.get_connection_file()))["ip"])  # its socket folder
for step in (lambda: os.symlink({str(victim)!r}, os.path.join(runtime, "link")),
             lambda: os.symlink({str(victim_dir)!r}, os.path.join(runtime, "dir")),
             lambda: os.mkdir(os.path.join(runtime, "locked")),
             lambda: os.symlink({str(victim)!r}, os.path.join(runtime, "locked", "inner")),
             lambda: os.chmod(os.path.join(runtime, "locked"), 0),
             lambda: os.chmod(runtime, 0o777)):
    try:
        step()
    except OSError as exc:
        print("refused:", exc)
"""
    results = run_cells(batch, "t", [cell], Limits(timeout=20, isolation=isolation))
    assert results[0]["status"] == "ok", results[0]
    assert victim.read_text() == "keep me"
    assert [(p.stat().st_mode, p.stat().st_uid) for p in (victim_dir, victim)] == before
    assert [p.name for p in batch.iterdir()] == ["victim"]  # the job folder is gone, links and all


def test_unsandboxed_still_grades_with_the_limits_it_can_keep(batch):
    """``--unsandboxed``: no bubblewrap, but the kernel runs, times out, and (with Landlock) writes only its folder."""
    from instructor_tools.grading.isolation import Isolation
    from instructor_tools.grading.sandbox import landlock_abi

    cells = ["open('mine.txt', 'w').write('ok')", f"open({str(batch / 'outside.txt')!r}, 'w')",
             "while True:\n    pass", "from helpers import checks\nchecks.check_value(1 + 1, None, name='alive')"]
    results = run_cells(batch, "t", cells, Limits(timeout=3, isolation=Isolation("none", None, os.geteuid() == 0)))
    assert [r["status"] for r in results[::2]] == ["ok", "timeout"] and results[3]["status"] == "ok"
    if landlock_abi():
        assert outcome(results[1]) == "error PermissionError" and not (batch / "outside.txt").exists()
    else:  # the risk --unsandboxed names: nothing stops it
        assert results[1]["status"] == "ok"
