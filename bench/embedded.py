"""The `make run` embedded default under load: SQLite and the filesystem broker, served by ``bin/run``.

``bin/run`` is started exactly as `make run` starts it, in a temporary ``var/`` (SQLite database,
broker folders, secrets): gunicorn, one Celery worker, beat and mock-sap under bin/supervise.py. The
same REST trigger flow as bench/trigger.py (one mapping step adding a field, ``wait`` for the answer)
is driven by 1 and 10 keep-alive clients for ``BENCH_SECONDS`` (10 s) each, then by 10 clients for
``BENCH_ENDURANCE_SECONDS`` (60 s): that run must not fail. Prints executions per second and p50/p99,
whether every answered execution is stored with its StepRun, and what went wrong in the served
processes: errors answered, a child the supervisor had to restart, a worker's "Unrecoverable error",
broker messages set aside as undecodable.

    .venv/bin/python bench/embedded.py

Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.trigger import ADD_FIELD, create_fixture, drive, free_port, percentile  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ENDURANCE_SECONDS = float(os.environ.get("BENCH_ENDURANCE_SECONDS", "60"))
CLIENTS = tuple(int(n) for n in os.environ.get("BENCH_CLIENTS", "1,10").split(","))
# What the served processes' output shows when a part of the embedded set-up failed.
TROUBLE = {
    "children restarted": re.compile(r"WARNING supervise .* restarting it"),
    "unrecoverable worker errors": re.compile(r"Unrecoverable error"),
    "broker messages set aside": re.compile(r"Set aside broker message"),
    "tracebacks": re.compile(r"^Traceback", re.MULTILINE),
}


def embedded_environment(var_dir: Path) -> dict[str, str]:
    """`make run`'s environment: no database, broker or Redis given, everything under ``var_dir``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "ERPFLOW_ENCRYPTION_KEYS")
    }
    env.update(
        {
            "ERPFLOW_VAR_DIR": str(var_dir),
            "PORT": str(free_port()),
            "ERPFLOW_DEMO_SAP_PORT": str(free_port()),
            "PYTHON": sys.executable,
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


@contextmanager
def make_run(var_dir: Path):
    """``bin/run`` in a session of its own, until /healthz answers; yields its port and log file."""
    env = embedded_environment(var_dir)
    log_path = var_dir / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bin/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{env['PORT']}/healthz", timeout=5).read()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"bin/run did not come up; see {log_path}") from None
                    time.sleep(0.5)
            yield int(env["PORT"]), log_path
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def setup_django(var_dir: Path) -> None:
    """This process on the same SQLite database as the served app (to create the fixture, count rows)."""
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "ERPFLOW_ENCRYPTION_KEYS"):
        os.environ.pop(key, None)
    os.environ["ERPFLOW_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def report(label: str, run, steps: int) -> None:
    from flows.models import Execution, StepRun

    latencies = [(s.received - s.sent) * 1000 for s in run.samples]
    ids = [s.execution_id for s in run.samples]
    succeeded = Execution.objects.filter(pk__in=ids, status="succeeded").count()
    step_runs = StepRun.objects.filter(execution_id__in=ids).count()
    verdict = "all persisted" if succeeded == len(ids) and step_runs == len(ids) * steps else "MISSING ROWS"
    print(
        f"{label}: {run.clients:>2} client{'s' if run.clients > 1 else ' '} {run.seconds:4.0f} s  "
        f"{len(run.samples) / run.seconds:7.1f} executions/s   p50 {percentile(latencies, 0.5):7.2f} ms   "
        f"p99 {percentile(latencies, 0.99):7.2f} ms   ({len(run.samples)} executions, {len(run.errors)} errors; "
        f"{succeeded} succeeded, {step_runs} StepRuns: {verdict})",
        flush=True,
    )
    for error in run.errors[:3]:
        print(f"    error: {error}")


def check(data: dict, n: int) -> bool:
    return data.get("status") == "succeeded" and data.get("output", {}).get("n") == n


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="erpflow-embedded-") as tmp:
        var_dir = Path(tmp)
        with make_run(var_dir) as (port, log_path):
            setup_django(var_dir)
            fixture = create_fixture("embedded", ADD_FIELD)
            print(
                "embedded (`make run`): SQLite + filesystem broker, gunicorn 2 workers x 4 threads, "
                f"1 Celery worker x {os.environ.get('ERPFLOW_WORKER_CONCURRENCY', '8')} threads"
            )
            drive(port, fixture, max(CLIENTS), 1.0, check)
            for clients in CLIENTS:
                report("embedded", drive(port, fixture, clients, SECONDS, check), fixture.steps)
            report("embedded endurance", drive(port, fixture, 10, ENDURANCE_SECONDS, check), fixture.steps)
            output = log_path.read_text(errors="replace")
        found = "   ".join(f"{name} {len(pattern.findall(output))}" for name, pattern in TROUBLE.items())
        print(f"    served processes' output: {found}")


if __name__ == "__main__":
    from django.conf import settings

    if settings.configured:
        # Under `make bench` an earlier benchmark set Django up in this process on PostgreSQL; this one
        # needs the embedded defaults, so it runs in a process of its own.
        subprocess.run([sys.executable, __file__], check=False)
    else:
        main()
