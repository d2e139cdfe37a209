"""Secrets drill: random canary secrets go through the real app and workers with debug logging on,
and must come out nowhere but as ciphertext in the database.

The canaries: a connector password typed into the API, a secret variable used by SQL and mapping
steps, a secret variable a connector's password refers to (``{{ env.DB_PASSWORD }}``), and the
process environment's own secrets (``SECRET_KEY``, ``ERPFLOW_ENCRYPTION_KEYS``). Succeeding and
failing executions use them (a step's output, a database error quoting the value, a mapping's
error). Then every place a secret could leak is searched: the captured logs of the web app and
the workers, every API response, the step records, every Redis key and value, and a ``pg_dump``
of the database.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from accounts.choices import Scope
from accounts.models import ApiToken
from core import crypto, masking
from flows.models import Execution, StepRun
from tests.drills.servers import AppProcess
from tests.flows.builders import chain, mapping, sql
from tests.flows.workers import Workers, database_url

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def canary(label: str) -> str:
    return f"canary-{label}-{secrets.token_hex(12)}"


@pytest.fixture
def canaries():
    return {
        "connector password": canary("typed-password"),
        "variable token": canary("api-token"),
        "variable password": canary("db-password"),
        "SECRET_KEY": canary("secret-key"),
        "encryption key": base64.b64encode(os.urandom(32)).decode(),
    }


@pytest.fixture
def stack(own_redis, tmp_path, canaries, settings):
    """The web app and two workers on the drill's own Redis, with DEBUG logs and the canary keys."""
    keys = f"{canaries['encryption key']},{','.join(settings.ERPFLOW_ENCRYPTION_KEYS)}"
    workers = Workers(own_redis.url, tmp_path / "workers")
    (tmp_path / "workers").mkdir()
    common = {
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "ERPFLOW_EXECUTION_QUEUE": workers.queue,
        "SECRET_KEY": canaries["SECRET_KEY"],
        "ERPFLOW_ENCRYPTION_KEYS": keys,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
    }
    workers.env.update(common)
    app = AppProcess(tmp_path / "app", {**workers.env, "DEBUG": "1", "ERPFLOW_VAR_DIR": str(tmp_path / "app-var")})
    app.start()
    workers.start(concurrency=2, loglevel="DEBUG")
    workers.start(concurrency=2, loglevel="DEBUG")
    settings.ERPFLOW_ENCRYPTION_KEYS = keys.split(",")
    yield app, workers
    app.stop()
    workers.close()


class Recorder:
    """An API client that keeps every response (status line, headers and body) for the search."""

    def __init__(self, base: str, token: str):
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=90)
        self.seen: list[str] = []

    def __call__(self, method: str, path: str, expected: int | tuple = (200, 201), **kwargs) -> dict:
        response = self.client.request(method, path, **kwargs)
        self.seen.append(f"{method} {path} {response.status_code}\n{response.headers}\n{response.text}")
        expected = (expected,) if isinstance(expected, int) else expected
        assert response.status_code in expected, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else {}


def build_flow(api: Recorder, slug: str, steps: list[dict]) -> None:
    api("POST", "/api/v1/flows/", json={"name": slug, "slug": slug})
    graph = {"steps": steps, "edges": chain(*[s["id"] for s in steps])}
    api("PUT", f"/api/v1/flows/{slug}/draft/", json=graph)
    api("POST", f"/api/v1/flows/{slug}/publish/", json={"message": "drill"})
    api("POST", f"/api/v1/flows/{slug}/deploy/", json={"environment": "sandbox"})


def redis_dump(url: str) -> str:
    client = redis.Redis.from_url(url)
    parts = []
    for key in client.scan_iter(count=500):
        kind = client.type(key).decode()
        value = {
            "string": lambda k: client.get(k),
            "hash": lambda k: client.hgetall(k),
            "list": lambda k: client.lrange(k, 0, -1),
            "set": lambda k: client.smembers(k),
            "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            "stream": lambda k: client.xrange(k),
        }.get(kind, lambda k: b"")(key)
        parts.append(f"{key!r} {kind} {value!r}")
    return "\n".join(parts)


def test_canary_secrets_appear_nowhere_but_as_ciphertext(
    stack, canaries, org, owner, sandbox, postgres_url, own_redis, tmp_path
):
    app, workers = stack
    _, token = ApiToken.issue(organization=org, user=owner, name="drill", scopes=Scope.values)
    api = Recorder(app.url, token)
    target = urlsplit(postgres_url)
    database = {"host": target.hostname, "port": target.port or 5432, "database": target.path.lstrip("/")}
    database["username"] = target.username or "postgres"

    api("POST", "/api/v1/variables/", json=var("API_TOKEN", canaries["variable token"]))
    api("POST", "/api/v1/variables/", json=var("DB_PASSWORD", canaries["variable password"]))
    typed = api(
        "POST",
        "/api/v1/connectors/",
        json={"name": "Typed", "type": "postgres", "settings": {"sandbox": {**database, **pw(canaries, "typed")}}},
    )
    referenced = api(
        "POST",
        "/api/v1/connectors/",
        json={"name": "Referenced", "type": "postgres", "settings": {"sandbox": {**database, **pw(canaries, "ref")}}},
    )
    for connector in (typed, referenced):
        assert api("POST", f"/api/v1/connectors/{connector['id']}/test/", json={"environment": "sandbox"})["ok"]

    build_flow(
        api,
        "uses-secrets",
        [
            sql("s0", typed["id"], "SELECT {{ env.API_TOKEN }} AS token, {{ trigger.payload.n }} AS n", y=0),
            mapping("s1", '{"token": steps.s0.rows[0].token, "again": env.API_TOKEN}', y=1),
            sql("s2", referenced["id"], "SELECT {{ env.API_TOKEN }} AS token", y=2),
        ],
    )
    build_flow(
        api,
        "fails-with-secrets",
        [
            sql("f0", typed["id"], "SELECT CAST({{ env.API_TOKEN }} AS integer) AS n", ignore=True, y=0),
            mapping("f1", '$error("refused token " & env.API_TOKEN)', y=1),
        ],
    )
    finished = []
    for n in range(3):
        for slug in ("uses-secrets", "fails-with-secrets"):
            body = {"environment": "sandbox", "payload": {"n": n}, "wait": 60, "correlation_id": f"drill-{slug}-{n}"}
            finished.append(api("POST", f"/api/v1/flows/{slug}/executions/", json=body))
    for execution in finished:
        api("GET", f"/api/v1/executions/{execution['id']}/")
    for path in ("/api/v1/executions/", "/api/v1/variables/", "/api/v1/connectors/", "/api/v1/monitoring/stats"):
        api("GET", path)
    for connector in (typed, referenced):
        api("GET", f"/api/v1/connectors/{connector['id']}/")

    # The canaries were really used: the runs went as planned and the secrets were masked, not dropped.
    statuses = sorted(e["status"] for e in finished)
    assert statuses == ["failed"] * 3 + ["succeeded"] * 3, [(e["status"], e.get("error")) for e in finished]
    ok = StepRun.objects.filter(execution__flow__slug="uses-secrets", step_id="s1").first()
    assert ok.output == {"token": masking.MASK, "again": masking.MASK}
    cast = StepRun.objects.filter(execution__flow__slug="fails-with-secrets", step_id="f0").first()
    assert cast.status == StepRun.Status.ERROR_IGNORED and "invalid input syntax" in cast.error
    assert masking.MASK in cast.error
    failed = Execution.objects.filter(flow__slug="fails-with-secrets").first()
    assert "refused token" in failed.error and masking.MASK in failed.error

    app.stop()
    workers.close()
    app_log, worker_logs = app.log(), workers.logs()
    assert '"level": "DEBUG"' in worker_logs and '"level": "DEBUG"' in app_log, "debug logging was on"
    # Every line the engine logged for an execution names it, its flow and its correlation id, in a worker
    # or in the web process (a waited trigger runs its execution there: flows.eager).
    lines = (app_log + "\n" + worker_logs).splitlines()
    entries = [json.loads(line) for line in lines if line.startswith('{"time"')]
    ends = {
        e["execution_id"]: e for e in entries if e["message"].startswith("execution ") and " finished " in e["message"]
    }
    for execution in finished:
        end = ends.get(execution["id"])
        assert end is not None, f"no log line for the end of execution {execution['id']}"
        assert end["flow_id"] and end["correlation_id"] == execution["correlation_id"], end
    assert all("execution_id" in e for e in entries if e["logger"].startswith(("erpflow.engine", "erpflow.tasks")))
    records = [json.dumps(row, default=str) for model in (StepRun, Execution) for row in model.objects.values()]
    dump = subprocess.run(["pg_dump", "--data-only", database_url()], capture_output=True, text=True, check=True)
    assert dump.stdout.count(f"{crypto.PREFIX}:") >= 3, "the dump holds the secrets' ciphertexts"
    places = {
        "app log": app_log,
        "worker logs": worker_logs,
        "API responses": "\n".join(api.seen),
        "step records and executions": "\n".join(records),
        "Redis keys and values": redis_dump(own_redis.url),
        "pg_dump": dump.stdout,
    }
    assert places["Redis keys and values"], "the workers and the app used the drill's Redis"
    leaks = [(name, where) for name, value in canaries.items() for where, text in places.items() if value in text]
    print(f"\n[drill] secrets: canaries={len(canaries)} places={len(places)} leaks={len(leaks)}", flush=True)
    assert leaks == [], leaks


def var(key: str, value: str) -> dict:
    return {"environment": "sandbox", "key": key, "value": value, "secret": True}


def pw(canaries: dict, which: str) -> dict:
    return {"password": canaries["connector password"] if which == "typed" else "{{ env.DB_PASSWORD }}"}
