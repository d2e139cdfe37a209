"""Reading a trigger's HTTP request (REST trigger and webhook) into a ``TriggerRequest``.

A request is read and judged before anything is stored, so bad input leaves nothing behind: the
body is read up to ``ERPFLOW_MAX_PAYLOAD_BYTES`` (413 above it), its content type must be JSON or
XML (415 otherwise; a webhook also takes a form), JSON must parse (as every API body:
``core.payloads``), XML must be well-formed and free of DOCTYPE declarations in whatever encoding
it comes, the payload may nest at most ``core.payloads.MAX_DEPTH`` levels, and no value may hold
a NUL character or a number out of range (PostgreSQL, where executions are kept, cannot store
either). Every refusal is a ``TriggerError`` with its 4xx status; ``flows.triggers`` then starts
the execution.
"""

from __future__ import annotations

import codecs
import re
from typing import Any
from urllib.parse import parse_qs
from xml.parsers import expat

import xmltodict
from django.conf import settings
from django.http import HttpRequest

from core.errors import too_large_message
from core.payloads import PayloadError, depth_problem, load_json, storage_problem
from flows.triggers import MAX_WAIT_SECONDS, TriggerError, TriggerRequest

MAX_ID_LENGTH = 200
ENVELOPE = ("environment", "payload", "correlation_id", "deduplication_id", "wait", "fail_status")
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
# A JSON escape of half a UTF-16 pair; paired ones parse to one character and pass the closer look.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


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
    "correlation_id", "deduplication_id", "wait", "fail_status"}``; an XML body is the payload itself. Without it
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
        fail_status=parse_fail_status(data["fail_status"] if "fail_status" in data else query.get("fail_status")),
        correlation_id=_text(correlation, "correlation_id", MAX_ID_LENGTH),
        deduplication_id=_text(deduplication, "deduplication_id", MAX_ID_LENGTH),
        headers=recorded_headers(request),
        query=recorded_query(request, ENVELOPE),
    )
    # A NUL arrives as JSON's \u0000, a form's %00, or a raw byte, and a lone surrogate only as a JSON
    # escape (\ud800 to \udfff): look closer only then. (A NUL in the query string never gets here:
    # core.middleware refuses it for every request.)
    if any(mark in body for mark in (b"\\u0000", b"%00", b"\x00")) or SURROGATE_ESCAPE.search(body):
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


def parse_fail_status(value: Any) -> int | None:
    """The HTTP status a waited trigger answers when its execution failed (see ``flows.outcomes``)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{3}\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise TriggerError(f"fail_status must be an HTTP status from 400 to 599; got {value!r}.", field="fail_status")
    return value


# The same check guards every JSON value flows keep besides trigger payloads: drafts, import files and
# schedule payloads, from the API and from pages' text fields.
def refuse_unstorable(value: Any, name: str) -> None:
    """A 400 (``TriggerError``) saying why ``value`` cannot be stored."""
    problem = storage_problem(value, name)
    if problem:
        raise TriggerError(problem, field=name)
