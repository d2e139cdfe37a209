"""Starting executions: the one path every trigger takes (REST, webhook, schedule, manual run, replay).

A trigger request is read and judged before anything is stored, so bad input leaves nothing
behind: the body is read up to ``ERPFLOW_MAX_PAYLOAD_BYTES`` (413 above it), its content type
must be JSON or XML (415 otherwise; a webhook also takes a form), JSON must parse (as every API
body: ``core.payloads``), XML must be well-formed and free of DOCTYPE declarations in whatever
encoding it comes, the payload may nest at most ``core.payloads.MAX_DEPTH`` levels, and no value
may hold a NUL character or a number out of range (PostgreSQL, where executions are kept, cannot
store either).

``start`` then creates the execution of the version deployed to the environment and sends it to
the workers once the row is committed (after the surrounding transaction, if any). A deduplication
id makes the trigger idempotent for ``DEDUPLICATION_WINDOW``: the same id (per flow) returns the
first execution and runs nothing. Two identical requests at the same instant are serialized by a
lock on (flow, id) held until commit, so only one of them can create the execution.

If the broker refuses the task, the execution is deleted again and ``QueueUnavailable`` raised:
the caller learns that nothing will run, and a retry with the same deduplication id is not
answered with an execution that never ran.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.parsers import expat

import xmltodict
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from accounts import environments
from accounts.models import Environment
from core.errors import too_large_message
from core.payloads import PayloadError, depth_problem, load_json, number_problem
from flows import graph as graphs
from flows import versions
from flows.models import Deployment, Execution, Flow
from flows.tasks import run_execution

logger = logging.getLogger("erpflow.triggers")

DEDUPLICATION_WINDOW = timedelta(hours=24)
MAX_WAIT_SECONDS = 60
MAX_ID_LENGTH = 200
ENVELOPE = ("environment", "payload", "correlation_id", "deduplication_id", "wait")
SENSITIVE_HEADER = re.compile(r"auth|cookie|token|secret|key|signature|password|session|csrf", re.IGNORECASE)
# Byte order marks and the first bytes of '<' (XML 1.0, appendix F) of the encodings expat cannot read
# (UTF-32) or would read past a text check (UTF-16): such bodies are decoded here first. UTF-32's
# marks come first, since UTF-32LE's begins with UTF-16LE's.
UNICODE_XML = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (b"<\x00\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\x00<", "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    (b"<\x00", "utf-16-le", "UTF-16"),
    (b"\x00<", "utf-16-be", "UTF-16"),
)
NO_DOCTYPE = "XML payloads may not contain a DOCTYPE declaration."
FORM = "application/x-www-form-urlencoded"


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
    with, the correlation and deduplication ids, and (from HTTP) the environment and how long to wait."""

    payload: Any = field(default_factory=dict)
    environment: str | None = None
    wait: int = 0
    correlation_id: str = ""
    deduplication_id: str = ""
    headers: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)


# -- reading HTTP requests ------------------------------------------------------------------------------


def content_length(meta: dict) -> int:
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or 0))
    except ValueError:
        raise TriggerError("The Content-Length header is not a number.") from None


def read_limited(stream, declared: int) -> bytes:
    """At most ``ERPFLOW_MAX_PAYLOAD_BYTES`` from ``stream``; 413 when the body is (or says it is) larger.

    Reads the stream itself (not ``request.body``) so that this limit, not Django's general upload
    limit, decides; a declared length above the limit is refused before anything is read.
    """
    limit = settings.ERPFLOW_MAX_PAYLOAD_BYTES
    if declared > limit:
        raise too_large(declared, limit)
    body = stream.read(limit + 1) or b""
    if len(body) > limit:
        raise too_large(len(body), limit)
    return body


def read_body(request: HttpRequest) -> bytes:
    return read_limited(request, content_length(request.META))


def too_large(size: int, limit: int) -> TriggerError:
    return TriggerError(too_large_message(size, limit), status=413)


def media_type(request: HttpRequest) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def is_xml(media: str) -> bool:
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def parse_json(body: bytes, name: str) -> Any:
    """``body`` read as every API body is (``core.payloads.load_json``); ``name`` is what it holds."""
    try:
        return load_json(body, name)
    except PayloadError as exc:
        raise TriggerError(str(exc), field="body") from None


def parse_xml(body: bytes) -> Any:
    """The XML document as a dict (``xmltodict``: attributes as ``@name``, mixed text as ``#text``).

    Any DOCTYPE is refused by the parser itself when it meets one, after decoding, so no encoding
    can hide it; UTF-16 and UTF-32 bodies are decoded here, expat reads the rest (UTF-8, Latin-1).
    """
    try:
        payload = xmltodict.parse(_xml_text(body), disable_entities=True, expat=_NoDoctypeExpat)
    except expat.ExpatError as exc:
        raise TriggerError(f"The body is not well-formed XML: {exc}.", field="body") from None
    except (ValueError, RecursionError) as exc:
        raise TriggerError(f"The XML body is not accepted: {exc}.", field="body") from None
    too_deep = depth_problem(payload, "payload")
    if too_deep:
        raise TriggerError(too_deep, field="payload")
    return payload


def _xml_text(body: bytes) -> bytes | str:
    """A UTF-16 or UTF-32 body (told by its byte order mark or first bytes) as text; others as they came."""
    for start, codec, label in UNICODE_XML:
        if body.startswith(start):
            try:
                return body.decode(codec)
            except UnicodeDecodeError:
                raise TriggerError(
                    f"The XML body starts as {label} text but is not valid {label}.", field="body"
                ) from None
    return body


def _refuse_doctype(*_args) -> None:
    raise TriggerError(NO_DOCTYPE, field="body")


class _NoDoctypeExpat:
    """Stands in for the expat module in ``xmltodict.parse``: its parsers stop at any DOCTYPE, so no
    entity (internal, as in "billion laughs", or external) is ever declared."""

    @staticmethod
    def ParserCreate(*args, **kwargs):  # noqa: N802 - the name xmltodict calls
        parser = expat.ParserCreate(*args, **kwargs)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        return parser


def parse_form(body: bytes) -> dict:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise TriggerError("The form body is not UTF-8 text.", field="body") from None
    return {key: values[0] if len(values) == 1 else values for key, values in fields.items()}


def recorded_headers(request: HttpRequest) -> dict[str, str]:
    """Request headers a step may read as ``trigger.headers``; credentials are never recorded."""
    return {name: value for name, value in request.headers.items() if not SENSITIVE_HEADER.search(name)}


def recorded_query(request: HttpRequest, control: tuple[str, ...]) -> dict[str, Any]:
    query = {}
    for key, values in request.GET.lists():
        if key not in control:
            query[key] = values[0] if len(values) == 1 else values
    return query


def parse_request(body: bytes, request: HttpRequest, *, envelope: bool, accept_form: bool = False) -> TriggerRequest:
    """Judge a trigger request's ``body`` (read by ``read_limited``), content type, query string and headers;
    raises ``TriggerError`` (4xx) for anything wrong with them.

    With ``envelope`` (the REST trigger) a JSON body is ``{"environment", "payload",
    "correlation_id", "deduplication_id", "wait"}``; an XML body is the payload itself. Without it
    (webhooks) the whole body is the payload. Control values missing from the body are taken
    from the query string, then from ``X-Correlation-ID`` and ``Idempotency-Key``.
    """
    media = media_type(request)
    data: dict[str, Any] = {}
    if not body.strip():
        payload: Any = {}
    elif is_json(media):
        parsed = parse_json(body, "body" if envelope else "payload")
        if envelope:
            data = _envelope(parsed)
            payload = data.get("payload", {})
        else:
            payload = parsed
    elif is_xml(media):
        payload = parse_xml(body)
    elif accept_form and media == FORM:
        payload = parse_form(body)
    else:
        accepted = "application/json or application/xml" + (f" or {FORM}" if accept_form else "")
        raise TriggerError(
            f"Content type '{media or 'none'}' is not accepted; send the body as {accepted}.", status=415
        )
    query = request.GET
    correlation = _first(
        data.get("correlation_id"), query.get("correlation_id"), request.headers.get("X-Correlation-ID")
    )
    deduplication = _first(
        data.get("deduplication_id"), query.get("deduplication_id"), request.headers.get("Idempotency-Key")
    )
    parsed_request = TriggerRequest(
        payload=payload,
        environment=_text(_first(data.get("environment"), query.get("environment")), "environment", 60) or None,
        wait=parse_wait(data["wait"] if "wait" in data else query.get("wait")),
        correlation_id=_text(correlation, "correlation_id", MAX_ID_LENGTH),
        deduplication_id=_text(deduplication, "deduplication_id", MAX_ID_LENGTH),
        headers=recorded_headers(request),
        query=recorded_query(request, ENVELOPE),
    )
    # A NUL arrives as JSON's \u0000, a form's %00, or a raw byte: look closer only then. (One in the
    # query string never gets here: core.middleware refuses it for every request.)
    if any(mark in body for mark in (b"\\u0000", b"%00", b"\x00")):
        refuse_unstorable(parsed_request.payload, "payload")
    return parsed_request


def _envelope(parsed: Any) -> dict:
    if not isinstance(parsed, dict):
        raise TriggerError(
            'The body must be a JSON object such as {"environment": "sandbox", "payload": {...}}.', field="body"
        )
    unknown = sorted(set(parsed) - set(ENVELOPE))
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise TriggerError(
            f"Unknown field{'s' if len(unknown) > 1 else ''} {names}: put the flow's input under 'payload' "
            f"(accepted fields: {', '.join(ENVELOPE)}).",
            field=unknown[0],
        )
    return parsed


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    return None


def _text(value: Any, name: str, max_length: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TriggerError(f"{name} must be text.", field=name)
    text = str(value).strip()
    if len(text) > max_length:
        raise TriggerError(f"{name} is {len(text)} characters long; at most {max_length} are allowed.", field=name)
    if not text.isprintable():
        raise TriggerError(f"{name} may only contain printable characters.", field=name)
    return text


def parse_wait(value: Any) -> int:
    """Seconds to wait for the result, 0..60; a query string gives it as text."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WAIT_SECONDS:
        raise TriggerError(
            f"wait must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}; got {value!r}.", field="wait"
        )
    return value


def storage_problem(value: Any, name: str) -> str | None:
    """Why ``value`` cannot be stored, or None: nesting deeper than ``core.payloads.MAX_DEPTH``, a
    number out of range or a NUL character (PostgreSQL stores neither in jsonb), which would otherwise
    fail on saving with a 500. Values parsed from pages' text fields arrive here unchecked."""
    problem = depth_problem(value, name) or number_problem(value, name)
    if problem:
        return problem
    where = find_nul(value, name)
    if where is None:
        return None
    return (
        f"{where} contains a NUL character (\\u0000), which erpflow cannot store; encode binary data "
        "(for example as base64)."
    )


def refuse_unstorable(value: Any, name: str) -> None:
    """A 400 (``TriggerError``) saying why ``value`` cannot be stored."""
    problem = storage_problem(value, name)
    if problem:
        raise TriggerError(problem, field=name)


def find_nul(value: Any, path: str) -> str | None:
    """The path of the first text holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return f"{path} (a key)"
            found = find_nul(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}[{index}]")
            if found:
                return found
    return None


# -- starting executions -------------------------------------------------------------------------------


def environment_of(flow: Flow, slug: str | None) -> Environment:
    """The flow organization's environment named ``slug``; a 400 lists the ones that exist."""
    try:
        return environments.get(flow.organization_id, slug)
    except environments.UnknownEnvironment as exc:
        raise TriggerError(str(exc), field="environment") from None


def start(
    flow: Flow, environment: Environment | str | None, request: TriggerRequest, *, trigger: str, user=None
) -> tuple[Execution, bool]:
    """Queue an execution of the version deployed to ``environment`` with what ``request`` carries;
    returns it and whether it is new.

    An earlier execution of ``flow`` with the same ``request.deduplication_id`` within
    ``DEDUPLICATION_WINDOW`` is returned instead (``False``), and nothing is queued.
    """
    if isinstance(environment, Environment):
        if environment.organization_id != flow.organization_id:
            raise TriggerError("That environment does not belong to this flow's organization.", field="environment")
        env_slug = environment.slug
    else:
        env_slug = environment
    deduplication_id = request.deduplication_id
    # Without a deduplication id the one INSERT needs no transaction of its own: a round trip less.
    with transaction.atomic() if deduplication_id else nullcontext():
        if deduplication_id:
            _lock(flow, deduplication_id)
            first = _duplicate_of(flow, deduplication_id)
            if first is not None:
                return first, False
        if not flow.enabled:
            raise TriggerError(f"Flow '{flow.name}' is disabled; enable it to run it.", status=409)
        deployment = _deployment(flow, env_slug) if env_slug else None
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
        )
    return execution, True


def run_draft(flow: Flow, user, payload: Any = None) -> Execution:
    """A manual test run: a snapshot of the draft, run in the sandbox with ``payload``.

    Disabled flows may be test-run: disabling stops outside triggers, not their author.
    """

    sandbox = Environment.objects.filter(organization_id=flow.organization_id, slug="sandbox").first()
    if sandbox is None:
        raise TriggerError("This organization has no 'sandbox' environment to run test runs in.", status=409)
    problems = graphs.validate(flow.draft, flow.organization, user=user, environment=sandbox)
    if problems:
        raise graphs.InvalidGraph(problems, "The draft cannot run in the sandbox")
    with transaction.atomic():
        version = versions.snapshot_draft(flow, user)
        return _create(
            flow,
            version=version,
            environment=sandbox,
            trigger=Execution.Trigger.MANUAL,
            request=TriggerRequest(payload=payload),
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
        ids = [replay.pk for replay in replays]
        transaction.on_commit(lambda: enqueue(*ids))
    return replays


def _replay(execution: Execution, user, *, queue: bool = True) -> Execution:
    inputs = execution.input if isinstance(execution.input, dict) else {}
    request = TriggerRequest(
        payload=inputs.get("payload"),
        headers=inputs.get("headers") or {},
        query=inputs.get("query") or {},
        correlation_id=execution.correlation_id,
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
) -> Execution:
    """Insert a queued execution; with ``queue`` it is sent to the workers once the transaction commits."""
    payload = request.payload
    execution = Execution.objects.create(
        organization_id=flow.organization_id,
        flow=flow,
        version=version,
        environment=environment,
        trigger=trigger,
        input={"payload": {} if payload is None else payload, "headers": request.headers, "query": request.query},
        correlation_id=request.correlation_id or uuid.uuid4().hex,
        deduplication_key=request.deduplication_id,
        started_by=user if getattr(user, "is_authenticated", False) else None,
        replay_of=replay_of,
    )
    if queue:
        transaction.on_commit(lambda: enqueue(execution.pk))
    return execution


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


def _lock(flow: Flow, deduplication_id: str) -> None:
    """Serialize triggers of one flow carrying the same deduplication id until this transaction ends."""
    if connection.vendor == "postgresql":
        digest = hashlib.blake2b(f"{flow.pk}:{deduplication_id}".encode(), digest_size=8).digest()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])
    else:
        # SQLite has no advisory locks: a write takes the database's write lock for the transaction.
        Flow.objects.filter(pk=flow.pk).update(slug=F("slug"))


def _deployment(flow: Flow, env_slug: str) -> Deployment | None:
    """The deployment of ``flow`` in the environment ``env_slug``, with its version (not its graph)."""
    found = (
        Deployment.objects.filter(flow=flow, environment__slug=env_slug)
        .select_related("environment", "version")
        .defer("version__graph")[:1]
    )
    return next(iter(found), None)


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
