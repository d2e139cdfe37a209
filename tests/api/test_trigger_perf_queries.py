"""What a waited REST trigger costs in the request thread: the queries of authentication, the flow
lookup, the execution's creation, its run (a flow that cannot outlast the wait runs in the request
thread, ``flows.eager.fits``) and the answer. A change that adds one fails here; bench/trigger.py
measures the time."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import auth_cache
from flows import lookups
from tests.api.conftest import ADD_FIELD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def trigger(client, n: int):
    body = {"environment": "sandbox", "payload": {"n": n}, "wait": 10}
    return client.post("/api/v1/flows/add/executions", data=json.dumps(body), content_type="application/json")


def test_a_waited_trigger_run_in_the_web_process_takes_two_queries_in_the_request(api, make_flow, sandbox, monkeypatch):
    for cache in (auth_cache.tokens, auth_cache.memberships, lookups._flows, lookups._deployments):
        monkeypatch.setattr(cache, "seconds", 60)  # a slow machine's warm-up must not outlast the second
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    assert trigger(api, 0).status_code == 200  # warm: the plan and the token's last use are recorded

    # The execution's INSERT, already claimed, then its step record and its finish in one statement:
    # the token, the membership, the flow and its deployment were read within the second before
    # (accounts.auth_cache, flows.lookups), and the answer is built from the step records the engine
    # handed back.
    with CaptureQueriesContext(connection) as queries:
        response = trigger(api, 1)

    assert response.status_code == 200 and response.json()["output"] == {"n": 1, "seen": True}
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 2, "\n".join(sql[:160] for sql in statements)
    assert statements[0].startswith('INSERT INTO "flows_execution"')
    assert statements[1].startswith("WITH finished AS (UPDATE") and 'INSERT INTO "flows_steprun"' in statements[1]
