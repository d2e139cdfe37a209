"""What a waited REST trigger costs in the request thread: the queries of authentication, the flow
lookup, the execution's creation and the answer (the engine's own are pinned in
tests/flows/test_trigger_perf_queries.py). A change that adds one fails here; bench/trigger.py
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


def test_a_waited_trigger_run_in_the_web_process_takes_one_query_in_the_request(api, make_flow, sandbox, monkeypatch):
    for cache in (auth_cache.tokens, auth_cache.memberships, lookups._flows, lookups._deployments):
        monkeypatch.setattr(cache, "seconds", 60)  # a slow machine's warm-up must not outlast the second
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    assert trigger(api, 0).status_code == 200  # warm: the plan and the token's last use are recorded

    # The execution's INSERT: the token, the membership, the flow and its deployment were read within
    # the second before (accounts.auth_cache, flows.lookups); the engine runs in a thread of its own
    # (tests/flows/test_trigger_perf_queries.py) and hands over the step records it stored.
    with CaptureQueriesContext(connection) as queries:
        response = trigger(api, 1)

    assert response.status_code == 200 and response.json()["output"] == {"n": 1, "seen": True}
    assert len(queries) == 1, "\n".join(q["sql"][:160] for q in queries.captured_queries)
