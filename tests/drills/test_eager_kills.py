"""Fault drill: the gunicorn worker running waited triggers (``flows.eager``) killed with SIGKILL mid-flow, ten times.

A waited REST trigger runs its execution in the web process, created already claimed (lease,
heartbeat, delivery 1). Clients keep posting waited triggers to a real gunicorn (one worker, so
every execution under way at a kill is in the killed process); each round waits until executions
of the current worker have finished a step and not all of them, then kills that worker. The
arbiter starts a new one; the stranded sweep (Celery beat) must send each execution the kill left
running without heartbeats to the Celery worker, which resumes it after its last finished step.

A client whose request the kill cut sends it again with the same deduplication id, as a real
client would, and so learns the id of the execution its first request created (or, when the kill
came before that was committed, starts it now). The flow has the shape of ``support.effect_flow``
(so ``support.figures`` judges it: none lost or stuck, every step recorded once and in order, no
finished SQL step's row written again), but its SQL steps sleep in PostgreSQL, so a kill finds
flows under way without spending the two cores on mapping steps. Only the step a kill interrupted
may have written its row twice: PostgreSQL finishes the statement of a client that is gone, and the
worker then runs that step again (at least once, as ``test_foreach_kills`` says for items).

The drill fails when the sweep does not hand stranded executions over: they stay running (attempts 1)
and ``wait_all_final`` names them; and each kill must have stranded an execution mid-flow that a
worker then resumed (its steps recorded by delivery 1 and by delivery 2).
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg
import pytest
from django.db.models import Count

from accounts.choices import Scope
from accounts.models import ApiToken
from flows import eager, versions
from flows.models import Execution, StepRun
from flows.plans import build
from tests.drills.gunicorn import Gunicorn
from tests.drills.support import SPIN, SQL_STEPS, STEP_IDS, figures, wait_all_final
from tests.flows.builders import chain, graph, mapping, sql
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROUNDS = 10
CLIENTS = 8
STEP_SLEEP = 0.3  # seconds each SQL step sleeps: a flow takes about a second
WAIT_SECONDS = 30  # a first request's wait: far longer than a flow, so none is handed over for its wait
RETRY_WAIT_SECONDS = 1  # a request sent again after a kill: enough to learn its execution's id
MID_FLOW = 2  # executions of the current worker with one or two steps finished before it is killed
KILL_DELAY = 0.5  # at most this long after that (at random) comes the kill: two more SQL steps keep them mid-flow


def sleepy_flow(publish, connector, table: str):
    """``support.effect_flow``'s six steps, its SQL steps sleeping ``STEP_SLEEP`` before their row is written.

    Their timeouts add up to less than ``WAIT_SECONDS`` by more than ``eager.MARGIN_MS``, so each run
    takes place in the request's own thread (``eager.fits``), as a short flow's does: the kill ends the
    request and its run at once."""
    steps = []
    for i, sid in enumerate(STEP_IDS):
        if sid in SQL_STEPS:
            statement = (
                f"INSERT INTO {table} (execution_id, step_id, input, at) "
                f"VALUES ({{{{ execution.id }}}}, '{sid}', {{{{ steps.s{i - 1}.step }}}}, "
                f"(SELECT clock_timestamp() FROM pg_sleep({STEP_SLEEP}))) RETURNING '{sid}' AS step"
            )
            steps.append(sql(sid, connector, statement, timeout_ms=5000, position={"x": 0, "y": i}))
        else:
            prev = f"steps.s{i - 1}.rows[0].step" if i else "trigger.payload.n"
            steps.append(mapping(sid, SPIN.format(n=200, sid=sid, prev=prev), y=i, timeout_ms=3000))
    flow = graph(steps, chain(*STEP_IDS))
    assert eager.fits(build(flow), WAIT_SECONDS), "the drill is of runs in the request thread"
    return publish(flow)


class Load:
    """Clients posting waited triggers, each with payload ``n`` and deduplication id ``drill-<n>``."""

    def __init__(self, port: int, slug: str, token: str):
        self.port, self.path = port, f"/api/v1/flows/{slug}/executions"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.ids: dict[int, int] = {}  # payload n -> execution id
        self.answers: Counter = Counter()  # (HTTP status, sent again?) -> count
        self.cut = 0  # requests the kills cut off
        self.finished_here = 0  # first requests answered with their execution final: run to the end in the web
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(WAIT_SECONDS + 60)

    def client(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT_SECONDS + 30)
        while not self.stopping.is_set():
            with self.lock:
                n = next(self.numbers)
            connection = self.trigger(connection, n)
        connection.close()

    def trigger(self, connection: http.client.HTTPConnection, n: int) -> http.client.HTTPConnection:
        """Post ``n`` until an answer comes; a cut request goes again, with its deduplication id."""
        wait, deadline = WAIT_SECONDS, time.monotonic() + 120
        while time.monotonic() < deadline:
            body = {"environment": "sandbox", "wait": wait, "payload": {"n": n}, "deduplication_id": f"drill-{n}"}
            try:
                connection.request("POST", self.path, body=json.dumps(body), headers=self.headers)
                response = connection.getresponse()
                data = json.loads(response.read())
            except (OSError, ValueError, http.client.HTTPException) as exc:
                connection.close()
                with self.lock:
                    self.cut += 1
                    if not isinstance(exc, (ConnectionError, http.client.IncompleteRead)):
                        self.errors.append(f"payload {n}: {type(exc).__name__}: {exc}")
                wait = RETRY_WAIT_SECONDS
                time.sleep(0.05)
                continue
            with self.lock:
                self.answers[(response.status, wait == RETRY_WAIT_SECONDS)] += 1
                if response.status in (200, 202) and "id" in data:
                    self.ids[n] = data["id"]
                    self.finished_here += wait == WAIT_SECONDS and data.get("status") in Execution.FINAL
                else:
                    self.errors.append(f"payload {n}: HTTP {response.status} {json.dumps(data)[:300]}")
            return connection
        with self.lock:
            self.errors.append(f"payload {n}: no answer within 120 s")
        return connection


@dataclass
class Round:
    """One kill: the worker killed, and the executions it left running (with their steps recorded then)."""

    pid: int
    at: float
    stranded: list[int]
    steps_at_kill: dict[int, int]
    handed: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)

    @property
    def mid_flow(self) -> int:
        return sum(1 for count in self.steps_at_kill.values() if 0 < count < len(STEP_IDS))


def under_way(flow, excluded: set[int]):
    """Executions of ``flow`` a gunicorn worker runs now: eager ones are running from their first delivery,
    which only the web process makes (a waited trigger never goes to the Celery queue at delivery 1)."""
    return (
        Execution.objects.filter(flow=flow, status=Execution.Status.RUNNING, attempts=1)
        .exclude(pk__in=excluded)
        .annotate(done=Count("steps"))
    )


def test_killing_the_web_worker_ten_times_mid_flow_loses_nothing_and_reruns_no_finished_step(
    publish, make_connector, effects, postgres_url, sandbox, org, owner, workers, tmp_path
):
    began = time.monotonic()
    connector = make_connector("postgres", postgres_url, [sandbox], name="Effects")
    version = sleepy_flow(publish, connector, effects)
    flow = version.flow
    versions.deploy(flow, version, sandbox, owner)
    _, token = ApiToken.issue(organization=org, user=owner, name="drill", scopes=[Scope.EXECUTIONS_RUN])

    # The web process shares the workers' settings: heartbeats every second (so the sweep, every 2 s,
    # finds a killed worker's executions 3 s after their last beat) and the workers' queue.
    env = {
        **workers.env,
        "ERPFLOW_EAGER_EXECUTION": "1",
        "ERPFLOW_VAR_DIR": str(tmp_path / "web-var"),
        "ERPFLOW_RATE_LIMIT_ORGANIZATION": "1000000",
        "ERPFLOW_RATE_LIMIT_TOKEN": "1000000",
    }
    web = Gunicorn(tmp_path / "web.log", env, workers=1, threads=CLIENTS + 2)
    load = Load(web.port, flow.slug, token)

    def diagnose() -> str:
        return (
            f"answers {dict(load.answers)} errors {load.errors[:5]}\n--- web log:\n{web.log()[-3000:]}\n"
            f"--- worker and beat logs:\n{workers.logs()[-3000:]}"
        )

    def waiting(condition, what: str) -> None:
        try:
            wait_until(condition, 60, message=what)
        except AssertionError as late:
            raise AssertionError(f"{late}\n{diagnose()}") from None

    rng = random.Random(18)
    rounds: list[Round] = []
    killed: set[int] = set()
    try:
        web.start()
        workers.start(concurrency=4)
        workers.start_beat()
        started = time.monotonic() - began
        load.start()
        for number in range(1, ROUNDS + 1):
            # The kill lands when executions the new worker runs have finished a step or two, at a
            # random moment within the next steps.
            mid_flow = under_way(flow, killed).filter(done__gt=0, done__lt=3)
            waiting(lambda q=mid_flow: q.count() >= MID_FLOW, f"{MID_FLOW} executions mid-flow before kill {number}")
            time.sleep(rng.uniform(0, KILL_DELAY))
            pid = web.kill_worker()
            # Read at once: the new worker cannot have started an execution yet.
            steps = dict(under_way(flow, killed).values_list("pk", "done"))
            rounds.append(Round(pid, time.monotonic() - began, sorted(steps), steps))
            killed |= set(steps)
        # The worker started after the last kill runs flows to their end in the web process.
        finished = load.finished_here
        waiting(lambda: load.finished_here > finished, "a flow run to its end by the last worker")
        load.stop()
        submitted = time.monotonic() - began
        drained = wait_all_final(list(load.ids.values()), 60, diagnose)
    finally:
        load.stopping.set()
        web.stop()

    # Every request has its execution, stored once and final: none lost, none created twice.
    ids = sorted(load.ids.values())
    assert not load.errors, diagnose()
    assert len(load.ids) == next(load.numbers), "every request a client made was answered with its execution"
    assert len(set(ids)) == len(ids), "two requests were answered with the same execution"
    stored = set(Execution.objects.filter(flow=flow).values_list("pk", flat=True))
    assert stored == set(ids), f"executions not answered to a client: {stored - set(ids)}; lost: {set(ids) - stored}"
    assert killed <= stored

    # support.figures: every execution succeeded with every step recorded once, in order, with the right
    # outputs; no SQL step's row written after its step was recorded (a finished step run again).
    outcome = figures(ids, effects, postgres_url)
    first_steps = StepRun.objects.filter(execution_id__in=ids, step_id="s0")
    first_inputs = dict(first_steps.values_list("execution_id", "output"))
    wrong_input = [(n, pk) for n, pk in load.ids.items() if (first_inputs.get(pk) or {}).get("input") != n]

    # Every execution a kill stranded was sent again by the sweep and finished by a Celery worker
    # (delivery 2 or later); those mid-flow then resumed after their last finished step.
    executions = {e.pk: e for e in Execution.objects.filter(pk__in=killed)}
    deliveries: dict[int, set[int]] = {}
    for pk, delivery in StepRun.objects.filter(execution_id__in=killed).values_list("execution_id", "delivery"):
        deliveries.setdefault(pk, set()).add(delivery)
    for kill in rounds:
        kill.handed = [pk for pk in kill.stranded if executions[pk].attempts > 1 and executions[pk].resent]
        kill.resumed = [pk for pk in kill.stranded if {1} < deliveries.get(pk, set())]
    total = time.monotonic() - began
    for number, kill in enumerate(rounds, 1):
        print(
            f"\n[drill] eager kill {number} (worker {kill.pid} at {kill.at:.1f}s): in flight={len(kill.stranded)} "
            f"mid-flow={kill.mid_flow} steps-done={sorted(kill.steps_at_kill.values())} "
            f"handed-to-workers={len(kill.handed)} resumed={len(kill.resumed)}",
            end="",
        )
    outcome.print(
        f"SIGKILL the gunicorn worker x{len(rounds)} mid-flow ({len(killed)} executions stranded, "
        f"{load.cut} requests cut, answers {dict(load.answers)})",
        started=started,
        submitted=submitted,
        recovery=drained,
        total=total,
    )
    outcome.assert_clean(diagnose)
    assert not wrong_input, f"executions fed another request's payload: {wrong_input[:5]}"
    for number, kill in enumerate(rounds, 1):
        assert kill.mid_flow, f"kill {number} landed mid-flow: {kill}"
        assert kill.handed == kill.stranded, f"kill {number}: every stranded execution went to the workers: {kill}"
        assert kill.resumed, f"kill {number}: a mid-flow execution resumed in a worker after its last step: {kill}"
    assert {executions[pk].attempts for pk in killed} == {2}, "one delivery in the web process, one in a worker"
    # The at-least-once boundary: only the step a kill interrupted may have written its row twice (its
    # statement finished after the worker's connection was gone, then the worker ran the step again).
    with psycopg.connect(postgres_url) as db:
        twice = db.execute(
            f"SELECT execution_id, count(*) FROM {effects} GROUP BY execution_id, step_id HAVING count(*) > 1"  # noqa: S608
        ).fetchall()
    assert all(pk in killed and count == 2 for pk, count in twice), twice
    assert len({pk for pk, _ in twice}) == len(twice), f"one interrupted step per stranded execution: {twice}"
    assert "recorded by another delivery" not in web.log() + workers.logs()
