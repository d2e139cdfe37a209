"""Fault drills: the broker's Redis and the app's PostgreSQL restarted while executions are in flight.

Each drill restarts a server of its own (never the machine's, which other tests use): a Redis
server with an append-only file, as a production broker runs, and a PostgreSQL cluster holding a
copy of the test database. Executions must all finish, none lost or stuck, and no finished step
may run again; a step interrupted before its record was stored may (at-least-once per step).
"""

from __future__ import annotations

import time

import pytest

from tests.drills.support import effect_flow, figures, step_count, wait_all_final, wait_for_progress, wait_mid_flight

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXECUTIONS = 16
DOWNTIME = 2.0


def restart_drill(server, workers, version, start, effects, postgres_url, label: str) -> None:
    """Start executions, stop ``server`` once they are mid-flight, start it again, then judge the outcome."""
    ids = [start(version, {"n": i}).pk for i in range(EXECUTIONS)]
    for pk in ids:
        workers.enqueue(pk)
    workers.start()
    workers.start()

    def diagnose():
        return f"worker logs:\n{workers.logs()[-5000:]}\n{label} log:\n{server.log()[-1500:]}"

    wait_mid_flight(ids, 90, diagnose)
    server.stop()
    time.sleep(DOWNTIME)
    server.start()
    back = time.monotonic()
    before = step_count(ids)
    while before is None and time.monotonic() - back < 60:  # the first queries after a restart may still fail
        time.sleep(0.2)
        before = step_count(ids)
    progress = wait_for_progress(ids, before or 0, 60, diagnose)
    wait_all_final(ids, 180, diagnose)

    outcome = figures(ids, effects, postgres_url)
    outcome.print(f"restart {label}", first_step_after_restart=progress, all_final=time.monotonic() - back)
    outcome.assert_clean(diagnose)


@pytest.mark.parametrize(
    "concurrency_limit",
    [
        pytest.param(None, id="no-concurrency-limit"),
        pytest.param(8, id="limit-8"),
    ],
)
def test_restarting_redis_mid_flow_loses_no_execution_and_reruns_no_finished_step(
    publish, start, workers_on_own_redis, own_redis, effects, make_connector, postgres_url, sandbox, concurrency_limit
):
    """Redis is the broker; with a concurrency limit, every SQL step also takes a slot in it."""
    connector = make_connector("postgres", postgres_url, [sandbox], name="Effects", concurrency_limit=concurrency_limit)
    version = effect_flow(publish, connector, effects)
    restart_drill(
        own_redis, workers_on_own_redis, version, start, effects, postgres_url, f"Redis ({concurrency_limit=})"
    )


def test_restarting_postgresql_mid_flow_loses_no_execution_and_reruns_no_finished_step(
    publish, start, workers_on_own_postgres, own_postgres, effects, make_connector, postgres_url, sandbox
):
    connector = make_connector("postgres", postgres_url, [sandbox], name="Effects")
    version = effect_flow(publish, connector, effects)
    restart_drill(own_postgres, workers_on_own_postgres, version, start, effects, postgres_url, "PostgreSQL")
