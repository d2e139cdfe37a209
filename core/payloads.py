"""The one reading of JSON bodies, and what a value must be before erpflow keeps it.

Every API body (DRF's parser, ``core.parsers``) and every trigger body (``flows.payloads``)
is read by ``load_json``, so one limit holds everywhere:

- nesting at most ``MAX_DEPTH`` levels: Python reads JSON back recursively, so a deeper value
  would break every later reader (a worker, a page), and 100,000 brackets would exhaust the
  parser's own recursion (a 500 before this);
- finite numbers only: ``1e400`` becomes infinity in Python, which ``json.dumps`` writes as
  ``Infinity`` and PostgreSQL's jsonb refuses on saving; ``NaN`` and ``Infinity`` are not JSON.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 200
RANGE = "JSON numbers must be finite and between -1.8e308 and 1.8e308"


class PayloadError(ValueError):
    """A JSON document erpflow does not read; the message says what and where."""


def load_json(data: bytes | str, name: str) -> Any:
    """``data`` parsed; ``PayloadError`` when it is not JSON, nests too deeply or holds a number out of range.

    ``name`` is what the message calls the document (``body``, ``payload``).
    """
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise PayloadError(depth_message(name)) from None
    except _OutOfRange as exc:
        raise PayloadError(_locate_out_of_range(data, name, str(exc))) from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"The {name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except UnicodeDecodeError:
        raise PayloadError(f"The {name} is not valid JSON: it is not UTF-8 text.") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise PayloadError(f"The {name} is not accepted: {exc}.") from None
    problem = depth_problem(value, name)
    if problem:
        raise PayloadError(problem)
    return value


class _OutOfRange(Exception):
    pass


def _refuse_constant(text: str):
    raise _OutOfRange(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _OutOfRange(text)
    return number


def _locate_out_of_range(data: bytes | str, name: str, number: str) -> str:
    """Only on refusal: parse again keeping the infinities, then walk to the first one for its path (the
    walk recurses, so a document nesting past the limit is refused for that first)."""
    try:
        value = json.loads(data)
    except RecursionError:
        return depth_message(name)
    if deeper_than(value, MAX_DEPTH):
        return depth_message(name)
    return number_message(find_non_finite(value, name) or name, number)


def depth_message(name: str) -> str:
    return f"The {name} nests objects or lists more than {MAX_DEPTH} levels deep; erpflow does not accept it."


def number_message(where: str, number: str) -> str:
    return f"{where} holds {number}, a number out of range ({RANGE}); send it as text instead."


def deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and lists nest more than ``limit`` levels deep, walked level by level (no recursion)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        children = (node.values() if isinstance(node, dict) else node for node in level)
        level = [item for items in children for item in items if isinstance(item, dict | list)]
    return False


def depth_problem(value: Any, name: str) -> str | None:
    """What is wrong when ``value`` nests deeper than ``MAX_DEPTH``, or None."""
    return depth_message(name) if deeper_than(value, MAX_DEPTH) else None


def number_problem(value: Any, name: str) -> str | None:
    """What is wrong when ``value`` holds NaN or an infinity (PostgreSQL's jsonb stores neither), or None."""
    where = find_non_finite(value, name)
    return None if where is None else number_message(where, "NaN or an infinity")


def find_non_finite(value: Any, path: str) -> str | None:
    """The path of the first NaN or infinity in ``value``, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = find_non_finite(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found:
            return found
    return None


def storage_problem(value: Any, name: str) -> str | None:
    """Why ``value`` cannot be stored, or None: nesting deeper than ``MAX_DEPTH``, a number out of
    range, or text PostgreSQL refuses (a NUL character, or a lone surrogate, which a JSON escape such
    as ``\\ud800`` can produce and UTF-8 cannot encode), which would otherwise fail on saving with a
    500. Values parsed from pages' text fields arrive here unchecked."""
    problem = depth_problem(value, name) or number_problem(value, name)
    if problem:
        return problem
    found = find_unstorable_text(value, name)
    if found is None:
        return None
    where, char = found
    if char == "\x00":
        return (
            f"{where} contains a NUL character (\\u0000), which erpflow cannot store; encode binary data "
            "(for example as base64)."
        )
    return (
        f"{where} contains a lone surrogate (\\u{ord(char):04x}), half of a UTF-16 pair, which is not "
        "Unicode text and cannot be stored; send the whole character."
    )


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def find_unstorable_text(value: Any, path: str) -> tuple[str, str] | None:
    """The path of the first text (or key) holding a NUL or a lone surrogate, and that character."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        return (path, found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _UNSTORABLE.search(str(key))
            if found:
                return f"{path} (a key)", found.group()
            inner = find_unstorable_text(item, f"{path}.{key}")
            if inner:
                return inner
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = find_unstorable_text(item, f"{path}[{index}]")
            if inner:
                return inner
    return None
