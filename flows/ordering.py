"""Ordered use cases: the events of one entity run one at a time, in the order they were accepted.

A use case with ``ordered_by`` gives each event an ordering key, the value of that JSONata
expression over the event (``payload.customerId``). The executions of one flow with the same key
form a line whose head is the oldest unfinished one (by id): only the head is sent to the workers,
the others are stored queued and held. When the head reaches a final state, whatever it is
(succeeded, failed, cancelled), the next one becomes the head and is sent (``flows.events``
listens to ``execution_finished``), so a failed event does not block its entity for good.

Acceptance order is id order: an execution with a key is inserted under a lock on (flow, key)
held until its transaction commits, so two batches carrying the same key at the same time are
accepted one after the other, each in its own batch order. Whoever checks the line (a new
execution, the ending of the head, the stranded sweep) sees it whole.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from expressions.mapping import evaluate_mapping
from expressions.sandbox import ExpressionError
from flows.models import Execution, Flow

MAX_KEY = Execution._meta.get_field("ordering_key").max_length
KEY_TIMEOUT_MS = 200


class BadKey(Exception):
    """The ordering key of one event could not be computed; the message says why."""


def key_of(expression: str, event: dict) -> str:
    """The ordering key ``expression`` gives over ``event``, as text; blank when it gives nothing."""
    try:
        value = evaluate_mapping(expression, event, KEY_TIMEOUT_MS)
    except ExpressionError as exc:
        raise BadKey(f"the ordering key ({expression}) could not be computed: {exc}") from None
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # 42 and 42.0 are the same entity
    elif isinstance(value, str | int | float):
        text = str(value).strip()
    else:
        raise BadKey(f"the ordering key ({expression}) must be text or a number; it gave {_kind(value)}")
    if len(text) > MAX_KEY:
        raise BadKey(f"the ordering key is {len(text)} characters long; at most {MAX_KEY} are allowed")
    return text


def lock(flow_id: int, key: str) -> None:
    """Serialize, until this transaction ends, whoever adds to or moves the line of (flow, key)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id(flow_id, key)])
    else:
        # SQLite has no advisory locks: a write takes the database's write lock for the transaction.
        Flow.objects.filter(pk=flow_id).update(slug=F("slug"))


def lock_id(flow_id: int, key: str) -> int:
    """The PostgreSQL advisory lock of the line (flow, key), for whoever takes many at once."""
    digest = hashlib.blake2b(f"ordering:{flow_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def held(execution: Execution) -> bool:
    """Whether an earlier execution with the same key has not finished yet (so this one must wait)."""
    if not execution.ordering_key:
        return False
    return Execution.objects.filter(
        flow_id=execution.flow_id,
        ordering_key=execution.ordering_key,
        pk__lt=execution.pk,
        status__in=Execution.UNFINISHED,
    ).exists()


def held_rows() -> Q:
    """Rows of executions held behind an earlier unfinished one with the same key (for querysets)."""
    earlier = Execution.objects.filter(
        flow=OuterRef("flow"),
        ordering_key=OuterRef("ordering_key"),
        pk__lt=OuterRef("pk"),
        status__in=Execution.UNFINISHED,
    ).exclude(ordering_key="")  # said outright, so PostgreSQL may use the execution_ordering index
    return ~Q(ordering_key="") & Q(Exists(earlier))


def head(flow_id: int, key: str) -> Execution | None:
    """The oldest unfinished execution of the line (flow, key): the one that runs, or may run, now."""
    return (
        Execution.objects.filter(flow_id=flow_id, ordering_key=key, status__in=Execution.UNFINISHED)
        .only("pk", "status")
        .order_by("pk")
        .first()
    )


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__
