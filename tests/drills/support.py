"""What every fault drill shares: the flow it runs, the wait for recovery and the figures it prints.

The drill flow alternates mapping steps that keep a worker busy with SQL steps that leave a row in
an external PostgreSQL table each time they really run. A step's row written after its StepRun was
recorded proves a finished step ran again; a missing StepRun proves a lost step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg
from django.db import InterfaceError, OperationalError, connection

from flows import engine
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping, sql

SPIN = '($x := $count($map([1..{n}], function($v){{ $v * 2 }})); {{"step": "{sid}", "spin": $x, "input": {prev}}})'
STEPS = 6
SQL_STEPS = ("s1", "s3", "s5")
STEP_IDS = [f"s{i}" for i in range(STEPS)]


def effect_flow(publish, connector, table: str, n: int = 15000):
    """Mapping steps that keep a worker busy for a moment, alternating with SQL steps that leave a trace.

    Every step uses the output of the one before it, so a resumed execution must feed later steps
    the recorded outputs of the steps finished before the interruption.
    """
    steps = []
    for i in range(STEPS):
        sid = f"s{i}"
        if sid in SQL_STEPS:
            statement = (
                f"INSERT INTO {table} (execution_id, step_id, input, at) "
                f"VALUES ({{{{ execution.id }}}}, '{sid}', {{{{ steps.s{i - 1}.step }}}}, clock_timestamp()) "
                f"RETURNING '{sid}' AS step"
            )
            steps.append(sql(sid, connector, statement, timeout_ms=10000, position={"x": 0, "y": i}))
        else:
            prev = f"steps.s{i - 1}.rows[0].step" if i else "trigger.payload.n"
            steps.append(mapping(sid, SPIN.format(n=n, sid=sid, prev=prev), y=i, timeout_ms=60000))
    return publish(graph(steps, chain(*STEP_IDS)))


def _reading(query):
    """``query()``, or None while the database is unreachable (a drill restarts it)."""
    try:
        return query()
    except (OperationalError, InterfaceError):
        connection.close()
        return None


def step_count(ids: list[int]) -> int | None:
    return _reading(lambda: StepRun.objects.filter(execution_id__in=ids).count())


def wait_for_progress(ids: list[int], since: int, timeout: float, diagnose) -> float:
    """Seconds until more than ``since`` steps of ``ids`` are recorded (or all are final); fails with
    ``diagnose()`` otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        count = step_count(ids)
        if count is not None and count > since:
            return time.monotonic() - started
        if _reading(lambda: not Execution.objects.filter(pk__in=ids).exclude(status__in=Execution.FINAL).exists()):
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"no step finished within {timeout} s after recovery\n{diagnose()}")


def wait_all_final(ids: list[int], timeout: float, diagnose) -> float:
    """Seconds until every execution of ``ids`` is final; fails naming the others and with ``diagnose()``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        left = _reading(lambda: Execution.objects.filter(pk__in=ids).exclude(status__in=Execution.FINAL).exists())
        if left is False:
            return time.monotonic() - started
        time.sleep(0.25)
    stuck = _reading(
        lambda: list(
            Execution.objects.filter(pk__in=ids)
            .exclude(status__in=Execution.FINAL)
            .values("pk", "status", "attempts", "heartbeat")
        )
    )
    raise AssertionError(f"after {timeout} s these executions are not final: {stuck}\n{diagnose()}")


def wait_mid_flight(ids: list[int], timeout: float, diagnose) -> None:
    """Until some executions have recorded steps while others are still running or queued."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        steps = step_count(ids) or 0
        if steps and Execution.objects.filter(pk__in=ids, status=Execution.Status.RUNNING).exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"the executions did not get under way within {timeout} s\n{diagnose()}")


@dataclass
class Figures:
    """The outcome of a drill for the executions it started."""

    started: int
    lost: list[int] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    incomplete: list[tuple] = field(default_factory=list)
    stopped_after_deliveries: list[int] = field(default_factory=list)
    rerun: list[tuple] = field(default_factory=list)
    interrupted_rerun: int = 0
    resumed: int = 0

    def print(self, drill: str, **times: float) -> None:
        timing = " ".join(f"{name}={seconds:.1f}s" for name, seconds in times.items())
        print(
            f"\n[drill] {drill}: executions={self.started} lost={len(self.lost)} stuck={len(self.stuck)} "
            f"incomplete={len(self.incomplete)} finished-steps-rerun={len(self.rerun)} "
            f"interrupted-steps-rerun={self.interrupted_rerun} resumed={self.resumed} "
            f"stopped-after-{engine.MAX_DELIVERIES}-deliveries={len(self.stopped_after_deliveries)} {timing}",
            flush=True,
        )

    def assert_clean(self, diagnose) -> None:
        problems = {
            "lost (row gone)": self.lost,
            "stuck in a non-final state": self.stuck,
            "final but not succeeded with every step": self.incomplete,
            "finished steps run again": self.rerun,
        }
        found = {name: items for name, items in problems.items() if items}
        assert not found, f"{found}\n{diagnose()}"


def figures(ids: list[int], effects: str, postgres_url: str) -> Figures:
    """Count lost, stuck and incomplete executions and finished steps run again.

    An execution is complete when it succeeded with every step recorded and its last output right,
    each mapping step having received its predecessor's recorded output. One stopped after
    ``MAX_DELIVERIES`` deliveries (its worker was killed each time) is counted apart: that is the
    engine's poison guard at work, not a loss.
    """
    found = {e.pk: e for e in Execution.objects.filter(pk__in=ids)}
    result = Figures(started=len(ids), lost=[pk for pk in ids if pk not in found])
    runs: dict[int, list[StepRun]] = {}
    for run in StepRun.objects.filter(execution_id__in=ids).order_by("execution_id", "position"):
        runs.setdefault(run.execution_id, []).append(run)
    for pk, execution in found.items():
        steps = runs.get(pk, [])
        if not execution.is_final:
            result.stuck.append(pk)
            continue
        if execution.attempts > engine.MAX_DELIVERIES and execution.status == Execution.Status.FAILED:
            result.stopped_after_deliveries.append(pk)
            continue
        complete = (
            execution.status == Execution.Status.SUCCEEDED
            and [r.step_id for r in steps] == STEP_IDS
            and (execution.output or {}).get("rows") == [{"step": STEP_IDS[-1]}]
            and [r.output["input"] for r in steps[2::2]] == list(SQL_STEPS[:-1])
            and [r.delivery for r in steps] == sorted(r.delivery for r in steps)
        )
        if not complete:
            result.incomplete.append((pk, execution.status, execution.error[:300], [r.step_id for r in steps]))
        if len({r.delivery for r in steps}) > 1:
            result.resumed += 1
    finished_at = {
        (r.execution_id, r.step_id): r.finished
        for steps in runs.values()
        for r in steps
        if r.status == StepRun.Status.SUCCEEDED
    }
    with psycopg.connect(postgres_url) as db:
        traces = db.execute(f"SELECT execution_id, step_id, at FROM {effects}").fetchall()  # noqa: S608
    seen: dict[tuple, int] = {}
    for execution_id, step_id, at in traces:
        key = (execution_id, step_id)
        seen[key] = seen.get(key, 0) + 1
        if key in finished_at and at > finished_at[key]:
            result.rerun.append((execution_id, step_id))
    missing = [key for key in finished_at if key[1] in SQL_STEPS and key not in seen]
    result.incomplete.extend(("recorded without a trace", key) for key in missing)
    result.interrupted_rerun = sum(count - 1 for count in seen.values())
    return result
