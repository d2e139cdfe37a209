"""A response as a step's output: status, headers with credentials masked, the body parsed when it can be."""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

import httpx
import xmltodict

from core.masking import masked_headers
from core.payloads import load_json


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
