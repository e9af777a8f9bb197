"""Run one assembled notebook in a fresh, sandboxed kernel: ``python -m instructor_tools.grading.kernel``.

The grader starts this module as a worker process per submission (it reads a job as JSON
on stdin and writes the results as JSON on stdout), so that whatever a submission sends
back (hundreds of megabytes of output, a kernel that dies) costs a worker, never the
grader. The worker talks to the kernel with jupyter_client directly rather than nbclient,
because grading needs control that a notebook runner does not give:

* a per-cell timeout that interrupts, then kills a kernel that ignores the interrupt;
* a kernel that dies (``os._exit``, a crash, the memory limit) is restarted and the
  cells before the fatal one are replayed, so one exercise cannot zero the others;
* outputs are counted and dropped beyond a budget; only the grading probes are kept;
* the worker ends with the grader (``--parent``): a grader that is killed leaves no worker
  behind, and a worker that ends stops its kernel;
* the worker's own memory is bounded whatever the kernel sends: no message larger than
  ``max_message_bytes`` is read (ZeroMQ drops the connection, and the kernel is stopped with
  a reason that says so), few are queued (a receive high-water mark), and the worker's
  address space is capped (``WORKER_ADDRESS_SPACE_MB``, a backstop: the worker imports no framework);
* the whole run, kernel starts, restarts and shutdown included, ends within ``budget_s`` of
  ``started`` (the grader's clock reading when it started the worker): at the budget the kernel
  is killed at once, with no interrupt and grace period;
* the kernel's own stderr is kept as a tail of a few KB (read from a pipe), never written on the host.

Each cell's result: ``status`` (``ok``, ``error``, ``timeout``, ``died``, ``not_run``),
``ename``/``evalue`` of an error, the probe payloads it displayed (raw JSON text, decoded
and compared by the grader, never here), how many output bytes were dropped, and the
worker's own ``reason`` where it knows one: why a kernel died or was stopped (the memory
watchdog, the time budget), that an error means the kernel ran out of memory, or that a
timeout came while the kernel was at a memory limit (it thrashed). A reason
names the limit it is about, so that a death is never mistaken for the errors that follow it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from queue import Empty

import zmq
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec

from .watchdog import Watchdog

PROBE_MIME = "application/vnd.course.probe+json"  # the same as helpers.checks.PROBE_MIME
MAX_RESTARTS = 3
INTERRUPT_GRACE_S = 5.0
START_TIMEOUT_S = 60.0
_PR_SET_PDEATHSIG = 1
#: Messages ZeroMQ queues per socket before it drops (iopub) or holds back (shell) the kernel's next ones.
RECEIVE_HWM = 8
#: The kernel's stderr kept (its tail), for the reason a kernel did not start.
STDERR_TAIL_BYTES = 4096
#: The worker's address space: its Python, jupyter_client and ZeroMQ, plus what it may queue and decode
#: (``RECEIVE_HWM`` messages of ``max_message_bytes`` on a socket, each decoded once).
WORKER_ADDRESS_SPACE_MB = 1536  # 350 MB mapped when idle

#: How libraries say that an allocation failed: NumPy and Python (``MemoryError``), PyTorch
#: ("DefaultCPUAllocator: can't allocate memory", ``OutOfMemoryError``), TensorFlow
#: (``ResourceExhaustedError``, "OOM when allocating"), C++ (``std::bad_alloc``).
OUT_OF_MEMORY_ERRORS = ("MemoryError", "OutOfMemoryError", "ResourceExhaustedError")
OUT_OF_MEMORY_WORDS = re.compile(r"(can'?t|cannot|unable to|failed to) allocate|out of memory|bad_alloc|"
                                 r"\bOOM when allocating", re.IGNORECASE)


def out_of_memory(ename: str, evalue: str) -> bool:
    """Whether an error is an allocation that failed."""
    return ename in OUT_OF_MEMORY_ERRORS or bool(OUT_OF_MEMORY_WORDS.search(evalue[:1000]))


def death_reason(exit_code: int | None, memory_mb: int) -> str:
    """Why a kernel that the watchdog did not stop probably died: its exit code, and the memory it was allowed."""
    if exit_code == -signal.SIGKILL:  # not the watchdog's (it says so) nor a timeout's: the system's OOM killer
        return (f"the kernel was killed (SIGKILL), most likely because the machine ran out of memory "
                f"(a kernel may use {memory_mb} MB)")
    return (f"the kernel died (exit code {exit_code if exit_code is not None else '?'}): os._exit, a crash, "
            f"or more memory than its {memory_mb} MB")


class _SandboxedKernelManager(KernelManager):
    """A kernel manager whose kernel command is the job's launcher (bubblewrap, then :mod:`sandbox`)."""

    launcher: list[str] = []

    @property
    def kernel_spec(self):  # the spec is built here, not looked up in the user's Jupyter folders
        argv = [*self.launcher, "--connection-file", "{connection_file}", "--",
                sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        # Interrupts travel as messages: a signal to the launcher would not reach a kernel in its own PID namespace.
        return KernelSpec(argv=argv, display_name="course grader", language="python", interrupt_mode="message")


class StderrTail(threading.Thread):
    """Read a pipe to its end, keeping only its last ``STDERR_TAIL_BYTES``: the kernel's stderr, bounded."""

    def __init__(self, fd: int):
        super().__init__(daemon=True)
        self.fd, self.tail = fd, b""

    def run(self) -> None:
        """Read until every writer (the kernel and what it started) has closed the pipe."""
        with open(self.fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                self.tail = (self.tail + chunk)[-STDERR_TAIL_BYTES:]

    def last_lines(self, n: int = 2) -> str:
        """The last ``n`` lines kept, as one short line."""
        return " | ".join(self.tail.decode(errors="replace").strip().splitlines()[-n:])[-300:]


def empty(folder: Path) -> None:
    """Remove what ``folder`` holds, keeping the folder (and its owner); by file descriptor, never through a link."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for entry in os.scandir(fd):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.name, dir_fd=fd, ignore_errors=True)
            else:
                try:
                    os.unlink(entry.name, dir_fd=fd)
                except OSError:
                    pass
    finally:
        os.close(fd)


def bounded_context(max_message_bytes: int) -> zmq.Context:
    """A ZeroMQ context whose sockets read no message part over ``max_message_bytes`` and queue few messages.

    Set on the context, the options hold for every socket made from it, before it connects (the
    client's channels, the manager's control socket): a larger message drops the connection unread.
    """
    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
    context.setsockopt(zmq.RCVHWM, RECEIVE_HWM)
    return context


class Kernel:
    """One kernel process plus its client; ``run`` executes one cell under the limits."""

    def __init__(self, job: dict):
        self.job = job
        self.km: _SandboxedKernelManager | None = None
        self.kc = None
        self.watchdog: Watchdog | None = None
        self.stderr: StderrTail | None = None
        self.context = bounded_context(job.get("max_message_bytes", 256 << 20))
        self._monitors: list[zmq.Socket] = []
        # The whole run's, restarts included, from when the grader started this worker (the same clock: Linux's
        # CLOCK_MONOTONIC is the system's).
        self.deadline = job.get("started", time.monotonic()) + job.get("budget_s", float("inf"))

    def left(self) -> float:
        """Seconds left of the whole run's budget."""
        return self.deadline - time.monotonic()

    def start(self) -> None:
        """Start the sandboxed kernel and wait until it answers; :class:`RuntimeError` if it does not."""
        job = self.job
        runtime = Path(job["runtime_dir"])
        runtime.mkdir(parents=True, exist_ok=True)
        empty(runtime)  # what an earlier kernel left there (its sockets, what it wrote) would count against this one
        name = f"kernel-{time.monotonic_ns()}"
        # Unix sockets in the job's runtime folder, not TCP: the kernel has no network at all.
        km = _SandboxedKernelManager(connection_file=str(runtime / f"{name}.json"), transport="ipc",
                                     ip=str(runtime / "k"), context=self.context)  # sockets k-1, k-2...: short
        km.launcher = job["launcher"]
        # The kernel's own stdout/stderr (os.write(1, ...), C libraries) bypass the output budget: stdout goes
        # to /dev/null, stderr to a pipe of which the worker keeps the tail; nothing of it is written on the host.
        read_end, write_end = os.pipe()
        try:
            with open(os.devnull, "wb") as devnull:
                km.start_kernel(env=job["env"], cwd=job["cwd"], stdout=devnull, stderr=write_end)
        finally:
            os.close(write_end)
        self.stderr = StderrTail(read_end)
        self.stderr.start()
        # The grader kills this process group if the worker itself has to be killed.
        (Path(job["pid_dir"]) / f"{name}.pid").write_text(str(km.provisioner.pgid or km.provisioner.pid))
        # Above the launcher's own limit (counted per uid, without bubblewrap's two processes): where the uid is the
        # job's own, the kernel's limit holds first; where it is not, the watchdog is the bound.
        self.watchdog = Watchdog(km.provisioner.pid, job["memory_mb"], job["processes"] + 16,
                                 disk_mb=job.get("disk_mb"), disk_folders=job.get("disk_folders", ()),
                                 tmpfs=job.get("tmpfs"))
        self.watchdog.start()
        self.km, self.kc = km, km.client(context=self.context)
        self.kc.start_channels()
        # A connection dropped while the kernel lives: ZeroMQ refused a message over max_message_bytes.
        self._monitors = [channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                          for channel in (self.kc.iopub_channel, self.kc.shell_channel)]
        try:
            self.kc.wait_for_ready(timeout=max(min(START_TIMEOUT_S, self.left()), 0.1))
        except RuntimeError as exc:
            self.stop()
            if self.left() <= 0:
                raise TimeoutError(self._over_budget()["reason"]) from None
            tail = self.stderr.last_lines()
            raise RuntimeError(f"the kernel did not start: {exc}" + (f" ({tail})" if tail else "")) from None

    def sent_too_much(self) -> bool:
        """Whether a connection to the kernel was dropped (ZeroMQ does so on a message over the size limit)."""
        dropped = False
        for monitor in self._monitors:
            try:
                while monitor.recv_multipart(zmq.NOBLOCK):
                    dropped = True
            except zmq.Again:
                pass
        return dropped

    def stop(self) -> None:
        """Shut the kernel down, and kill whatever it left in its process group."""
        if self.watchdog is not None:
            self.watchdog.stop()
        for monitor in self._monitors:
            monitor.close(linger=0)
        self._monitors = []
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            pgid = getattr(self.km.provisioner, "pgid", None)
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
                pass
            if pgid:  # whatever the kernel started in its process group goes with it
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass
        self.km = self.kc = None

    def alive(self) -> bool:
        """Whether the kernel process is still running."""
        return self.km is not None and self.km.is_alive()

    def run(self, code: str, timeout: float, budget: dict) -> dict:
        """Execute ``code``; never raises for anything the code does."""
        kc = self.kc
        if self.watchdog is not None:
            self.watchdog.reset_peaks()
        msg_id = kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        result = {"status": None, "probes": [], "dropped_bytes": 0}
        start = time.monotonic()
        deadline, interrupted = min(start + timeout, self.deadline), False
        reply, idle = None, False
        while reply is None or not idle:
            now = time.monotonic()
            if now > deadline:
                # It ignored the interrupt, or the whole run's budget is spent: the kernel has to go, at once.
                if interrupted or now >= self.deadline:
                    self.stop()
                    return {**result, "status": "timeout", "killed": True, "seconds": round(now - start, 1),
                            **self._timeout_reason(timeout)}
                self.km.interrupt_kernel()
                interrupted, deadline = True, min(now + INTERRUPT_GRACE_S, self.deadline)
            if self.sent_too_much():
                time.sleep(0.5)  # a kernel that died drops its connections too: that is a death, said below
                if self.alive():
                    self.stop()
                    return {**result, "status": "died", "exit_code": None, "reason": self._too_much_reason()}
            if not idle:
                try:
                    msg = kc.get_iopub_msg(timeout=0.2)
                except Empty:
                    msg = None
                if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                    idle = self._output(msg, result, budget)
            if reply is None:
                try:
                    shell = kc.get_shell_msg(timeout=0 if not idle else 0.2)
                    if shell.get("parent_header", {}).get("msg_id") == msg_id:
                        reply = shell["content"]
                except Empty:
                    pass
            if (reply is None or not idle) and not self.alive():
                code_ = self.km.provisioner.process.poll() if self.km and self.km.provisioner else None
                killed = self.watchdog.reason if self.watchdog else None
                self.stop()
                return {**result, "status": "died", "exit_code": code_,
                        "reason": killed or death_reason(code_, self.job["memory_mb"])}
        result["seconds"] = round(time.monotonic() - start, 1)
        if interrupted:
            result.update(status="timeout", **self._timeout_reason(timeout))
        elif reply.get("status") == "ok":
            result["status"] = "ok"
        else:
            result.update(status="error", ename=str(reply.get("ename", ""))[:200],
                          evalue=str(reply.get("evalue", ""))[:1000])
            if out_of_memory(result["ename"], result["evalue"]):
                result["reason"] = (f"the kernel ran out of memory ({result['ename']}): it may use "
                                    f"{self.job['memory_mb']} MB")
        return result

    def _too_much_reason(self) -> str:
        return (f"the kernel was stopped: it sent more than the grader reads (a message part over "
                f"{self.job.get('max_message_bytes', 0) >> 20} MB, or more than the grader's worker may hold)")

    def _timeout_reason(self, timeout: float) -> dict:
        """Why a cell ran out of time, where more is known than its time: the budget, or a memory limit."""
        return self._over_budget() or self._at_memory_limit(timeout)

    def _at_memory_limit(self, timeout: float) -> dict:
        """The reason to add to a timeout reached while the kernel was at a memory limit (it thrashed, not looped)."""
        watchdog, job = self.watchdog, self.job
        if watchdog is None:
            return {}
        mapped, resident = watchdog.peak_mapped >> 20, watchdog.peak_resident >> 20
        if mapped >= 0.9 * job.get("address_space_mb", float("inf")):
            return {"reason": f"stopped after {timeout:g} s at its memory limit: a process had mapped {mapped} MB "
                              f"of the {job['address_space_mb']} MB of address space each may map, so its "
                              "allocations were failing"}
        if resident >= 0.9 * job["memory_mb"]:
            return {"reason": f"stopped after {timeout:g} s at its memory limit: the kernel used {resident} MB "
                              f"of its {job['memory_mb']} MB"}
        return {}

    def _over_budget(self) -> dict:
        """The reason to add to a timeout that the whole run's budget caused."""
        if time.monotonic() < self.deadline:
            return {}
        return {"reason": f"the submission used up the grader's time budget of {self.job['budget_s']:g} s"}

    @staticmethod
    def _output(msg: dict, result: dict, budget: dict) -> bool:
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "status":
            return content.get("execution_state") == "idle"
        if kind in ("display_data", "update_display_data") and PROBE_MIME in content.get("data", {}):
            text = content["data"][PROBE_MIME]
            text = text if isinstance(text, str) else json.dumps(text)
            if len(text) <= budget["probe_bytes"]:
                budget["probe_bytes"] -= len(text)
                result["probes"].append(text)
            else:
                result["dropped_bytes"] += len(text)
                result["probe_overflow"] = True
        elif kind in ("stream", "display_data", "execute_result", "error", "update_display_data"):
            # Ordinary output is not needed to grade: it is only counted (and dropped).
            size = len(json.dumps(content)) if kind != "stream" else len(content.get("text", ""))
            result["dropped_bytes"] += size
        return False


def run_job(job: dict) -> list[dict]:
    """Execute ``job["cells"]`` in order; restart after a fatal cell and replay the ones before it."""
    kernel = Kernel(job)
    try:
        return _run_cells(kernel, job)
    finally:  # whatever ends the worker (its grader gone, SIGTERM) ends its kernel too
        kernel.stop()
        kernel.context.destroy(linger=0)


def _run_cells(kernel: Kernel, job: dict) -> list[dict]:
    cells: list[str] = job["cells"]
    results: list[dict | None] = [None] * len(cells)
    fatal: set[int] = set()
    budget = {"probe_bytes": job["probe_budget_bytes"]}
    restarts, last_death = 0, ""
    while True:
        if time.monotonic() > kernel.deadline:  # no time left to (re)start a kernel
            reason = kernel._over_budget()["reason"]
            return [r or {"status": "timeout", "reason": reason, "probes": []} for r in results]
        try:
            kernel.start()
        except TimeoutError as exc:  # the budget ran out while the kernel started
            return [r or {"status": "timeout", "reason": str(exc), "probes": []} for r in results]
        except RuntimeError as exc:
            for i, r in enumerate(results):
                if r is None:
                    results[i] = {"status": "not_run", "reason": str(exc), "probes": []}
            return results
        broke = False
        for i, code in enumerate(cells):
            if i in fatal:
                continue
            if time.monotonic() > kernel.deadline:  # the budget is spent: what has not run, does not
                kernel.stop()
                reason = kernel._over_budget()["reason"]
                return [r or {"status": "timeout", "reason": reason, "probes": []} for r in results]
            replay = results[i] is not None
            if replay and results[i]["status"] == "timeout":
                continue  # rebuilding the state must not cost the timeout again
            outcome = kernel.run(code, job["timeout"], {"probe_bytes": float("inf")} if replay else budget)
            if not replay:
                results[i] = outcome
            if not kernel.alive():  # died, or killed after ignoring the interrupt
                fatal.add(i)
                last_death = outcome.get("reason") or f"cell {i + 1}: {outcome.get('status')}"
                broke = True
                break
        if not broke:
            kernel.stop()
            return results
        restarts += 1
        if restarts > MAX_RESTARTS:
            for i, r in enumerate(results):
                if r is None:
                    results[i] = {"status": "not_run", "probes": [],
                                  "reason": f"the kernel died {restarts} times (the last time: {last_death})"}
            return results


def _end_with(parent: int) -> None:
    """End this worker (SIGTERM, then its kernel with it) when ``parent``, the grader, ends, however it ends.

    The worker leads a process group of its own, so neither a Ctrl-C nor a grader killed
    outright reaches it; Linux's parent-death signal does (``prctl(PR_SET_PDEATHSIG)``).
    """
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the grader was already gone before the signal was asked for
        sys.exit(1)


def bound_own_memory(megabytes: int) -> None:
    """Cap this worker's address space: a backstop under the message limits (what the kernel sends is read here).

    Only the soft limit: the kernel's launcher, started from here, sets its own (far higher) limit.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = megabytes << 20 if hard == resource.RLIM_INFINITY else min(megabytes << 20, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through run_job's finally: the kernel is stopped


def main(argv: list[str] | None = None) -> int:
    """The worker: a job as JSON on stdin, ``{"cells": results}`` as JSON on stdout; 0 once they are written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parent", type=int, help="the grader's pid: the worker ends when it does")
    args = parser.parse_args(argv)
    if args.parent:
        _end_with(args.parent)
    job = json.load(sys.stdin)
    bound_own_memory(job.get("worker_address_space_mb", WORKER_ADDRESS_SPACE_MB))
    try:
        results = run_job(job)
    finally:
        shutil.rmtree(job["runtime_dir"], ignore_errors=True)
    json.dump({"cells": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
