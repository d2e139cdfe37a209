"""HTTP instructions: one request, written the way it travels.

::

    POST /v1/customers/{{ trigger.payload.id }}/orders
    Accept: application/json
    X-Correlation-ID: {{ execution.correlation_id }}
    ?status=open
    ?limit={{ trigger.payload.limit }}

    {"customer": {{ trigger.payload.id }}, "lines": {{ steps.lines }}, "note": "for {{ trigger.payload.name }}"}

- The first line is the method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS) and the path, which
  is appended to the connector's base URL; it must start with ``/``. A ``{{ }}`` in the path is
  one URL-encoded value (``/`` becomes ``%2F``), so a value can never add path segments.
- Then, one per line, headers (``Name: value``) and query parameters (``?name=value``); lines
  starting with ``#`` are comments. Their values may hold ``{{ }}`` (written as text).
- After a blank line, the body: JSON (starting with ``{`` or ``[``, or one ``{{ }}`` standing for
  the whole body) or XML (starting with ``<``). The body is parsed once with a placeholder for each
  ``{{ }}`` and built as a structure: in JSON a ``{{ }}`` in value position becomes the typed value
  (number, object, list, ...), inside a string it becomes text within that string; in XML it is
  text or an attribute value, escaped by the serializer. A value can never change the document's shape.

Problems are reported at the line and column where they are.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - parses the instruction's own template, DOCTYPE refused
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from core.masking import Sensitive
from expressions.sandbox import ExpressionError, concat, evaluate
from expressions.template import Part, scan
from instructions import InstructionProblem, Rendered, register, renderer
from instructions.generic import empty_problem, expression_problems, problem_at

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_PATH_CHARS = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$")
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class _Problem(Exception):
    def __init__(self, index: int, message: str):
        self.index, self.message = index, message


@dataclass
class Body:
    """A body template: the parsed document with placeholders, and the expression of each placeholder."""

    kind: str  # "json" or "xml"
    document: Any
    expressions: list[str]


@dataclass
class Template:
    method: str = ""
    path: list[Part] = field(default_factory=list)
    headers: list[tuple[str, list[Part]]] = field(default_factory=list)
    query: list[tuple[str, list[Part]]] = field(default_factory=list)
    body: Body | None = None


def _line_parts(text: str, start: int, end: int) -> list[Part]:
    parts, _ = scan(text[start:end])
    return [Part(p.text, p.start + start, p.is_expression) for p in parts]


def _strip(parts: list[Part]) -> list[Part]:
    """Parts without the whitespace around the whole value."""
    out = list(parts)
    if out and not out[0].is_expression:
        stripped = out[0].text.lstrip()
        out[0] = Part(stripped, out[0].start + len(out[0].text) - len(stripped), False)
    if out and not out[-1].is_expression:
        out[-1] = Part(out[-1].text.rstrip(), out[-1].start, False)
    return [p for p in out if p.is_expression or p.text]


def parse(text: str) -> tuple[Template, list[InstructionProblem]]:
    """The template of an instruction and every problem found (an empty list: it can run)."""
    empty = empty_problem(text)
    if empty:
        return Template(), [empty]
    all_parts, scanned = scan(text)
    problems = [problem_at(text, p.start, p.message) for p in scanned]
    problems += expression_problems(text, all_parts)
    if problems:
        return Template(), problems
    template = Template()
    offset, seen_request = 0, False
    body_start = None
    for raw in text.splitlines(keepends=True):
        line_start, offset = offset, offset + len(raw)
        line = raw.rstrip("\r\n")
        if not line.strip():
            if seen_request:
                body_start = offset
                break
            continue
        if line.lstrip().startswith("#"):
            continue
        try:
            if not seen_request:
                seen_request = True
                _request_line(text, line_start, line, template)
            else:
                _head_line(text, line_start, line, template)
        except _Problem as problem:
            problems.append(problem_at(text, problem.index, problem.message))
    if not seen_request:
        return template, [InstructionProblem(1, 1, "the instruction has no request line such as 'GET /path'")]
    if body_start is not None and text[body_start:].strip():
        try:
            template.body = _body(text, body_start)
        except _Problem as problem:
            problems.append(problem_at(text, problem.index, problem.message))
    return template, problems


def _request_line(text: str, start: int, line: str, template: Template) -> None:
    indent = len(line) - len(line.lstrip())
    method, _, rest = line.strip().partition(" ")
    if method.upper() not in METHODS:
        raise _Problem(start + indent, f"'{method}' is not an HTTP method; use one of {', '.join(METHODS)}")
    template.method = method.upper()
    target_at = line.index(rest, indent + len(method)) if rest.strip() else len(line)
    if not rest.strip():
        raise _Problem(start + target_at, "the request line needs a path after the method, such as 'GET /orders'")
    parts = _strip(_line_parts(text, start + target_at, start + len(line)))
    first = parts[0]
    if first.is_expression or not first.text.startswith("/"):
        raise _Problem(first.start, "the path must start with '/'; it is appended to the connector's base URL")
    for part in parts:
        if part.is_expression:
            continue
        bad = next((i for i, c in enumerate(part.text) if not _PATH_CHARS.match(c)), None)
        if bad is not None:
            char = part.text[bad]
            hint = {
                "?": " (write query parameters on their own lines as ?name=value)",
                " ": " (nothing follows the path on the request line; encode a space as %20)",
            }.get(char, "")
            raise _Problem(part.start + bad, f"the character {char!r} is not allowed in a path{hint}")
    template.path = parts


def _head_line(text: str, start: int, line: str, template: Template) -> None:
    indent = len(line) - len(line.lstrip())
    stripped = line.strip()
    if stripped.startswith("?"):
        name, found, _ = stripped[1:].partition("=")
        if not found or not name.strip() or "{{" in name:
            raise _Problem(start + indent, "write a query parameter as ?name=value (the name without {{ }})")
        value_at = line.index("=", indent) + 1
        template.query.append((name.strip(), _strip(_line_parts(text, start + value_at, start + len(line)))))
        return
    name, found, _ = stripped.partition(":")
    if not found or "{{" in name:
        raise _Problem(
            start + indent,
            "expected a header 'Name: value', a query parameter '?name=value', or a blank line before the body",
        )
    if not _HEADER_NAME.match(name.strip()):
        raise _Problem(start + indent, f"'{name.strip()}' is not a valid header name")
    value_at = line.index(":", indent) + 1
    template.headers.append((name.strip(), _strip(_line_parts(text, start + value_at, start + len(line)))))


def _body(text: str, start: int) -> Body | None:
    parts = _line_parts(text, start, len(text))
    lead = next((p for p in parts if p.is_expression or p.text.strip()), None)
    if lead is None:
        return None
    if lead.is_expression or lead.text.lstrip()[0] in "{[":
        return _json_body(text, parts)
    if lead.text.lstrip()[0] == "<":
        return _xml_body(text, parts)
    index = lead.start + len(lead.text) - len(lead.text.lstrip())
    raise _Problem(index, "the body must be JSON (starting with { or [) or XML (starting with <)")


class _Substituted:
    """A body's text with each ``{{ }}`` replaced by a placeholder, mapping offsets back to the instruction."""

    def __init__(self, parts: list[Part], quoted: bool):
        self.text, self.segments, self.expressions = "", [], []
        in_string = escaped = False
        for part in parts:
            if part.is_expression:
                token = f"{_OPEN}{len(self.expressions)}{_CLOSE}"
                if quoted and not in_string:
                    token = f'"{token}"'
                self.expressions.append(part.text)
                self.segments.append((len(self.text), part.start, True))
                self.text += token
                continue
            self.segments.append((len(self.text), part.start, False))
            self.text += part.text
            if quoted:
                for char in part.text:
                    if escaped:
                        escaped = False
                    elif char == "\\":
                        escaped = in_string
                    elif char == '"':
                        in_string = not in_string

    def original(self, index: int) -> int:
        found = self.segments[0]
        for segment in self.segments:
            if segment[0] <= index:
                found = segment
        sub_start, orig_start, is_expression = found
        return orig_start if is_expression else orig_start + (index - sub_start)


def _json_body(text: str, parts: list[Part]) -> Body:
    sub = _Substituted(parts, quoted=True)
    try:
        document = json.loads(sub.text)
    except json.JSONDecodeError as exc:
        raise _Problem(sub.original(exc.pos), f"the JSON body does not parse: {exc.msg}") from None
    except RecursionError:
        raise _Problem(sub.original(0), "the JSON body is nested too deeply") from None
    return Body("json", document, sub.expressions)


def _xml_body(text: str, parts: list[Part]) -> Body:
    sub = _Substituted(parts, quoted=False)
    if "<!DOCTYPE" in sub.text.upper() or "<!ENTITY" in sub.text.upper():
        at = sub.text.upper().find("<!")
        raise _Problem(sub.original(at), "a DOCTYPE or entity declaration is not allowed in an XML body")
    try:
        document = ET.fromstring(sub.text)  # noqa: S314 - no DOCTYPE, so no entity can expand
    except ET.ParseError as exc:
        line, column = exc.position
        lines = sub.text.split("\n")
        index = sum(len(previous) + 1 for previous in lines[: line - 1]) + column
        message = str(exc).split(":")[0]
        raise _Problem(sub.original(min(index, len(sub.text) - 1)), f"the XML body does not parse: {message}") from None
    if _PLACEHOLDER.search(" ".join(e.tag for e in document.iter())):
        raise _Problem(sub.original(0), "an XML element name cannot be a {{ }} expression")
    return Body("xml", document, sub.expressions)


@register("http")
def check(text: str) -> list[InstructionProblem]:
    _, problems = parse(text)
    return problems


# -- rendering --------------------------------------------------------------------------------------


def _text_of(parts: list[Part], context: dict) -> str:

    return "".join(concat(evaluate(p.text, context)) if p.is_expression else p.text for p in parts)


def _path_value(value: Any) -> str:

    text = concat(value)
    if text in ("", ".", ".."):
        raise ExpressionError(f"a path value may not be {text!r}: it would change which resource is called")
    return quote(text, safe="")


def _single_line(name: str, value: str) -> str:

    if "\r" in value or "\n" in value:
        raise ExpressionError(f"the value of {name} holds a line break, which a header or query value cannot")
    return value


def _fill(value: Any, values: list[Any]) -> Any:
    """A JSON template with its placeholders replaced: whole-string placeholders by typed values."""

    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return values[int(whole.group(1))]
        return _PLACEHOLDER.sub(lambda m: concat(values[int(m.group(1))]), value)
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {_fill(key, values) if isinstance(key, str) else key: _fill(item, values) for key, item in value.items()}
    return value


def _fill_xml(document: ET.Element, values: list[Any]) -> str:

    def sub(text: str | None) -> str | None:
        if text is None:
            return None
        return _PLACEHOLDER.sub(lambda m: concat(values[int(m.group(1))]), text)

    copy = ET.fromstring(ET.tostring(document))  # noqa: S314 - our own serialization of a parsed template
    for element in copy.iter():
        element.text, element.tail = sub(element.text), sub(element.tail)
        for name, value in list(element.attrib.items()):
            element.attrib[name] = sub(value)
    return ET.tostring(copy, encoding="unicode")


@renderer("http")
def render(text: str, context: dict) -> Rendered:
    """The request as ``params`` (method, path, query, headers, body, body_format), with header and query
    values that are credentials masked wherever the params are shown or recorded (``core.masking``)."""

    template, problems = parse(text)
    if problems:
        raise ExpressionError(str(problems[0]))
    path = "".join(_path_value(evaluate(p.text, context)) if p.is_expression else p.text for p in template.path)
    headers = [(name, _single_line(name, _text_of(parts, context))) for name, parts in template.headers]
    query = [(name, _single_line(name, _text_of(parts, context))) for name, parts in template.query]
    body, body_format = None, None
    if template.body is not None:
        values = [evaluate(source, context) for source in template.body.expressions]
        body_format = template.body.kind
        fill = _fill if body_format == "json" else _fill_xml
        body = fill(template.body.document, values)
    params = {
        "method": template.method,
        "path": path,
        "query": Sensitive(query),
        "headers": Sensitive(headers),
        "body": body,
        "body_format": body_format,
    }
    return Rendered(f"{template.method} {path}", params)
