"""Grading as a Slurm job array, for real: a one-node cluster on this machine, the script the docs give.

The fixture starts munged, slurmctld and slurmd as root with a configuration written into a temporary
folder (``ProctrackType=proctrack/linuxproc`` and ``TaskPlugin=task/none``: no cgroups needed, which
containers often have read-only), on free ports, and stops them after. The test grades a small batch of
lesson 02 whole, then submits ``deploy/slurm/grade.sbatch`` with ``sbatch --array=0-2 --wait``, merges
the three shards with ``python -m instructor_tools.merge`` and finds the merged gradebook and totals equal
to the whole ones, row for row. Slurm's and the grader's logs are printed (``pytest -rP`` shows them).

It needs Debian's ``slurm-wlm`` and ``munge`` and root: without them it is skipped saying so, except under
``CI``, where that fails (``.ci/run`` installs them).
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from planted_lesson import LESSON, SOLUTION, STUDENT, TARGET, TIMEOUT, solved_except, wrong

from helpers import ROOT
from instructor_tools.grading.shards import INDEX_VARIABLES, shard_of

SBATCH = ROOT / "deploy" / "slurm" / "grade.sbatch"
SHARDS = 3
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "sinfo")


def _missing() -> str | None:
    tools = [t for t in (*DAEMONS, *CLIENTS) if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]
    if tools:
        return f"{', '.join(tools)} missing: apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "a one-node Slurm cluster is started here as root (SlurmUser=root)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _daemon(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _config(folder: Path, host: str) -> str:
    memory_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return f"""\
ClusterName=grading
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge.socket
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory_mb} State=UNKNOWN
PartitionName=grading Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture
def slurm(tmp_path):
    """A one-node cluster (munged, slurmctld, slurmd) for this test; yields the environment its commands need."""
    why = _missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the Slurm test cannot run: {why}")
        pytest.skip(why)
    folder = tmp_path / "slurm"
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True)
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    host = socket.gethostname().split(".")[0]  # slurmctld runs only where its host name is SlurmctldHost
    conf = folder / "slurm.conf"
    conf.write_text(_config(folder, host))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for name in INDEX_VARIABLES:  # the array sets the index; one of the test's own must not stand in for it
        env.pop(name, None)
    log = open(folder / "daemons.log", "w")
    daemons = [subprocess.Popen([_daemon("munged"), "--foreground", "--force", f"--key-file={key}",
                                 f"--socket={folder}/munge.socket", f"--pid-file={folder}/munged.pid",
                                 f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"],
                                stdout=log, stderr=subprocess.STDOUT)]
    try:
        _wait_for(lambda: (folder / "munge.socket").exists(), "munged's socket")
        daemons += [subprocess.Popen([_daemon(name), "-D", "-f", str(conf)], env=env, stdout=log,
                                     stderr=subprocess.STDOUT) for name in ("slurmctld", "slurmd")]
        _wait_for(lambda: subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                         text=True).stdout.strip() == "idle", "the node to be idle")
        yield env, folder
    finally:
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        log.close()
        print("--- slurmctld.log (tail)", *_tail(folder / "slurmctld.log"), "--- slurmd.log (tail)",
              *_tail(folder / "slurmd.log"), sep="\n", file=sys.stderr)


def _wait_for(ready, what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise TimeoutError(f"the one-node Slurm cluster did not start: waited {timeout:g} s for {what}")
        time.sleep(0.5)


def _tail(path: Path, lines: int = 15) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else [f"({path.name}: none)"]


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(newline="", encoding="utf-8")))


def _students() -> dict[str, object]:
    """Two students per shard, solved, untouched and wrong in turn: every shard grades something."""
    kinds = [SOLUTION, STUDENT, solved_except(TARGET, wrong(TARGET))]
    per_shard: dict[int, list[str]] = {i: [] for i in range(SHARDS)}
    for n in range(200):
        name = f"student{n:03d}"
        share = per_shard[shard_of(name, LESSON, SHARDS)]
        if len(share) < 2:
            share.append(name)
    names = sorted(n for share in per_shard.values() for n in share)
    return {name: kinds[i % len(kinds)] for i, name in enumerate(names)}


@pytest.mark.slow
def test_an_sbatch_array_grades_shards_that_merge_into_the_whole_gradebook(slurm, tmp_path):
    env, folder = slurm
    env = {**env, "COURSE_COMMIT": "slurm-test", "VIRTUAL_ENV": sys.prefix,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    submissions = tmp_path / "submissions"
    for student, nb in _students().items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(nb, submissions / student / LESSON)
    options = ["--lessons", LESSON[:2], "--timeout", str(TIMEOUT)]

    whole = tmp_path / "whole" / "grades.csv"
    whole.parent.mkdir()
    done = subprocess.run([sys.executable, "-m", "instructor_tools.grade", str(submissions), "--out", str(whole),
                           "--jobs", "2", *options], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    results = tmp_path / "results"
    start = time.monotonic()
    done = subprocess.run(["sbatch", f"--array=0-{SHARDS - 1}", "--wait", f"--output={folder}/task-%A_%a.log",
                           str(SBATCH), str(submissions), str(results), *options],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    took = time.monotonic() - start
    logs = sorted(folder.glob("task-*.log"))
    print(f"$ sbatch --array=0-{SHARDS - 1} --wait deploy/slurm/grade.sbatch ... ({took:.0f} s)",
          done.stdout.strip(), done.stderr.strip(),
          *(f"--- {log.name}\n{log.read_text(errors='replace').strip()}" for log in logs), sep="\n", file=sys.stderr)
    assert done.returncode == 0, done.stderr
    assert len(logs) == SHARDS
    for i in range(SHARDS):
        assert f"shard {i} of {SHARDS} (index from SLURM_ARRAY_TASK_ID)" in logs[i].read_text()

    merged = tmp_path / "merged.csv"
    shards = [results / f"shard-{i}" for i in range(SHARDS)]
    done = subprocess.run([sys.executable, "-m", "instructor_tools.merge", *map(str, shards), "--out", str(merged),
                           "--expect", str(submissions)], cwd=ROOT, env=env, capture_output=True, text=True)
    print("$ python -m instructor_tools.merge RESULTS/shard-* --out merged.csv --expect SUBMISSIONS",
          done.stderr.strip(), sep="\n", file=sys.stderr)
    assert done.returncode == 0, done.stderr
    shares = [len(rows(s / "grades.csv")) for s in shards]
    assert all(shares) and sum(shares) == len(rows(whole))
    assert rows(merged) == rows(whole)
    assert rows(merged.with_name("merged_totals.csv")) == rows(whole.with_name("grades_totals.csv"))
    assert {r["status"] for r in rows(merged)} == {"passed", "failed", "not_attempted"}
    print(f"merged gradebook: {len(rows(merged))} rows, equal to the whole run's row for row; rows per shard "
          f"{shares}", file=sys.stderr)
