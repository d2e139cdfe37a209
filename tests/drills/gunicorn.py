"""A gunicorn arbiter whose worker a drill kills: the arbiter stays and starts a new worker, as in production.

``servers.AppProcess`` serves the app for drills that never kill it; this one knows its worker
processes (the arbiter's children, read from ``/proc``) so a drill can SIGKILL the worker running
the requests while the arbiter, holding the listening socket, keeps new connections waiting for
the worker it starts next.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.drills.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    """``(ppid, state)`` from ``/proc/<pid>/stat``, or None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
    return int(fields[1]), fields[0]


class Gunicorn:
    """``gunicorn config.wsgi`` with ``workers`` worker processes of ``threads`` threads, its output in ``log``."""

    def __init__(self, log: Path, env: dict[str, str], *, workers: int = 1, threads: int = 8):
        self.log_path = log
        self.env = env
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(self.workers), "--threads", str(self.threads), "--graceful-timeout", "5"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.process.log = log
        wait_for_port(self.port, 60, what="gunicorn")

    def worker_pids(self) -> list[int]:
        """The arbiter's live worker processes."""
        pids = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                found = _parent_and_state(int(entry.name))
                if found is not None and found[0] == self.process.pid and found[1] != "Z":
                    pids.append(int(entry.name))
        return pids

    def kill_worker(self, timeout: float = 30) -> int:
        """SIGKILL a worker once one is serving, and wait until it is dead; returns its pid."""
        deadline = time.monotonic() + timeout
        while not (pids := self.worker_pids()):
            assert time.monotonic() < deadline, f"gunicorn has no worker after {timeout} s"
            time.sleep(0.05)
        victim = pids[0]
        os.kill(victim, signal.SIGKILL)
        while (found := _parent_and_state(victim)) is not None and found[1] != "Z":
            assert time.monotonic() < deadline, f"gunicorn worker {victim} still alive after SIGKILL"
            time.sleep(0.01)
        return victim

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process.log.close()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
