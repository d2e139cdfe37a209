"""Fixtures of the API, trigger and page tests: deployed flows, clients per role, real workers."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

from flows import engine, versions
from flows.models import Execution, Flow
from tests.conftest import token_client
from tests.flows.builders import chain, graph, mapping

# One mapping step that returns the payload with a field added: the shape the trigger benchmark uses.
ADD_FIELD = graph([mapping("add", '$merge([trigger.payload, {"seen": true}])', name="Add field")])
TWO_STEPS = graph(
    [
        mapping("greet", '{"greeting": "Hello " & trigger.payload.customer}', name="Greet", y=0),
        mapping("total", '{"text": steps.greet.greeting, "total": $sum(trigger.payload.qty)}', name="Total", y=1),
    ],
    chain("greet", "total"),
)
FAILING = graph(
    [
        mapping("ok", '{"a": 1}', name="Fine", y=0),
        mapping("boom", '$error("the order is incomplete")', name="Check order", y=1),
        mapping("never", '{"b": 2}', name="After", y=2),
    ],
    chain("ok", "boom", "never"),
)


@pytest.fixture
def make_flow(org, owner):
    """A flow with ``graph`` as its draft; ``deploy`` publishes it and deploys it to those environments."""
    counter = iter(range(1, 10_000))

    def make(draft: dict | None = None, *, slug: str | None = None, deploy=(), organization=None, **fields) -> Flow:
        n = next(counter)
        flow = Flow.objects.create(
            organization=organization or org, name=fields.pop("name", f"Flow {n}"), slug=slug or f"flow-{n}", **fields
        )
        if draft is not None:
            problems = versions.save_draft(flow, draft, None)
            assert problems == [], [p.message for p in problems]
        if deploy:
            version = versions.publish(flow, owner, "test")
            for environment in deploy:
                versions.deploy(flow, version, environment, owner)
        return flow

    return make


@pytest.fixture
def deployed(make_flow, sandbox):
    """The one-step flow that adds a field, published as v1 and deployed to the sandbox."""
    return make_flow(ADD_FIELD, slug="add-field", name="Add field", deploy=[sandbox])


@pytest.fixture
def scoped_api(org, owner):
    def make(*scopes: str):
        return token_client(org, owner, list(scopes))

    return make


@pytest.fixture
def run_now():
    """Run a queued execution in this process (the engine, as a worker would) and return it."""

    def run(execution: Execution) -> Execution:
        return engine.run(execution.pk)

    return run


@pytest.fixture
def execution_of(org, sandbox):
    """An execution of ``flow``'s deployed (or given) version, created the way a trigger creates one."""

    def make(flow: Flow, payload=None, *, status=None, environment=None, **fields) -> Execution:
        version = fields.pop("version", None) or flow.versions.filter(snapshot=False).order_by("-number").first()
        execution = Execution.objects.create(
            organization=flow.organization,
            flow=flow,
            version=version,
            environment=environment or sandbox,
            trigger=fields.pop("trigger", Execution.Trigger.API),
            input={"payload": payload if payload is not None else {}, "headers": {}, "query": {}},
            **fields,
        )
        if status is not None:
            Execution.objects.filter(pk=execution.pk).update(status=status)
            execution.refresh_from_db()
        return execution

    return make


@contextmanager
def celery_broker(url: str):
    """Point this process's Celery producer at ``url`` for a while (a test double for nothing: the
    real app, only its broker URL swapped, so triggers publish where the test's workers listen)."""
    from kombu import pools

    from config.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def reset_pools():
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    reset_pools()
    app.conf.broker_url, app.conf.broker_transport_options = url, {}
    try:
        yield app
    finally:
        reset_pools()
        app.conf.broker_url, app.conf.broker_transport_options = saved


@pytest.fixture
def broker(redis_url, settings):
    """Triggers publish to Redis (the test's db) on a queue of this test only, removed afterwards."""
    import redis

    queue = f"erpflow-api-test-{uuid.uuid4().hex[:12]}"
    settings.ERPFLOW_EXECUTION_QUEUE = queue
    with celery_broker(redis_url):
        yield queue
    client = redis.Redis.from_url(redis_url)
    client.delete(queue, f"_kombu.binding.{queue}")


def queued_ids(redis_url: str, queue: str) -> list[int]:
    """The execution ids waiting in ``queue``, in the order the workers take them: messages of
    ``flows.tasks.run_execution`` (one id) and of ``run_executions`` (a list of ids, run in order)."""
    import base64
    import json

    import redis

    client = redis.Redis.from_url(redis_url)
    ids = []
    # Redis lists are pushed at the head and workers pop from the tail: the list holds the newest first.
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        sent = json.loads(base64.b64decode(message["body"]))[0][0]
        ids.extend(sent if isinstance(sent, list) else [sent])
    return ids


@pytest.fixture(scope="module")
def worker_pool(django_db_setup, tmp_path_factory, request):
    """One real Celery worker process per test module, on a queue of its own, against the test database;
    a module's ``WORKER_ENV`` adds settings of its own."""
    import os

    from tests.conftest import require_service
    from tests.flows.workers import Workers

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    require_service("redis", url)
    pool = Workers(url, tmp_path_factory.mktemp("workers"))
    pool.env["ERPFLOW_EXECUTION_QUEUE"] = pool.queue  # executions a worker starts (schedule ticks) stay here
    pool.env.update(getattr(request.module, "WORKER_ENV", {}))
    pool.start(concurrency=4)
    yield pool
    pool.close()


@pytest.fixture
def workers(worker_pool, settings):
    """Triggers of this test go to the module's worker (needs ``transactional_db``: it reads committed rows)."""
    settings.ERPFLOW_EXECUTION_QUEUE = worker_pool.queue
    with celery_broker(worker_pool.broker_url):
        yield worker_pool
