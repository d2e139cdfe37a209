"""Worker memory over many executions: does anything grow per execution?

Runs ``SOAK_EXECUTIONS`` (default 50,000) executions of a flow of five mappings and a for-each
(three items, two at a time, so the process's item pool is used) through
``engine.run`` in this process, from ``SOAK_THREADS`` (default 8) threads as a Celery worker with
8 threads would, each thread recycling its database connection between executions as the worker's
task hooks do (``config.celery.between_tasks``). The first step reads a secret variable, so every execution builds
its masker and masks a step output. Prints the process's resident memory every 5,000 executions;
the target is a flat line after the warm-up, below 300 MB. ``DEBUG`` is taken from the settings as
the worker would (``DEBUG=0`` for production); the run prints which. Uses ``DATABASE_URL``
(migrated first) and removes its data.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/soak.py
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

EXECUTIONS = int(os.environ.get("SOAK_EXECUTIONS", "50000"))
THREADS = int(os.environ.get("SOAK_THREADS", "8"))
EVERY = int(os.environ.get("SOAK_EVERY", "5000"))
STEPS = 5
RECORDS = STEPS + 1 + 3  # the mappings, the for-each, its body once per item


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def rss_mb() -> float:
    """Resident memory of this process, from /proc (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Environment, Organization, Variable
    from config.celery import between_tasks
    from flows import engine, versions
    from flows.models import Execution, Flow, StepRun

    user = get_user_model().objects.create_user(username=f"bench-soak-{os.getpid()}-{time.time_ns()}")
    organization = Organization.create("Soak benchmark", owner=user)
    try:
        environment = Environment.objects.get(organization=organization, slug="sandbox")
        token = Variable(organization=organization, environment=environment, key="API_TOKEN", secret=True)
        token.set_value("soak-secret-value-1234")
        token.save()
        steps = [
            {
                "id": f"s{i}",
                "kind": "mapping",
                "name": f"step {i}",
                "instruction": (
                    '{"n": trigger.payload.n, "token": env.API_TOKEN, "lines": [1, 2, 3]}'
                    if i == 0
                    else f'{{"n": steps.step_{i - 1}.n + 1, "lines": steps.step_{i - 1}.lines}}'
                ),
                "position": {"x": 0, "y": i * 100},
            }
            for i in range(STEPS)
        ]
        steps += [
            {"id": "loop", "kind": "foreach", "name": "loop", "items": f"{{{{ steps.step_{STEPS - 1}.lines }}}}",
             "batch_size": 1, "concurrency": 2, "position": {"x": 0, "y": STEPS * 100}},
            {"id": "line", "kind": "mapping", "name": "line", "group": "loop",
             "instruction": '{"line": item, "at": index}', "position": {"x": 0, "y": 0}},
        ]  # fmt: skip
        edges = [{"source": f"s{i}", "target": f"s{i + 1}"} for i in range(STEPS)]
        edges[-1]["target"] = "loop"
        flow = Flow.objects.create(organization=organization, name="Soak", slug="soak")
        problems = versions.save_draft(flow, {"steps": steps, "edges": edges}, user)
        assert not problems, problems
        version = versions.publish(flow, user, "bench")

        lock = threading.Lock()
        started = iter(range(EXECUTIONS))
        state = {"done": 0, "failed": 0, "next_report": EVERY, "began": time.perf_counter()}
        print(
            f"soak: {EXECUTIONS} executions of a {STEPS}-mapping flow with a for-each of 3 items, "
            f"{THREADS} threads, in-process on {connection.vendor}; DEBUG {'on' if settings.DEBUG else 'off'}"
        )
        print(f"  {'executions':>10}  {'RSS MB':>8}  {'exec/s':>7}")
        print(f"  {0:>10}  {rss_mb():>8.1f}  {'':>7}", flush=True)

        def worker() -> None:
            try:
                while True:
                    with lock:
                        n = next(started, None)
                    if n is None:
                        return
                    between_tasks()  # as the worker's task hooks do around each task
                    execution = Execution.objects.create(
                        organization=organization,
                        flow=flow,
                        version=version,
                        environment=environment,
                        trigger=Execution.Trigger.API,
                        input={"payload": {"n": n}, "headers": {}, "query": {}},
                    )
                    finished = engine.run(execution.pk)
                    between_tasks()
                    with lock:
                        state["done"] += 1
                        state["failed"] += finished.status != Execution.Status.SUCCEEDED
                        if state["done"] >= state["next_report"]:
                            state["next_report"] += EVERY
                            rate = state["done"] / (time.perf_counter() - state["began"])
                            print(f"  {state['done']:>10}  {rss_mb():>8.1f}  {rate:>7.0f}", flush=True)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, name=f"soak-{i}") for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        recorded = StepRun.objects.filter(execution__organization=organization).count()
        print(f"  {state['done']} executions, {state['failed']} not succeeded, {recorded} step records")
        assert recorded == state["done"] * RECORDS, f"expected {RECORDS} step records per execution"
        print(f"  target: flat after warm-up, below 300 MB (now {rss_mb():.1f} MB)")
    finally:
        StepRun.objects.filter(execution__organization=organization).delete()
        Execution.objects.filter(organization=organization).delete()
        Flow.objects.filter(organization=organization).delete()
        organization.delete()
        user.delete()


if __name__ == "__main__":
    main()
