"""Starting executions: the one path every trigger takes (REST, webhook, schedule, manual run, replay).

What an HTTP trigger brings is read and judged first (``flows.payloads``) into a ``TriggerRequest``;
nothing is stored before. ``start`` then creates the execution of the version deployed to the
environment and sends it to the workers once the row is committed (after the surrounding
transaction, if any). A deduplication id makes the trigger idempotent for
``DEDUPLICATION_WINDOW``: the same id (per flow) returns the first execution and runs nothing. Two
identical requests at the same instant are serialized by a lock on (flow, id) held until commit,
so only one of them can create the execution.

If the broker refuses the task, the execution is deleted again and ``QueueUnavailable`` raised:
the caller learns that nothing will run, and a retry with the same deduplication id is not
answered with an execution that never ran.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts import environments
from accounts.models import Environment
from core.plain_insert import PlainInsert
from core.plain_instances import PlainInstances
from flows import graph as graphs
from flows import leases, lookups, ordering, samples, versions
from flows.models import Execution, Flow
from flows.tasks import run_execution

logger = logging.getLogger("erpflow.triggers")

DEDUPLICATION_WINDOW = timedelta(hours=24)
MAX_WAIT_SECONDS = 60


class TriggerError(Exception):
    """A trigger that cannot start: the message says what is wrong; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field

    def as_dict(self) -> dict:
        data: dict[str, Any] = {"detail": self.message}
        if self.field:
            data["errors"] = {self.field: [self.message]}
        return data


class QueueUnavailable(TriggerError):
    """The broker did not take the execution; it was removed again, so nothing runs."""

    def __init__(self, reason: str):
        super().__init__(
            f"The task queue did not accept the execution ({reason}); nothing was started. Try again shortly.",
            status=503,
        )


@dataclass(frozen=True)
class TriggerRequest:
    """What a trigger brings, checked and not yet stored: the payload with the headers and query it came
    with, the correlation and deduplication ids, and (from HTTP) the environment and how long to wait.
    An event (``flows.events``) also brings its envelope, kept as ``trigger.event``, and the ordering key
    of its use case (``flows.ordering``)."""

    payload: Any = field(default_factory=dict)
    environment: str | None = None
    wait: int = 0
    fail_status: int | None = None
    correlation_id: str = ""
    deduplication_id: str = ""
    headers: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    event: dict | None = None
    ordering_key: str = ""


# -- what an execution's input may hold ---------------------------------------------------------------
# -- starting executions -------------------------------------------------------------------------------


def environment_of(flow: Flow, slug: str | None) -> Environment:
    """The flow organization's environment named ``slug``; a 400 lists the ones that exist."""
    try:
        return environments.get(flow.organization_id, slug)
    except environments.UnknownEnvironment as exc:
        raise TriggerError(str(exc), field="environment") from None


def start(
    flow: Flow,
    environment: Environment | str | None,
    request: TriggerRequest,
    *,
    trigger: str,
    user=None,
    lease: str | None = None,
) -> tuple[Execution, bool]:
    """Queue an execution of the version deployed to ``environment`` with what ``request`` carries;
    returns it and whether it is new.

    An earlier execution of ``flow`` with the same ``request.deduplication_id`` within
    ``DEDUPLICATION_WINDOW`` is returned instead (``False``), and nothing is queued. With ``lease``
    the execution is created already claimed under it and not queued: its creator runs it
    (``flows.eager``).
    """
    if isinstance(environment, Environment):
        if environment.organization_id != flow.organization_id:
            raise TriggerError("That environment does not belong to this flow's organization.", field="environment")
        env_slug = environment.slug
    else:
        env_slug = environment
    deduplication_id = request.deduplication_id
    # Without a deduplication id or an ordering key the one INSERT needs no transaction of its own.
    with transaction.atomic() if deduplication_id or request.ordering_key else nullcontext():
        if deduplication_id:
            _lock(flow, deduplication_id)
            first = _duplicate_of(flow, deduplication_id)
            if first is not None:
                return first, False
        if not flow.enabled:
            raise TriggerError(f"Flow '{flow.name}' is disabled; enable it to run it.", status=409)
        deployment = lookups.deployment(flow, env_slug) if env_slug else None
        if deployment is None:
            env = environment if isinstance(environment, Environment) else environment_of(flow, env_slug)
            raise TriggerError(
                f"Flow '{flow.name}' has no version deployed to {env.name}; publish a version and deploy it there "
                "first.",
                status=409,
                field="environment",
            )
        execution = _create(
            flow,
            version=deployment.version,
            environment=deployment.environment,
            trigger=trigger,
            request=request,
            user=user,
            lease=lease,
        )
    return execution, True


def run_draft(flow: Flow, user, payload: Any = None) -> Execution:
    """A manual test run: a snapshot of the draft, run in the sandbox with ``payload`` (None: the
    draft's sample payload, or an empty object without one).

    Disabled flows may be test-run: disabling stops outside triggers, not their author.
    """

    sandbox = Environment.objects.filter(organization_id=flow.organization_id, slug="sandbox").first()
    if sandbox is None:
        raise TriggerError("This organization has no 'sandbox' environment to run test runs in.", status=409)
    problems = graphs.validate(flow.draft, flow.organization, user=user, environment=sandbox)
    if problems:
        raise graphs.InvalidGraph(problems, "The draft cannot run in the sandbox")
    if payload is None:
        payload = samples.payload(flow.draft)
    with transaction.atomic():
        version = versions.snapshot_draft(flow, user)
        return _create(
            flow,
            version=version,
            environment=sandbox,
            trigger=Execution.Trigger.MANUAL,
            request=TriggerRequest(payload={} if payload is None else payload),
            user=user,
        )


def replay(execution: Execution, user) -> Execution:
    """A new execution of the same version with the same input, linked to the first through ``replay_of``."""
    if not execution.is_final:
        raise TriggerError(
            f"Execution #{execution.pk} is still {execution.status}; replay it once it has finished.", status=409
        )
    if not execution.flow.enabled:
        raise TriggerError(f"Flow '{execution.flow.name}' is disabled; enable it to replay its executions.", status=409)
    with transaction.atomic():
        return _replay(execution, user)


def replay_failed(executions, user, limit: int) -> list[Execution]:
    """Replay up to ``limit`` failed executions of enabled flows that were not replayed before, oldest first."""
    candidates = (
        executions.filter(status=Execution.Status.FAILED, flow__enabled=True, replays__isnull=True)
        .select_related("flow", "environment", "version")
        .order_by("created", "pk")[:limit]
    )
    with transaction.atomic():
        replays = [_replay(execution, user, queue=False) for execution in candidates]
        ids = [replay.pk for replay in replays if not ordering.held(replay)]
        transaction.on_commit(lambda: enqueue(*ids))
    return replays


def _replay(execution: Execution, user, *, queue: bool = True) -> Execution:
    inputs = execution.input if isinstance(execution.input, dict) else {}
    request = TriggerRequest(
        payload=inputs.get("payload"),
        headers=inputs.get("headers") or {},
        query=inputs.get("query") or {},
        correlation_id=execution.correlation_id,
        event=inputs.get("event"),
        ordering_key=execution.ordering_key,
    )
    return _create(
        execution.flow,
        version=execution.version,
        environment=execution.environment,
        trigger=Execution.Trigger.REPLAY,
        request=request,
        user=user,
        replay_of=execution,
        queue=queue,
    )


def _create(
    flow: Flow,
    *,
    version,
    environment: Environment,
    trigger: str,
    request: TriggerRequest,
    user=None,
    replay_of: Execution | None = None,
    queue: bool = True,
    lease: str | None = None,
) -> Execution:
    """Insert a queued execution; with ``queue`` it is sent to the workers once the transaction commits,
    unless it has an ordering key and waits behind an earlier execution with that key.

    With ``lease`` it is inserted claimed instead, carrying its version's ``created`` as a claim would
    (the engine's plan cache key), and never sent."""
    payload = request.payload
    inputs = {"payload": {} if payload is None else payload, "headers": request.headers, "query": request.query}
    if request.event is not None:
        inputs["event"] = request.event
    if request.ordering_key:
        ordering.lock(flow.pk, request.ordering_key)
    # A replay is saved with its signals: the audit log records who replayed what.
    save = _insert if replay_of is None else lambda row: row.save() or row
    execution = save(
        _executions.new(
            organization_id=flow.organization_id,
            flow=flow,
            version=version,
            environment=environment,
            trigger=trigger,
            input=inputs,
            correlation_id=request.correlation_id or uuid.uuid4().hex,
            deduplication_key=request.deduplication_id,
            started_by=user if getattr(user, "is_authenticated", False) else None,
            replay_of=replay_of,
            ordering_key=request.ordering_key,
            **(leases.claimed_fields(lease) if lease else {}),
        )
    )
    if lease:
        execution.version_created = version.created
    elif queue and not ordering.held(execution):
        transaction.on_commit(lambda: enqueue(execution.pk))
    return execution


_insert = PlainInsert(Execution)  # only the audit log listens to an execution's save, and only to a replay
_executions = PlainInstances(Execution)


def enqueue(*execution_ids: int) -> None:
    """Hand executions to the workers; if the broker refuses one, remove it and those not yet sent, and
    raise ``QueueUnavailable``: an execution no worker will ever receive must not stay queued."""

    for index, execution_id in enumerate(execution_ids):
        try:
            run_execution.apply_async((execution_id,), queue=settings.ERPFLOW_EXECUTION_QUEUE)
        except Exception as exc:
            logger.error("execution %s could not be queued: %s", execution_id, type(exc).__name__)
            Execution.objects.filter(pk__in=execution_ids[index:], status=Execution.Status.QUEUED).delete()
            raise QueueUnavailable(type(exc).__name__) from None


def dedup_lock_id(flow_id: int, deduplication_id: str) -> int:
    """The advisory lock of one flow's deduplication id: a trigger and an events batch take the same one."""
    digest = hashlib.blake2b(f"{flow_id}:{deduplication_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock(flow: Flow, deduplication_id: str) -> None:
    """Serialize triggers of one flow carrying the same deduplication id until this transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [dedup_lock_id(flow.pk, deduplication_id)])
    else:
        # SQLite has no advisory locks: a write takes the database's write lock for the transaction.
        Flow.objects.filter(pk=flow.pk).update(slug=F("slug"))


def _duplicate_of(flow: Flow, deduplication_id: str) -> Execution | None:
    since = timezone.now() - DEDUPLICATION_WINDOW
    return (
        Execution.objects.select_related("flow", "version", "environment", "started_by")
        .defer("version__graph")
        .filter(
            organization_id=flow.organization_id,
            deduplication_key=deduplication_id,
            created__gte=since,
            flow=flow,
        )
        .order_by("created", "pk")
        .first()
    )
