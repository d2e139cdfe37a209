"""A response as a step's output (status, headers with credentials masked, the body parsed when it
can be), and as a failure a retry policy reads (status, ``Retry-After``)."""

from __future__ import annotations

import datetime
import email.utils
from typing import Any
from xml.parsers.expat import ExpatError

import httpx
import xmltodict

from connectors.catalog.base import Failure
from core.masking import masked_headers
from core.payloads import load_json

MAX_RETRY_AFTER_S = 3600.0  # a longer wait is most likely a mistake, or a server that wants no retry today


def retry_after(headers: httpx.Headers, now: datetime.datetime | None = None) -> float | None:
    """The seconds ``Retry-After`` asks to wait (a number of seconds or an HTTP date), at most
    ``MAX_RETRY_AFTER_S``; a date in the past is 0; None when the header is missing or unreadable."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are in GMT; the obsolete forms may say nothing
        when = when.replace(tzinfo=datetime.UTC)
    now = now or datetime.datetime.now(datetime.UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


def status_failure(response: httpx.Response) -> Failure:
    """An error answer as a retry policy reads it."""
    return Failure("http_status", http_status=response.status_code, retry_after_s=retry_after(response.headers))


def body_kind(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return "xml"
    return "text"


def parsed_body(content: bytes, content_type: str, encoding: str | None) -> Any:
    """JSON or XML as data (XML the way ``xmltodict`` maps it: attributes as ``@name``, text as ``#text``);
    anything else, or a body that does not parse as what it claims, as text. JSON is read as erpflow
    reads every body (``core.payloads``): one holding a number out of range or nested too deeply
    to be stored stays text too."""
    if not content:
        return None
    text = content.decode(encoding or "utf-8", errors="replace")
    kind = body_kind(content_type)
    try:
        if kind == "json":
            return load_json(text, "response body")
        if kind == "xml":
            return xmltodict.parse(text, disable_entities=True)
    except (ValueError, ExpatError):
        return text
    return text


def output(response: httpx.Response, content: bytes) -> dict:
    return {
        "status": response.status_code,
        "headers": masked_headers(response.headers),
        "body": parsed_body(content, response.headers.get("content-type", ""), response.charset_encoding),
    }
