"""Engine overhead per step: a 20-step flow of mapping steps run in-process, StepRuns stored in the database.

For every execution the wall time of ``engine.run`` is split into the steps' own work (the
recorded StepRun durations: building the properties and evaluating the JSONata mapping) and
everything else the engine does (claim, loading the version and variables, the control checks,
building and storing the StepRuns, finishing): the overhead. Mapping steps are pure, so their
records wait in memory and go with the finish in one statement (``flows.engine``, "Step
records"); the last line measures one record written alone, as a step that is not pure writes
it. Prints the median and p95 per step; target median overhead <= 0.3 ms per step. Uses
``DATABASE_URL`` (migrated first) and removes its data.

The wall time includes waiting for PostgreSQL, which on a machine shared with other work varies
with their load from one run to the next; the CPU time of the engine's own thread does not, so
the engine's CPU overhead per step is printed beside it (compare runs by that figure first).
``BENCH_PROFILE=<file>`` writes a cProfile of the measured executions (not the set-up) to that file.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/engine.py
"""

from __future__ import annotations

import cProfile
import os
import statistics
import sys
import time
from pathlib import Path

STEPS = 20
WARMUP = 20
EXECUTIONS = int(os.environ.get("BENCH_EXECUTIONS", "300"))


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # as in production: no per-query logging in memory

    call_command("migrate", verbosity=0, interactive=False)


def insert_floor(records, StepRun, Execution, organization, flow, version, environment) -> list[float]:
    """One step record written alone (``journal.write``), as a step that is not pure writes it: a round trip."""
    from django.utils import timezone

    execution = Execution.objects.create(
        organization=organization,
        flow=flow,
        version=version,
        environment=environment,
        trigger="api",
        status=Execution.Status.RUNNING,
        lease="floor",
    )
    times = []
    for n in range(300):
        now = timezone.now()
        record = StepRun(
            execution=execution,
            position=n,
            step_id=f"floor-{n}",
            name="floor",
            kind="mapping",
            status="succeeded",
            output={"n": n},
            started=now,
            finished=now,
            duration_ms=0,
        )
        began = time.perf_counter()
        assert records.journal.write([record], [False], execution.pk, "floor")
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Environment, Organization
    from flows import engine, records, versions
    from flows.models import Execution, Flow, StepRun

    user = get_user_model().objects.create_user(username=f"bench-engine-{os.getpid()}-{time.time_ns()}")
    organization = Organization.create("Engine benchmark", owner=user)
    try:
        environment = Environment.objects.get(organization=organization, slug="sandbox")
        steps = [
            {
                "id": f"s{i}",
                "kind": "mapping",
                "name": f"step {i}",
                "instruction": '{"n": trigger.payload.n}' if i == 0 else f'{{"n": steps.step_{i - 1}.n + 1}}',
                "position": {"x": 0, "y": i * 100},
            }
            for i in range(STEPS)
        ]
        edges = [{"source": f"s{i}", "target": f"s{i + 1}"} for i in range(STEPS - 1)]
        flow = Flow.objects.create(organization=organization, name="Twenty mappings", slug="twenty")
        problems = versions.save_draft(flow, {"steps": steps, "edges": edges}, user)
        assert not problems, problems
        version = versions.publish(flow, user, "bench")

        per_step_wall, per_step_work, per_step_overhead, per_step_cpu = [], [], [], []
        profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        for n in range(WARMUP + EXECUTIONS):
            if profile is not None and n == WARMUP:
                profile.enable()
            execution = Execution.objects.create(
                organization=organization,
                flow=flow,
                version=version,
                environment=environment,
                trigger=Execution.Trigger.API,
                input={"payload": {"n": n}, "headers": {}, "query": {}},
            )
            began, began_cpu = time.perf_counter(), time.thread_time()
            finished = engine.run(execution.pk)
            wall_ms = (time.perf_counter() - began) * 1000
            cpu_ms = (time.thread_time() - began_cpu) * 1000
            assert finished.status == Execution.Status.SUCCEEDED, finished.error
            if n < WARMUP:
                continue
            work_ms = sum(StepRun.objects.filter(execution=execution).values_list("duration_ms", flat=True))
            per_step_wall.append(wall_ms / STEPS)
            per_step_work.append(work_ms / STEPS)
            per_step_overhead.append((wall_ms - work_ms) / STEPS)
            per_step_cpu.append(cpu_ms / STEPS)
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])

        floor = insert_floor(records, StepRun, Execution, organization, flow, version, environment)

        def line(label: str, values: list[float]) -> str:
            ordered = sorted(values)
            p95 = ordered[int(len(ordered) * 0.95) - 1]
            return f"  {label:<28} median {statistics.median(values):6.3f} ms   p95 {p95:6.3f} ms"

        print(f"engine: {EXECUTIONS} executions of a {STEPS}-step mapping flow on {connection.vendor} (in-process)")
        print(line("wall time per step", per_step_wall))
        print(line("step work (render + JSONata)", per_step_work))
        print(line("engine overhead per step", per_step_overhead))
        print(line("CPU per step (engine + work)", per_step_cpu))
        print(line("one StepRun INSERT alone", floor))
        verdict = "meets" if statistics.median(per_step_overhead) <= 0.3 else "misses"
        print(f"  target: median overhead <= 0.3 ms per step ({verdict} it)")
    finally:
        Execution.objects.filter(organization=organization).delete()
        Flow.objects.filter(organization=organization).delete()
        organization.delete()
        user.delete()


if __name__ == "__main__":
    main()
