"""Events: an ERP reports records created, updated or deleted, in batches, each for a use case.

A use case is a flow exposed to events under its ``use_case_slug`` (``Flow.use_case_*``). Each
event of a batch is judged on its own, so one bad event does not cost the others: it is read and
checked (type, use case, timestamp, payload in its format) before anything is stored, then the
good ones start executions of their use cases' deployed versions together (``flows.batch_start``:
one transaction, a few queries and one bulk INSERT for the batch, as ``flows.triggers.start`` does
for one trigger). Deduplication is that of triggers: the same ``deduplication_id`` for the same use
case within ``DEDUPLICATION_WINDOW`` answers the first execution, serialized by the same locks as
REST triggers, so parallel batches carrying the same ids create each event once.

What started an execution is kept in its input as ``event`` (``trigger.event`` in expressions),
with the parsed payload also as ``trigger.payload`` so flows written for REST triggers run as they are.

A use case with ``ordered_by`` keys each event (``flows.ordering``): the executions with one key
run one at a time in acceptance order; ``send_next`` sends the next one when the one before ends.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts import environments
from accounts.models import Environment
from flows import batch_start, ordering, payloads, triggers
from flows.models import EVENT_TYPES, USE_CASE_SLUG, Execution, Flow
from flows.tasks import run_execution
from flows.triggers import TriggerError, TriggerRequest

logger = logging.getLogger("erpflow.events")

MAX_EVENTS = 100
FORMATS = ("json", "xml")
EVENT_FIELDS = ("event_type", "use_case_slug", "event_name", "timestamp", "format", "payload", "deduplication_id")
BATCH_FIELDS = ("meta", "events", "environment")
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
UNKNOWN_EVENT = "unknown event"


class Rejected(Exception):
    """One event (or replay) that cannot run; the message is the reason the answer gives for it."""


@dataclass(frozen=True)
class Outcome:
    """What became of one event: ``id`` is its execution (the first one's for a duplicate)."""

    index: int
    outcome: str
    id: int | None = None
    reason: str = ""
    event_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index}
        if self.event_id is not None:
            data["event_id"] = self.event_id
        data.update(id=self.id, outcome=self.outcome)
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class Batch:
    """A batch whose shape was checked; its events are judged one by one in ``receive``."""

    events: list
    environment: str | None
    correlation_id: str


@dataclass(frozen=True)
class Event:
    """One event that passed every check that needs no database."""

    event_type: str
    use_case: str
    timestamp: str
    format: str
    payload: Any
    deduplication_id: str


def read_batch(data: Any, *, query_environment: str | None, header_correlation: str | None) -> Batch:
    """The batch's shape: a 400 (``TriggerError``) for what makes the whole request unreadable."""
    if not isinstance(data, dict):
        raise TriggerError('The body must be a JSON object such as {"meta": {...}, "events": [...]}.', field="body")
    unknown = sorted(set(data) - set(BATCH_FIELDS))
    if unknown:
        raise TriggerError(
            f"Unknown field '{unknown[0]}' (accepted fields: {', '.join(BATCH_FIELDS)}).", field=unknown[0]
        )
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise TriggerError('meta must be an object such as {"correlation_id": "..."}.', field="meta")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise TriggerError("events must be a list of at least one event.", field="events")
    if len(events) > MAX_EVENTS:
        raise TriggerError(
            f"A batch holds at most {MAX_EVENTS} events; this one has {len(events)}. Send the rest in another batch.",
            field="events",
        )
    correlation = _batch_text(meta.get("correlation_id") or header_correlation, "correlation_id")
    environment = _batch_text(data.get("environment") or query_environment, "environment")
    return Batch(events=events, environment=environment or None, correlation_id=correlation or uuid.uuid4().hex)


def environment_for(organization, batch: Batch) -> Environment:
    """The batch's environment, required as for REST triggers; a 400 lists the ones there are."""
    try:
        return environments.get(organization, batch.environment)
    except environments.UnknownEnvironment as exc:
        raise TriggerError(str(exc), field="environment") from None


def receive(
    organization, environment: Environment, batch: Batch, *, user=None, headers: dict | None = None
) -> list[Outcome]:
    """Start an execution for each good event of ``batch``; every event gets its outcome, in order."""
    # Only what could be a use case slug is looked up: anything else is unknown (and may not even be storable).
    named = {_use_case_of(raw) for raw in batch.events if isinstance(raw, dict)}
    named = {slug for slug in named if re.match(USE_CASE_SLUG, slug)}
    use_cases = {
        flow.use_case_slug: flow
        for flow in Flow.objects.filter(organization=organization, use_case_slug__in=named).defer("draft")
    }
    outcomes: dict[int, Outcome] = {}
    starts: list[tuple[int, Flow, TriggerRequest]] = []
    for index, raw in enumerate(batch.events):
        try:
            event = read_event(raw)
            flow = _use_case(use_cases, event)
            recorded = _recorded(event, batch.correlation_id)
            request = TriggerRequest(
                payload=event.payload,
                correlation_id=batch.correlation_id,
                deduplication_id=event.deduplication_id,
                headers=headers or {},
                event=recorded,
                ordering_key=_ordering_key(flow, recorded),
            )
        except Rejected as exc:
            outcomes[index] = Outcome(index, REJECTED, reason=str(exc))
        else:
            starts.append((index, flow, request))
    started = batch_start.start_many(
        [(flow, request) for _, flow, request in starts], environment, trigger=Execution.Trigger.EVENT, user=user
    )
    for (index, _, _), result in zip(starts, started, strict=True):
        if result.error is not None:
            outcomes[index] = Outcome(index, REJECTED, reason=result.error.message)
        else:
            outcomes[index] = Outcome(index, ACCEPTED if result.created else DUPLICATE, id=result.execution_id)
    return [outcomes[index] for index in range(len(batch.events))]


def read_event(raw: Any) -> Event:
    """One event checked field by field; ``Rejected`` says what is wrong with it."""
    if not isinstance(raw, dict):
        raise Rejected("an event must be an object")
    unknown = sorted(set(raw) - set(EVENT_FIELDS))
    if unknown:
        raise Rejected(f"unknown field '{_shown(unknown[0])}' (accepted fields: {', '.join(EVENT_FIELDS)})")
    event_type = raw.get("event_type")
    if event_type not in EVENT_TYPES:
        raise Rejected(f"event_type must be one of {', '.join(EVENT_TYPES)}; got {event_type!r}")
    use_case = _use_case_of(raw)
    if not use_case:
        raise Rejected("use_case_slug (or the older event_name) is required")
    kind = raw.get("format", "json")
    if kind not in FORMATS:
        raise Rejected(f"format must be json or xml; got {kind!r}")
    return Event(
        event_type=event_type,
        use_case=use_case,
        timestamp=_timestamp(raw.get("timestamp")),
        format=kind,
        payload=_payload(raw.get("payload"), kind),
        deduplication_id=_text(raw.get("deduplication_id"), "deduplication_id"),
    )


def replay(organization, ids: list[int], *, user=None) -> list[Outcome]:
    """Run event executions again, each as a new execution linked to it (``replay_of``).

    An id of another organization, or of an execution no event started, is an unknown event: the
    answer does not tell the two apart. A use case disabled since is refused, per id.
    """
    found = {
        execution.pk: execution
        for execution in Execution.objects.filter(
            organization=organization, pk__in=ids, input__has_key="event"
        ).select_related("flow", "version", "environment")
    }
    outcomes = []
    for index, event_id in enumerate(ids):
        execution = found.get(event_id)
        try:
            if execution is None:
                raise Rejected(UNKNOWN_EVENT)
            if not execution.flow.use_case_enabled:
                raise Rejected(f"use case '{execution.flow.use_case_slug}' is disabled")
            again = triggers.replay(execution, user)
        except Rejected as exc:
            outcomes.append(Outcome(index, REJECTED, reason=str(exc), event_id=event_id))
        except TriggerError as exc:
            outcomes.append(Outcome(index, REJECTED, reason=exc.message, event_id=event_id))
        else:
            outcomes.append(Outcome(index, ACCEPTED, id=again.pk, event_id=event_id))
    return outcomes


def send_next(sender, execution_id: int, execution: Execution | None = None, **kwargs) -> None:
    """``execution_finished``: when an execution with an ordering key ends, send the next one of its line.

    The head is sent again even when it was sent before (a held execution that was cancelled
    ended, not the head): a second message finds it claimed and does nothing. A broker that
    refuses leaves it queued for the stranded sweep (``flows.stranded``), which sends heads only.
    """
    if execution is not None:
        found = (execution.flow_id, execution.ordering_key)
    else:
        found = Execution.objects.filter(pk=execution_id).values_list("flow_id", "ordering_key").first()
    if found is None or not found[1]:
        return
    flow_id, key = found
    with transaction.atomic():
        ordering.lock(flow_id, key)
        head = ordering.head(flow_id, key)
        if head is not None and head.status == Execution.Status.QUEUED:
            transaction.on_commit(lambda: _send(head.pk))


def _send(execution_id: int) -> None:
    try:
        run_execution.apply_async((execution_id,), queue=settings.ERPFLOW_EXECUTION_QUEUE)
    except Exception as exc:  # the execution stays queued: the stranded sweep sends it
        logger.warning("execution %s, next in its line, was not sent (%s); the sweep will", execution_id, exc)


def _ordering_key(flow: Flow, event: dict) -> str:
    if not flow.ordered_by:
        return ""
    try:
        return ordering.key_of(flow.ordered_by, event)
    except ordering.BadKey as exc:
        raise Rejected(str(exc)) from None


def _use_case_of(raw: dict) -> str:
    """``use_case_slug``, else the legacy ``event_name``: senders written before use cases name them so."""
    for key in ("use_case_slug", "event_name"):
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _use_case(use_cases: dict[str, Flow], event: Event) -> Flow:
    flow = use_cases.get(event.use_case)
    if flow is None:
        raise Rejected(f"unknown use case '{_shown(event.use_case)}'")
    if not flow.use_case_enabled:
        raise Rejected(f"use case '{event.use_case}' is disabled")
    if event.event_type not in flow.event_types:
        accepted = ", ".join(flow.event_types)
        raise Rejected(f"use case '{event.use_case}' does not take {event.event_type} events (it takes {accepted})")
    return flow


def _timestamp(value: Any) -> str:
    """ISO 8601 with a UTC offset: a time without one would mean different instants to different systems."""
    example = "e.g. 2026-03-01T12:00:00Z"
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise Rejected(f"timestamp must be an ISO 8601 date and time ({example}); got {value!r}")
    if moment.utcoffset() is None:
        raise Rejected(f"timestamp {value!r} has no UTC offset ({example})")
    return moment.isoformat()


def _payload(value: Any, kind: str) -> Any:
    """The payload string parsed in its format, with the checks (size, depth, NUL, DOCTYPE) of REST triggers."""
    if not isinstance(value, str):
        raise Rejected(f"payload must be a string holding {kind.upper()}")
    try:
        body = value.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected("payload holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text") from None
    limit = settings.ERPFLOW_MAX_PAYLOAD_BYTES
    if len(body) > limit:
        raise Rejected(f"payload is {len(body):,} bytes; at most {limit:,} are accepted")
    try:
        parsed = payloads.parse_json(body, "payload") if kind == "json" else payloads.parse_xml(body)
        payloads.refuse_unstorable(parsed, "payload")  # a JSON escape such as "\ud800" included
    except TriggerError as exc:
        raise Rejected(f"bad {kind.upper()} payload: {exc.message}") from None
    return parsed


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejected(f"{name} must be text")
    text = str(value).strip()
    if len(text) > payloads.MAX_ID_LENGTH:
        raise Rejected(f"{name} is {len(text)} characters long; at most {payloads.MAX_ID_LENGTH} are allowed")
    if not text.isprintable():
        raise Rejected(f"{name} may only contain printable characters")
    return text


def _shown(text: str) -> str:
    """``text`` as a reason may quote it: escaped when it is not printable (a lone surrogate cannot be sent)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _batch_text(value: Any, name: str) -> str:
    try:
        return _text(value, name)
    except Rejected as exc:
        raise TriggerError(f"{exc}.", field=name) from None


def _recorded(event: Event, correlation_id: str) -> dict:
    """``trigger.event``: the envelope as the flow sees it."""
    return {
        "type": event.event_type,
        "timestamp": event.timestamp,
        "format": event.format,
        "payload": event.payload,
        "correlation_id": correlation_id,
        "deduplication_id": event.deduplication_id,
    }
