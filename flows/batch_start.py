"""Starting a batch of executions at once: what ``flows.triggers.start`` does for one, for many.

A batch of events (``flows.events``) starts up to a hundred executions per request. Started one by
one, each costs its own transaction, lock, duplicate query, deployment query, INSERT, commit and
publish; here the batch costs one of each kind:

1. the advisory locks of every (flow, deduplication id) of the batch, taken in one statement in
   sorted order, so two batches carrying the same ids wait for each other and never deadlock;
2. one query for the earlier executions with those ids within ``DEDUPLICATION_WINDOW``; a second
   event with the same id in the batch is a duplicate of the first one's new execution;
3. one query for the deployments of the batch's flows in the environment;
4. the locks of the ordering lines (``flows.ordering``) the batch adds to, sorted, then one query
   for which of those lines already have an unfinished execution: only the first new execution of
   a line that had none is sent, the others are held as ``ordering.held`` would hold them;
5. one bulk INSERT (``flows.bulk_insert``; it returns the ids, in order, on PostgreSQL and SQLite);
6. after commit, the executions to send are published in one pass (one Redis pipeline), several
   to a message (``flows.tasks.run_executions``, see ``messages``). If the broker refuses, the
   batch's new executions are deleted again and answer ``QueueUnavailable``, as
   ``triggers.enqueue`` does for one: an execution no worker will ever receive must not stay
   queued.

The messages and checks are those of ``triggers.start``: a duplicate is answered before the flow's
state is looked at, then a disabled flow or a missing deployment refuses that item only.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Environment
from flows import bulk_insert, ordering
from flows.models import Deployment, Execution, Flow
from flows.tasks import run_executions
from flows.triggers import DEDUPLICATION_WINDOW, QueueUnavailable, TriggerError, TriggerRequest, dedup_lock_id

logger = logging.getLogger("erpflow.triggers")

EXECUTIONS_PER_MESSAGE = 10


@dataclass(frozen=True)
class Started:
    """What became of one item: its execution (the first one's for a duplicate) and whether it is new,
    or the ``TriggerError`` that refused it."""

    execution_id: int | None = None
    created: bool = False
    error: TriggerError | None = None


def start_many(
    items: list[tuple[Flow, TriggerRequest]], environment: Environment, *, trigger: str, user=None
) -> list[Started]:
    """Queue an execution of the version deployed to ``environment`` for each (flow, request), in order.

    The flows are of ``environment``'s organization (the caller looked them up there)."""
    if not items:
        return []
    results: list[Started | None] = [None] * len(items)
    firsts: dict[int, int] = {}  # index of a duplicate within the batch -> index of its first
    refused: list = []
    flow_id = items[0][0].pk
    with transaction.atomic():
        _lock(sorted({dedup_lock_id(flow.pk, r.deduplication_id) for flow, r in items if r.deduplication_id}), flow_id)
        earlier = _earlier(items)
        versions = _deployed(items, environment)
        planned: list[int] = []
        seen: dict[tuple[int, str], int] = {}
        for index, (flow, request) in enumerate(items):
            dedup = (flow.pk, request.deduplication_id)
            if request.deduplication_id and dedup in earlier:
                results[index] = Started(earlier[dedup], created=False)
            elif request.deduplication_id and dedup in seen:
                firsts[index] = seen[dedup]
            elif not flow.enabled:
                disabled = TriggerError(f"Flow '{flow.name}' is disabled; enable it to run it.", status=409)
                results[index] = Started(error=disabled)
            elif flow.pk not in versions:
                results[index] = Started(error=_not_deployed(flow, environment))
            else:
                planned.append(index)
                if request.deduplication_id:
                    seen[dedup] = index
        to_send = _heads(items, planned)
        created = bulk_insert.create([_row(*items[index], versions, environment, trigger, user) for index in planned])
        ids = dict(zip(planned, created, strict=True))
        sending = [ids[index] for index in planned if index in to_send]
        if ids:
            transaction.on_commit(lambda: refused.extend(_publish(sending, list(ids.values()))))
    refusals = dict(refused)
    for index, execution_id in ids.items():
        refusal = refusals.get(execution_id)
        results[index] = Started(error=refusal) if refusal else Started(execution_id, created=True)
    for index, first in firsts.items():
        answer = results[first]
        results[index] = answer if answer.error else Started(answer.execution_id, created=False)
    return results  # type: ignore[return-value] - every index was answered above


def _lock(lock_ids: list[int], flow_id: int) -> None:
    """Take advisory locks held until this transaction ends, in the order given (sorted by the caller)."""
    if not lock_ids:
        return
    if connection.vendor == "postgresql":
        # unnest yields the array in its order, and each row's lock is taken before the next row is read.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_advisory_xact_lock(id)) FROM unnest(%s::bigint[]) AS id", [lock_ids])
    else:
        # SQLite has no advisory locks: a write takes the database's write lock for the transaction.
        Flow.objects.filter(pk=flow_id).update(slug=F("slug"))


def _earlier(items: list[tuple[Flow, TriggerRequest]]) -> dict[tuple[int, str], int]:
    """(flow, deduplication id) -> the first execution with it within the window, for the batch's ids."""
    ids = {request.deduplication_id for _, request in items if request.deduplication_id}
    if not ids:
        return {}
    found: dict[tuple[int, str], int] = {}
    rows = (
        Execution.objects.filter(
            organization_id=items[0][0].organization_id,
            flow_id__in={flow.pk for flow, _ in items},
            deduplication_key__in=ids,
            created__gte=timezone.now() - DEDUPLICATION_WINDOW,
        )
        .exclude(deduplication_key="")  # said outright, so PostgreSQL may use the execution_deduplication index
        .order_by("created", "pk")
        .values_list("flow_id", "deduplication_key", "pk")
    )
    for flow_id, key, pk in rows:
        found.setdefault((flow_id, key), pk)
    return found


def _deployed(items: list[tuple[Flow, TriggerRequest]], environment: Environment) -> dict[int, int]:
    """flow id -> the id of its version deployed to ``environment``."""
    flows = {flow.pk for flow, _ in items}
    return dict(Deployment.objects.filter(flow_id__in=flows, environment=environment).values_list("flow", "version"))


def _not_deployed(flow: Flow, environment: Environment) -> TriggerError:
    return TriggerError(
        f"Flow '{flow.name}' has no version deployed to {environment.name}; publish a version and deploy it there "
        "first.",
        status=409,
        field="environment",
    )


def _heads(items: list[tuple[Flow, TriggerRequest]], planned: list[int]) -> set[int]:
    """The planned indexes to send: those without an ordering key, and the first of each line that had
    no unfinished execution. The lines' locks are taken first, so the line seen is the whole line."""
    lines = sorted({(items[i][0].pk, items[i][1].ordering_key) for i in planned if items[i][1].ordering_key})
    busy: set[tuple[int, str]] = set()
    if lines:
        _lock(sorted({ordering.lock_id(flow_id, key) for flow_id, key in lines}), lines[0][0])
        busy = set(
            Execution.objects.filter(
                flow_id__in={flow_id for flow_id, _ in lines},
                ordering_key__in={key for _, key in lines},
                status__in=Execution.UNFINISHED,
            )
            .values_list("flow_id", "ordering_key")
            .distinct()
        )
    heads = set()
    for index in planned:
        flow, request = items[index]
        line = (flow.pk, request.ordering_key)
        if not request.ordering_key:
            heads.add(index)
        elif line not in busy:
            heads.add(index)
            busy.add(line)
    return heads


def _row(
    flow: Flow, request: TriggerRequest, versions: dict[int, int], environment: Environment, trigger: str, user
) -> dict:
    """The fields of the row ``triggers._create`` inserts for one trigger (``bulk_insert`` fills the rest)."""
    payload = request.payload
    inputs = {"payload": {} if payload is None else payload, "headers": request.headers, "query": request.query}
    if request.event is not None:
        inputs["event"] = request.event
    return {
        "organization_id": flow.organization_id,
        "flow_id": flow.pk,
        "version_id": versions[flow.pk],
        "environment_id": environment.pk,
        "trigger": trigger,
        "input": inputs,
        "correlation_id": request.correlation_id or uuid.uuid4().hex,
        "deduplication_key": request.deduplication_id,
        "started_by_id": user.pk if getattr(user, "is_authenticated", False) else None,
        "ordering_key": request.ordering_key,
    }


def messages(ids: list[int]) -> list[list[int]]:
    """``ids`` cut, in order, into the messages that carry them to the workers.

    Receiving, tracing and acknowledging a message costs a worker more than a short execution does,
    so a batch's executions travel together, at most ``EXECUTIONS_PER_MESSAGE`` to a message. The
    executions of one message run one after the other in one worker thread, so a batch is cut into
    no fewer messages than a worker has threads (``CELERY_WORKER_CONCURRENCY``, as far as there
    are executions): a small batch's events run side by side as they would one per message, and a
    slow execution holds up only the few behind it in its message."""
    if not ids:
        return []
    count = max(math.ceil(len(ids) / EXECUTIONS_PER_MESSAGE), min(len(ids), settings.CELERY_WORKER_CONCURRENCY))
    bounds = [len(ids) * part // count for part in range(count + 1)]
    return [ids[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]


def _publish(sending: list[int], created: list[int]) -> list[tuple[int, QueueUnavailable]]:
    """Send ``sending`` in its ``messages``, in one pass: one producer, its messages buffered and
    written to Redis in one pipeline (kombu's ``Producer.batch``; other brokers publish one by one).
    If the broker refuses, which of them arrived is not known: every new execution is deleted again
    (a message that did arrive finds nothing to run) and returned with the refusal, so the caller
    retries them all."""
    if not sending:
        return []
    chunks = messages(sending)
    app = run_executions.app
    try:
        with app.producer_or_acquire() as producer, producer.batch(max_size=len(chunks)):
            # The queue is declared once for the batch (a cached no-op once this connection did), not
            # once per message: Celery wraps each message's declaration in a retrying closure of its
            # own, which cost more than building the message.
            queue = app.amqp.queues[settings.ERPFLOW_EXECUTION_QUEUE]
            producer.maybe_declare(queue, retry=True, **app.conf.task_publish_retry_policy)
            for chunk in chunks:
                run_executions.apply_async((chunk,), queue=queue, producer=producer, declare=[])
    except Exception as exc:
        logger.error("%s executions could not be queued: %s", len(sending), type(exc).__name__)
        Execution.objects.filter(pk__in=created, status=Execution.Status.QUEUED).delete()
        refusal = QueueUnavailable(type(exc).__name__)
        return [(execution_id, refusal) for execution_id in created]
    return []
