"""Real Celery worker processes for durability tests, started against the test database.

Each worker listens on a queue of its own test run (so nothing else on the broker reaches it),
uses Redis as the broker with a short visibility timeout (so a killed worker's executions are
delivered again within seconds), and short heartbeats (so a lease is stale quickly). Its output
goes to a log file the test can read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.conftest import TEST_NETWORK_POLICY

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"


def database_url() -> str:
    """The URL of the database this test process uses (pytest-django's test database)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Starts, kills and stops worker processes; every process it started is gone when it closes."""

    def __init__(self, broker_url: str, log_dir: Path, *, visibility_seconds: int = 4, heartbeat_seconds: int = 1):
        self.queue = f"erpflow-test-{uuid.uuid4().hex[:12]}"
        self.broker_url = broker_url
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            **TEST_NETWORK_POLICY,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "ERPFLOW_BROKER_VISIBILITY_SECONDS": str(visibility_seconds),
            "ERPFLOW_BROKER_RESTORE_SECONDS": "1",
            "ERPFLOW_EXECUTION_HEARTBEAT_SECONDS": str(heartbeat_seconds),
            "ERPFLOW_ENCRYPTION_KEYS": ",".join(settings.ERPFLOW_ENCRYPTION_KEYS),
            "SECRET_KEY": settings.SECRET_KEY,
            "ERPFLOW_VAR_DIR": str(log_dir / "var"),
            "ERPFLOW_WORKER_HEARTBEAT_SECONDS": "60",
            "ERPFLOW_EXECUTION_QUEUE": self.queue,
            # With ``start_beat``: look for stranded executions every 2 s, sent again after 8 s.
            "ERPFLOW_STRANDED_SWEEP_SECONDS": "2",
            "ERPFLOW_EXECUTION_STRANDED_SECONDS": "8",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, concurrency: int = 4, loglevel: str = "WARNING", *, on: tuple[str, ...] = ()) -> subprocess.Popen:
        """A worker; ``on`` is a command prefix that runs it elsewhere (tests/drills/netns.py: another host)."""
        n = len(self.processes) + 1
        log = open(self.log_dir / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [
                *on,
                str(CELERY),
                "-A",
                "config",
                "worker",
                "-Q",
                self.queue,
                "-P",
                "threads",
                "-c",
                str(concurrency),
                "-n",
                f"{self.queue}-{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                loglevel,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log = log
        self.processes.append(process)
        return process

    def start_beat(self, *, on: tuple[str, ...] = ()) -> subprocess.Popen:
        """Celery beat, as production runs it: its periodic sweeps go to these workers' queue."""
        log = open(self.log_dir / "worker-beat.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [*on, str(CELERY), "-A", "config", "beat", "--pidfile=", "--loglevel", "INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log = log
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """``kill -9``: no chance to finish, acknowledge or clean up anything."""
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process.log.close()

    def enqueue(self, execution_id: int) -> None:
        from config.celery import app
        from flows.tasks import run_execution

        with app.connection_for_write(self.broker_url) as broker:
            run_execution.apply_async((execution_id,), queue=self.queue, connection=broker)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log")))

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            process.log.close()
        import redis

        client = redis.Redis.from_url(self.broker_url)
        client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")
        for tag, payload in client.hscan_iter("unacked"):
            if self.queue.encode() in payload:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def wait_until(condition, timeout: float, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
