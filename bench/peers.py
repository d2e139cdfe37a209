"""erpflow's REST trigger side by side with a trivial Django view: the ratio is what issue #18 tracks.

Absolute figures move with the machine and with whatever else runs on it; a ratio to the web-stack
ceiling measured in the same run moves much less. The ceiling is ``bench/peer_site``: one Django
view that parses the trigger's body, adds ``"seen": true`` to its payload and answers it as JSON,
persisting nothing, served by the same gunicorn command line as erpflow (2 workers x 8 threads). erpflow
is served as ``bench/trigger.py`` serves it with eager execution on (PostgreSQL, Redis, a Celery
worker) and answers ``POST /api/v1/flows/bench/executions`` with ``wait`` from its one-step mapping flow.

For each, once its processes are idle (booted) and after a 1 s warm-up, wrk drives 10 clients for
``BENCH_SECONDS`` (10) s, then 1 client for 5 s. Printed: requests per second at 10 clients, p50 at
10 and at 1 client, CPU per request of the web processes (of the 10-client run) and, for erpflow, of
web, worker, PostgreSQL and Redis together; then erpflow's ratio to the peer for each, and the load
average at the start and the end.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/peers.py

Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.trigger import (  # noqa: E402 - the repository root is on the path now
    ADD_FIELD,
    BIN,
    ROOT,
    SECONDS,
    WARMUP_SECONDS,
    WEB_THREADS,
    WEB_WORKERS,
    WrkRun,
    cpu_seconds,
    create_fixture,
    drive_wrk,
    free_port,
    report_wrk,
    server_pids,
    serving,
    setup_django,
)

BUSY_CLIENTS, SINGLE_CLIENT_SECONDS = 10, 5.0
EXPECT = '"seen":true'  # in both answers: erpflow's execution output and the peer's payload
SERVED = ("web", "worker")  # the processes started for the run; PostgreSQL and Redis serve other work too
SETTLE_INTERVAL, IDLE_SHARE = 0.5, 0.04  # idle: under 4 % of a core over half a second


@dataclass
class Figures:
    """One site's two wrk runs and the CPU seconds each measured process used in the 10-client run."""

    busy: WrkRun
    single: WrkRun
    cpu: dict[str, float]

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.busy.requests if self.busy.requests else float("nan")


@contextmanager
def serving_peer(log_dir: Path):
    """The peer site under gunicorn with ``bench/trigger.py``'s workers, threads and log level; yields
    the port and gunicorn's process id."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.peer_site.settings"}
    command = [
        str(BIN / "gunicorn"), "bench.peer_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS),
        "--threads", str(WEB_THREADS), "--log-level", "warning",
    ]  # fmt: skip
    with open(log_dir / "peer.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit(f"the peer's gunicorn did not start; see {log_dir / 'peer.log'}") from None
                    time.sleep(0.1)
            yield port, process.pid
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def settle(pids: list[int]) -> None:
    """Wait (up to 30 s) until the served processes are idle: gunicorn's workers and the Celery worker
    boot after the port opens, and requests a wrk run cut off still finish after it; neither belongs to
    the next run's CPU per request."""
    deadline = time.monotonic() + 30
    used = sum(cpu_seconds(pid) for pid in pids)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_INTERVAL)
        now = sum(cpu_seconds(pid) for pid in pids)
        if now - used < SETTLE_INTERVAL * IDLE_SHARE:
            return
        used = now


def timed_run(port: int, target, clients: int, seconds: float, pids: dict[str, int], log_dir: Path):
    """Once the served processes are idle, one wrk run; returns it, the CPU seconds each process of
    ``pids`` (and its children) used during it, and when it started (after the settling)."""
    settle([pids[name] for name in SERVED if name in pids])
    since = datetime.now(UTC)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    run = drive_wrk(port, target, clients, seconds, EXPECT, log_dir)
    return run, {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}, since


def measure_peer(log_dir: Path) -> Figures:
    # drive_wrk reads only the token and the flow's slug; the peer checks neither.
    target = SimpleNamespace(token="peer", flow=SimpleNamespace(slug="bench"))
    with serving_peer(log_dir) as (port, pid):
        print(f"peer: trivial Django view, gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, nothing persisted")
        settle([pid])
        drive_wrk(port, target, BUSY_CLIENTS, WARMUP_SECONDS, EXPECT, log_dir)
        busy, cpu, _ = timed_run(port, target, BUSY_CLIENTS, SECONDS, {"web": pid}, log_dir)
        single, _, _ = timed_run(port, target, 1, SINGLE_CLIENT_SECONDS, {"web": pid}, log_dir)
    figures = Figures(busy, single, cpu)
    for run in (busy, single):
        print(
            f"peer: {run.clients:>2} client{'s' if run.clients > 1 else ' '}  {run.requests / run.seconds:8.1f} req/s"
            f"   p50 {run.p50_ms:7.2f} ms   p99 {run.p99_ms:7.2f} ms   ({run.requests} answered, {run.wrong} wrong)"
        )
    print(f"    CPU per request (ms): web {figures.per_request_ms(cpu['web']):6.2f}")
    return figures


def measure_erpflow(log_dir: Path) -> Figures:
    fixture = create_fixture("peers", ADD_FIELD)
    try:
        with serving(log_dir, {"ERPFLOW_EAGER_EXECUTION": "1"}) as (port, pids):
            pids = {**pids, **server_pids()}
            print(
                f"erpflow [eager]: gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, PostgreSQL + Redis, "
                "a Celery worker"
            )
            settle([pids[name] for name in SERVED])
            drive_wrk(port, fixture, BUSY_CLIENTS, WARMUP_SECONDS, EXPECT, log_dir)
            runs = []
            for clients, seconds in ((BUSY_CLIENTS, SECONDS), (1, SINGLE_CLIENT_SECONDS)):
                run, cpu, since = timed_run(port, fixture, clients, seconds, pids, log_dir)
                report_wrk("erpflow [eager]", run, fixture, since, cpu)
                runs.append((run, cpu))
    finally:
        fixture.remove()
    (busy, cpu), (single, _) = runs
    return Figures(busy, single, cpu)


def print_ratios(peer: Figures, erpflow: Figures) -> None:
    rows = [
        (f"req/s at {BUSY_CLIENTS} clients", peer.busy.requests / peer.busy.seconds,
         erpflow.busy.requests / erpflow.busy.seconds),
        (f"p50 at {BUSY_CLIENTS} clients (ms)", peer.busy.p50_ms, erpflow.busy.p50_ms),
        ("p50 at 1 client (ms)", peer.single.p50_ms, erpflow.single.p50_ms),
        ("web CPU per request (ms)", peer.per_request_ms(peer.cpu["web"]), erpflow.per_request_ms(erpflow.cpu["web"])),
        ("all CPU per request (ms)", peer.per_request_ms(sum(peer.cpu.values())),
         erpflow.per_request_ms(sum(erpflow.cpu.values()))),
    ]  # fmt: skip
    print(f"{'':28}{'peer':>10}{'erpflow':>10}{'erpflow/peer':>14}")
    for name, peer_value, erpflow_value in rows:
        ratio = erpflow_value / peer_value if peer_value else float("nan")
        print(f"{name:28}{peer_value:10.2f}{erpflow_value:10.2f}{ratio:14.3f}")
    print("    all CPU: the peer's web alone; erpflow's web, Celery worker, PostgreSQL and Redis")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    if not shutil.which("wrk"):
        print("bench/peers.py needs wrk on the PATH (Debian's wrk package); skipped")
        return
    setup_django()
    print(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="erpflow-bench-") as tmp:
        peer = measure_peer(Path(tmp))
        erpflow = measure_erpflow(Path(tmp))
    print_ratios(peer, erpflow)
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
