"""The one result shape of a call, whatever the transport, and what its BAPIRET2 messages mean.

Neither pyrfc nor RFC over SOAP says which returned parameter is an export, a changing or a
table parameter: both answer one flat set of names. Without the function's interface (which SOAP
does not carry), the direction follows from what SAP sends back:

- ``tables``: a value that is a list of rows, or a parameter the call sent as a list;
- ``changing``: a parameter the call sent (as a value or structure) and got back, since SAP never
  returns a pure import parameter;
- ``export``: everything else it returned;
- ``messages``: the BAPIRET2 (or older BAPIRETURN) rows of the messages parameter, as SAP wrote them.
  That is ``RETURN`` unless the step names another (``message_parameter``); when the function
  returns no parameter of that name, every returned structure or table whose rows have ``TYPE`` and
  ``MESSAGE`` is read as messages (``ET_RETURN``, ``RETURNMESSAGES``, ``MESSAGES``, ...).

One case differs between the transports: an output table that comes back empty and was not sent
is ``[]`` from pyrfc, while SOAP writes it as an empty element, indistinguishable from an empty
field, so it appears under ``export`` as ``""``. Send such a table as ``[]`` to make it a table.

A message of type E (error) or A (abort) fails the call with its text and number; W (warning)
does too when the step treats warnings as errors. S, I and W messages stay in the output.

Several calls (or one with an alias) keep each call's result apart (``combine``): a later call's
``RETURN`` or ``EXPORT`` must not hide an earlier one's, as the order number of a create followed
by a commit would be.
"""

from __future__ import annotations

from typing import Any

from connectors.catalog.base import ConnectorError, Failure

MESSAGE_PARAMETER = "RETURN"
FAILING = frozenset({"E", "A"})


class BapiError(ConnectorError):
    """A call answered with an E or A message (or W, as the step asked); the messages are kept, and
    ``partial_output`` holds what SAP answered (set by ``connectors.sap.calls``). Its failure names the
    first failing message as ``CLASS/NUMBER`` (``V1/302``), for a retry policy's ``sap_messages``."""

    def __init__(self, message: str, messages: list[dict], bad: list[dict] | None = None):
        first = (bad or [{}])[0]
        super().__init__(message, failure=Failure("sap_message", sap_message=message_key(first)))
        self.messages = messages


def message_key(row: dict) -> str | None:
    """``CLASS/NUMBER`` of a BAPIRET2 row (the number with three digits), or None without both."""
    klass = str(row.get("ID") or "").strip().upper()
    number = str(row.get("NUMBER") or "").strip()
    if not klass or not number:
        return None
    return f"{klass}/{number.zfill(3)}"


def _is_message(row: Any) -> bool:
    return isinstance(row, dict) and "TYPE" in row and "MESSAGE" in row


def _looks_like_messages(value: Any) -> bool:
    """A returned structure or non-empty table whose rows are all BAPIRET2/BAPIRETURN-shaped."""
    if _is_message(value):
        return True
    return isinstance(value, list) and bool(value) and all(_is_message(row) for row in value)


def messages_of(value: Any) -> list[dict] | None:
    """The rows of a ``RETURN`` parameter (a table or one structure), or None when it holds no messages."""
    if value in ("", None, []):
        return []
    if _is_message(value):
        value = [value]
    if isinstance(value, list) and all(_is_message(row) for row in value):
        return [row for row in value if str(row.get("TYPE") or "").strip()]
    return None


def shape(sent: dict, returned: dict, message_parameter: str = MESSAGE_PARAMETER) -> dict:
    """Sort a call's returned parameters into the result shape (see the module docstring)."""
    out: dict[str, Any] = {"export": {}, "changing": {}, "tables": {}, "messages": []}
    named = message_parameter.upper()
    detect = named not in {str(name).upper() for name in returned}
    for name, value in returned.items():
        key = str(name).upper()
        if key == named or detect and _looks_like_messages(value):
            rows = messages_of(value)
            if rows is not None:
                out["messages"].extend(rows)
                continue
        if isinstance(value, list) or isinstance(sent.get(key), list):
            out["tables"][key] = value if isinstance(value, list) else []
        elif key in sent:
            out["changing"][key] = value
        else:
            out["export"][key] = value
    return out


SECTION_KEYS = {"importing": "export", "changing": "changing", "tables": "tables"}


def selected(answer: dict, select: dict | None, function: str) -> dict:
    """Only the outputs a call selected (``IMPORTING [..] TABLES [..]``), and its messages; a name under
    IMPORTING, CHANGING or TABLES is put under export, changing or tables whatever SAP's answer looked
    like (SOAP writes an empty table as an empty field), one under RETURNING where ``shape`` put it.
    A selected name SAP did not return fails the call, naming it: it is most likely misspelt."""
    if not select:
        return answer
    found = {name: (key, value) for key in SECTION_KEYS.values() for name, value in answer[key].items()}
    out: dict[str, Any] = {key: {} for key in SECTION_KEYS.values()}
    out["messages"] = answer["messages"]
    for section, names in select.items():
        for name in names:
            if name not in found:
                raise ConnectorError(f"{function} returned no parameter {name} (selected under {section.upper()})")
            key, value = found[name]
            key = SECTION_KEYS.get(section, key)
            out[key][name] = ([] if value in ("", None) else value) if key == "tables" else value
    return out


def failing(messages: list[dict], *, warnings_as_errors: bool) -> list[dict]:
    types = FAILING | {"W"} if warnings_as_errors else FAILING
    return [row for row in messages if str(row.get("TYPE")).strip().upper() in types]


def describe(row: dict) -> str:
    """``E V1 849: Credit limit exceeded`` (type, message class, number, text)."""
    kind = str(row.get("TYPE") or "").strip()
    klass = str(row.get("ID") or "").strip()
    number = str(row.get("NUMBER") or row.get("CODE") or "").strip()
    label = " ".join(part for part in (kind, klass, number) if part)
    return f"{label}: {str(row.get('MESSAGE') or '').strip()}"


def failure(function: str, bad: list[dict], messages: list[dict]) -> BapiError:
    shown = "; ".join(describe(row) for row in bad[:3])
    more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
    return BapiError(f"{function} answered {shown}{more}", messages, bad)


def label(function: str, alias: str | None) -> str:
    """How messages and errors name a call: its alias, else its function."""
    return alias or function


def combine(done: list[dict], *, plain: bool) -> dict:
    """The step's output from its calls' results (each with ``function`` and ``alias``).

    ``plain`` (an instruction of one call without an alias) keeps the shape ``{export, changing,
    tables, messages}``. Otherwise: ``{"calls": [each result], "messages": [every message with a
    "CALL" key naming its call], <alias>: that call's result, ...}``, even when a failure stopped
    the instruction after its first call, so later steps read one shape.
    """
    if plain:
        return {key: value for key, value in done[0].items() if key not in ("function", "alias")}
    out: dict[str, Any] = {"calls": done, "messages": []}
    for result in done:
        out["messages"].extend(tagged(result["messages"], label(result["function"], result["alias"])))
        if result["alias"]:
            out[result["alias"]] = result
    return out


def tagged(messages: list[dict], call: str) -> list[dict]:
    return [{**row, "CALL": call} for row in messages]
