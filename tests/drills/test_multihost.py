"""Fault drill across hosts: gunicorn on one host, a Celery worker on each of two others, one host lost.

The hosts are network namespaces of this machine (tests/drills/netns.py); PostgreSQL and Redis are
reached from them over the network, through relays on the bridge's gateway address, as separate
servers would be. Every process runs with ``ERPFLOW_MULTI_HOST=1``, so the configuration is the one
the start-up checks accept for several hosts. Executions are triggered over HTTP, half waited for
and half not, and spread over both workers; in the middle of the run every process of one worker
host is killed with SIGKILL. None may be lost, no step may be recorded twice as succeeded nor a
finished SQL step run again, and the surviving worker finishes the rest (the broker redelivers the
lost host's unacknowledged messages; beat's stranded sweep sends again what it lost otherwise).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from accounts.choices import Scope
from accounts.models import ApiToken
from flows import versions
from flows.models import Execution, StepRun
from tests.drills.netns import Network, can_make_hosts
from tests.drills.servers import wait_for_port
from tests.flows.builders import chain, graph, mapping, sql
from tests.flows.workers import ROOT, Workers, database_url

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXECUTIONS = int(os.environ.get("ERPFLOW_DRILL_EXECUTIONS", "2000"))
WAITED_CLIENTS, UNWAITED_CLIENTS = 10, 4
WAIT_SECONDS = 20
WEB_PORT = 8000
STEP_IDS = ["s0", "s1", "s2"]
DONE = re.compile(r"Task flows\.tasks\.run_execution\[[^\]]+\] succeeded")


def drill_flow(publish, connector, table: str):
    """A mapping step, an SQL step leaving a row in ``table`` each time it really runs, and a mapping step
    that needs both earlier outputs (so a resumed execution must be fed the recorded ones)."""
    insert = (
        f"INSERT INTO {table} (execution_id, step_id, input, at) "
        "VALUES ({{ execution.id }}, 's1', {{ steps.s0.n }}, clock_timestamp()) RETURNING 's1' AS step"
    )
    return publish(
        graph(
            [
                mapping("s0", '{"n": trigger.payload.n, "spin": $count($map([1..300], function($v){ $v * 2 }))}'),
                sql("s1", connector, insert, timeout_ms=10000, position={"x": 0, "y": 1}),
                mapping("s2", '{"n": steps.s0.n, "after": steps.s1.rows[0].step}', y=2),
            ],
            chain(*STEP_IDS),
        )
    )


@pytest.fixture
def network():
    reason = can_make_hosts()
    if reason:
        pytest.skip(f"the multi-host drill cannot make hosts here: {reason}")
    net = Network()
    try:
        yield net
    finally:
        net.destroy()


class Load:
    """Clients posting to the web host: ``waited`` with ``wait`` and the rest without, numbered 0..n-1."""

    def __init__(self, address: str, slug: str, token: str, total: int):
        self.address, self.path, self.total = address, f"/api/v1/flows/{slug}/executions", total
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.numbers = iter(range(total))
        self.lock = threading.Lock()
        self.ids: dict[int, int] = {}  # payload n -> execution id
        self.answers: Counter = Counter()
        self.errors: list[str] = []

    def client(self, wait: int) -> None:
        connection = http.client.HTTPConnection(self.address, WEB_PORT, timeout=WAIT_SECONDS + 30)
        while True:
            with self.lock:
                n = next(self.numbers, None)
            if n is None:
                break
            body = json.dumps({"environment": "sandbox", "wait": wait, "payload": {"n": n}})
            try:
                connection.request("POST", self.path, body=body, headers=self.headers)
                response = connection.getresponse()
                data = json.loads(response.read())
            except (OSError, ValueError, http.client.HTTPException) as exc:
                connection.close()
                with self.lock:
                    self.errors.append(f"payload {n}: {type(exc).__name__}: {exc}")
                continue
            with self.lock:
                self.answers[(wait > 0, response.status)] += 1
                if response.status in (200, 202) and "id" in data:
                    self.ids[n] = data["id"]
                else:
                    self.errors.append(f"payload {n}: HTTP {response.status} {json.dumps(data)[:200]}")
        connection.close()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.client, args=(WAIT_SECONDS,)) for _ in range(WAITED_CLIENTS)]
        threads += [threading.Thread(target=self.client, args=(0,)) for _ in range(UNWAITED_CLIENTS)]
        for thread in threads:
            thread.start()
        return threads


def succeeded_tasks(log: Path) -> int:
    return len(DONE.findall(log.read_text(errors="replace"))) if log.exists() else 0


def test_losing_a_worker_host_mid_run_loses_nothing_and_the_other_host_finishes(
    network, publish, make_connector, effects, postgres_url, redis_url, sandbox, org, owner, tmp_path
):
    web, left, right = network.add_host("web"), network.add_host("w1"), network.add_host("w2")
    db_relay = network.relay(int(settings.DATABASES["default"]["PORT"] or 5432), tmp_path / "relay-pg.log")
    redis_port = int(redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    redis_relay = network.relay(redis_port, tmp_path / "relay-redis.log")
    redis_db = redis_url.rsplit("/", 1)[1]

    # The app's database and the effects database as the other hosts reach them: over the gateway.
    connector = make_connector("postgres", postgres_url.replace("127.0.0.1", network.gateway), [sandbox])
    version = drill_flow(publish, connector, effects)
    versions.deploy(version.flow, version, sandbox, owner)
    _, token = ApiToken.issue(organization=org, user=owner, name="drill", scopes=[Scope.EXECUTIONS_RUN])

    pool = Workers(redis_url, tmp_path)
    pool.env.update(
        {
            "ERPFLOW_MULTI_HOST": "1",
            # The drill is about losing a worker host: waited triggers go through the workers too, not
            # run in the web process (flows.eager), so both worker hosts carry the load.
            "ERPFLOW_EAGER_EXECUTION": "0",
            # Celery's line per task succeeded, which the drill counts per host, is logged from INFO up.
            "LOG_LEVEL": "INFO",
            "DATABASE_URL": database_url().replace("127.0.0.1", network.gateway),
            "CELERY_BROKER_URL": f"redis://{redis_relay}/{redis_db}",
            "REDIS_URL": f"redis://{redis_relay}/{redis_db}",
            "ERPFLOW_DATA_DIR": str(tmp_path / "shared-data"),
            "ERPFLOW_EGRESS_ALLOWED_NETWORKS": f"{network.gateway}/32",
            "ERPFLOW_EGRESS_ALLOW_INTERNAL": db_relay,
            "ALLOWED_HOSTS": web.address,
            "ERPFLOW_RATE_LIMIT_ORGANIZATION": "1000000",
            "ERPFLOW_RATE_LIMIT_TOKEN": "1000000",
        }
    )
    server = web.popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"0.0.0.0:{WEB_PORT}",
            "--workers",
            "2",
            "--threads",
            "8",
        ],
        tmp_path / "web.log",
        cwd=ROOT,
        env=pool.env,
    )
    try:
        pool.start_beat(on=web.enter)
        doomed = pool.start(loglevel="INFO", on=left.enter)
        survivor = pool.start(loglevel="INFO", on=right.enter)
        left_log, right_log = Path(doomed.log.name), Path(survivor.log.name)
        wait_for_port(WEB_PORT, 90, what="gunicorn on the web host", host=web.address)

        def diagnose() -> str:
            logs = {path.name: path.read_text(errors="replace")[-1500:] for path in sorted(tmp_path.glob("*.log"))}
            shown = "\n".join(f"--- {name}:\n{text}" for name, text in logs.items())
            return f"answers {dict(load.answers)}, errors {load.errors[:3]}\n{shown}"

        load = Load(web.address, version.flow.slug, token, EXECUTIONS)
        began = time.monotonic()
        clients = load.start()
        # The kill lands once both hosts have finished executions and about a third are done.
        deadline = time.monotonic() + 120
        while not (succeeded_tasks(left_log) and succeeded_tasks(right_log) and len(load.ids) >= EXECUTIONS // 3):
            assert time.monotonic() < deadline, f"the load did not get under way\n{diagnose()}"
            time.sleep(0.1)
        before_kill = {"w1": succeeded_tasks(left_log), "w2": succeeded_tasks(right_log)}
        in_flight = Execution.objects.filter(flow=version.flow).exclude(status__in=Execution.FINAL).count()
        killed = left.kill_everything()
        killed_at = time.monotonic() - began
        assert doomed.wait(10) == -9, "the worker host's processes were killed with SIGKILL"
        for thread in clients:
            thread.join(timeout=300)
        submitted = time.monotonic() - began
        left_over = Execution.objects.filter(flow=version.flow).exclude(status__in=Execution.FINAL)
        deadline = time.monotonic() + 120
        while left_over.exists():
            assert time.monotonic() < deadline, f"not final: {list(left_over.values('pk', 'status'))}\n{diagnose()}"
            time.sleep(0.25)
        drained = time.monotonic() - began
    finally:
        server.kill()
        server.wait(10)
        server.log.close()
        pool.close()

    # Every request answered with an execution, every execution stored and final, none lost.
    assert not load.errors, f"{load.errors[:5]}\n{diagnose()}"
    assert len(load.ids) == EXECUTIONS
    stored = {e.pk: e for e in Execution.objects.filter(flow=version.flow)}
    assert set(stored) == set(load.ids.values()), "an execution answered to a client is not stored, or one more is"
    wrong = [
        (pk, e.status, e.error[:200], e.output)
        for n, pk in load.ids.items()
        if (e := stored[pk]).status != Execution.Status.SUCCEEDED or e.output != {"n": n, "after": "s1"}
    ]
    assert not wrong, f"{len(wrong)} executions did not succeed with the right output: {wrong[:5]}\n{diagnose()}"

    # Each step recorded as succeeded exactly once, in order, and no finished SQL step run again.
    runs: dict[int, list[StepRun]] = {}
    for run in StepRun.objects.filter(execution__flow=version.flow).order_by("execution_id", "position"):
        runs.setdefault(run.execution_id, []).append(run)
    twice = [pk for pk, steps in runs.items() if [r.step_id for r in steps if r.status == "succeeded"] != STEP_IDS]
    assert not twice, f"steps not recorded exactly once as succeeded: {[(pk, runs[pk]) for pk in twice[:5]]}"
    finished_s1 = {r.execution_id: r.finished for steps in runs.values() for r in steps if r.step_id == "s1"}
    with psycopg.connect(postgres_url) as db:
        traces = db.execute(f"SELECT execution_id, at FROM {effects}").fetchall()  # noqa: S608
    per_execution = Counter(pk for pk, _ in traces)
    rerun = [pk for pk, at in traces if at > finished_s1[pk]]
    assert not rerun, f"finished SQL steps run again: {rerun[:10]}"
    assert set(per_execution) == set(stored), "every execution's SQL step left its row"

    # Both hosts ran executions, and the survivor finished what the lost host left.
    after = {"w1": succeeded_tasks(left_log), "w2": succeeded_tasks(right_log)}
    resumed = sum(1 for steps in runs.values() if len({r.delivery for r in steps}) > 1)
    sent_again = Execution.objects.filter(flow=version.flow, resent__isnull=False).count()
    waited = {status: count for (was_waited, status), count in load.answers.items() if was_waited}
    print(
        f"\n[drill] multi-host: executions={EXECUTIONS} (waited {sum(waited.values())}: answers {waited}; "
        f"not waited {EXECUTIONS - sum(waited.values())}) lost=0 stuck=0 steps-recorded-twice=0 "
        f"finished-steps-rerun=0 interrupted-steps-rerun={sum(per_execution.values()) - len(per_execution)} "
        f"resumed={resumed} sent-again-by-sweep={sent_again} | worker tasks before the kill {before_kill}, "
        f"after {after} | killed {killed} processes of host w1 at {killed_at:.1f}s with {in_flight} executions "
        f"not final | all submitted {submitted:.1f}s, all final {drained:.1f}s "
        f"({EXECUTIONS / drained:.0f} executions/s overall)",
        flush=True,
    )
    assert before_kill["w1"] and before_kill["w2"], "executions were spread over both worker hosts"
    assert after["w2"] > before_kill["w2"], "the surviving host finished the rest"
    assert in_flight, "the kill landed while executions were still under way"
