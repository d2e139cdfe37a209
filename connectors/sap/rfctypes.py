"""RFC parameter values converted to the ABAP types of the function's interface.

An instruction's values arrive as JSON types: text written in the instruction, numbers and
objects from ``{{ }}``. pyrfc refuses a value of the wrong Python type (an int for a NUMC, text
for an INT4) and SAP cuts or misreads others (a NUMC 10 given ``1000001`` is not the customer
``0001000001``), so over RFC each value is converted by the type SAP's own metadata gives its
parameter or field (``Connection.get_function_description``, kept per pool by ``interface``):

- CHAR, STRING: text (a number becomes its text);
- NUMC: digits, left-padded with zeros to the length; refused when not digits or too long;
- INT, INT1, INT2, INT8: integers (the text of an integer too), within the type's range;
- P (BCD): an exact ``Decimal`` that fits the length and decimals; DECFLOAT16/34: a ``Decimal``;
- FLTP: a float;
- DATS: ``YYYYMMDD``, ISO ``YYYY-MM-DD`` or a date, sent as ``YYYYMMDD`` text (what pyrfc expects);
- TIMS: ``HHMMSS``, ``HH:MM:SS`` or a time, sent as ``HHMMSS``;
- RAW, XSTRING: bytes; text is read as base64, because JSON carries binary data that way;
- structures and tables recurse into their fields; a table of an unnamed line type takes values.

The answer comes back as JSON values (``answered``): Decimal as text, bytes as base64, dates as text.

A name the interface does not know, and any type not listed, is sent as it is: SAP answers for it.
Over SOAP there is no metadata call, and values go as text.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.catalog.base import ConnectorError

INT_RANGES = {
    "INT1": (0, 255),
    "INT2": (-(2**15), 2**15 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "INT8": (-(2**63), 2**63 - 1),
}
INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Spec:
    """One parameter's or field's ABAP type: ``kind`` without the ``RFCTYPE_`` prefix, the length
    in characters (NUMC, CHAR) or bytes (P, RAW), decimals, and the fields of a structure or table row."""

    kind: str
    length: int = 0
    decimals: int = 0
    fields: dict[str, Spec] | None = None
    direction: str = ""  # a parameter's: IMPORT, EXPORT, CHANGING or TABLES (pyrfc's RFC_ prefix dropped)


def _kind(value: Any) -> str:
    """pyrfc reports ``"RFCTYPE_NUM"``; an enum member (``RfcFieldType.RFCTYPE_NUM``) reads the same."""
    return str(getattr(value, "name", value) or "").removeprefix("RFCTYPE_")


def _fields(type_description: Any) -> dict[str, Spec] | None:
    if type_description is None:
        return None
    return {str(f["name"]).upper(): _spec(f, "field_type") for f in type_description.fields}


def _spec(entry: dict, type_key: str) -> Spec:
    return Spec(
        kind=_kind(entry.get(type_key)),
        length=int(entry.get("nuc_length") or 0),
        decimals=int(entry.get("decimals") or 0),
        fields=_fields(entry.get("type_description")),
    )


def interface(description: Any) -> dict[str, Spec]:
    """The parameters of a pyrfc ``FunctionDescription``, by name."""
    return {str(p["name"]).upper(): _parameter(p) for p in description.parameters}


def _parameter(entry: dict) -> Spec:
    direction = str(getattr(entry.get("direction"), "name", entry.get("direction")) or "").removeprefix("RFC_")
    return replace(_spec(entry, "parameter_type"), direction=direction)


def not_requested(specs: dict[str, Spec], wanted: set[str], sent: dict) -> list[str]:
    """The outputs pyrfc need not fetch (its ``not_requested`` call option): every export, changing or
    table parameter neither wanted nor sent, nor holding messages (rows with TYPE and MESSAGE), which
    ``results.shape`` may look for under any name."""
    return [
        name
        for name, spec in specs.items()
        if spec.direction in ("EXPORT", "CHANGING", "TABLES")
        and name not in wanted
        and name not in sent
        and not {"TYPE", "MESSAGE"} <= set(spec.fields or ())
    ]


def convert(specs: dict[str, Spec], params: dict, function: str) -> dict:
    """The call's parameters with each value converted to its ABAP type (see the module docstring)."""
    return {name: _value(specs.get(name), value, f"{function} {name}") for name, value in params.items()}


def _refuse(where: str, value: Any, wanted: str) -> ConnectorError:
    return ConnectorError(f"{where}: {str(value)[:80]!r} is not {wanted}")


def _value(spec: Spec | None, value: Any, where: str) -> Any:
    if spec is None:
        return value
    convert_one = CONVERTERS.get(spec.kind)
    return convert_one(spec, value, where) if convert_one else value


def _structure(spec: Spec, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise _refuse(where, value, "a structure (an object of field names to values)")
    fields = spec.fields or {}
    return {name: _value(fields.get(name), item, f"{where}-{name}") for name, item in value.items()}


def _table(spec: Spec, value: Any, where: str) -> Any:
    if not isinstance(value, list):
        raise _refuse(where, value, "a table (a list of rows)")
    row_spec = Spec("STRUCTURE", fields=spec.fields)
    unnamed = (spec.fields or {}).get("")
    rows = []
    for index, row in enumerate(value, start=1):
        here = f"{where}[{index}]"
        rows.append(_structure(row_spec, row, here) if isinstance(row, dict) else _value(unnamed, row, here))
    return rows


def _text(spec: Spec, value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise _refuse(where, value, f"text for a {spec.kind} field")


def _numc(spec: Spec, value: Any, where: str) -> str:
    wanted = f"a NUMC {spec.length} value (at most {spec.length} digits)"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        text = str(value)
    elif isinstance(value, str) and (value.isascii() and value.isdigit() or value == ""):
        text = value
    else:
        raise _refuse(where, value, wanted)
    if spec.length and len(text) > spec.length:
        raise _refuse(where, value, wanted)
    return text.zfill(spec.length)


def _integer(spec: Spec, value: Any, where: str) -> int:
    low, high = INT_RANGES[spec.kind]
    wanted = f"an integer for {spec.kind} ({low} to {high})"
    if isinstance(value, bool):
        raise _refuse(where, value, wanted)
    whole_float = isinstance(value, float) and value.is_integer()
    if whole_float or isinstance(value, str) and INTEGER.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise _refuse(where, value, wanted)
    return value


def _decimal(value: Any, where: str, wanted: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _refuse(where, value, wanted)
    try:
        number = Decimal(str(value).strip() if not isinstance(value, float) else repr(value))
    except InvalidOperation:
        raise _refuse(where, value, wanted) from None
    if not number.is_finite():
        raise _refuse(where, value, wanted)
    return number


def _packed(spec: Spec, value: Any, where: str) -> Decimal:
    """P (BCD): ``length`` bytes hold ``2 * length - 1`` digits, ``decimals`` of them after the point."""
    digits = 2 * spec.length - 1
    wanted = f"a packed number of {digits} digits with {spec.decimals} decimals"
    number = _decimal(value, where, wanted)
    _, places, exponent = number.normalize().as_tuple()
    decimals = max(0, -exponent)
    whole = max(0, len(places) + exponent)
    if spec.length and (decimals > spec.decimals or whole > digits - spec.decimals):
        raise _refuse(where, value, wanted)
    return number


def _decfloat(spec: Spec, value: Any, where: str) -> Decimal:
    return _decimal(value, where, f"a number for {spec.kind}")


def _float(spec: Spec, value: Any, where: str) -> float:
    return float(_decimal(value, where, "a number for a FLTP field"))


def _date(spec: Spec, value: Any, where: str) -> str:
    wanted = "a date (YYYYMMDD, YYYY-MM-DD)"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime("%Y%m%d")
    if not isinstance(value, str):
        raise _refuse(where, value, wanted)
    if value in ("", "00000000"):
        return value
    return _parsed(value, {8: "%Y%m%d", 10: "%Y-%m-%d"}, "%Y%m%d", where, wanted)


def _time(spec: Spec, value: Any, where: str) -> str:
    wanted = "a time (HHMMSS, HH:MM:SS)"
    if isinstance(value, dt.time):
        return value.strftime("%H%M%S")
    if not isinstance(value, str):
        raise _refuse(where, value, wanted)
    if value == "":
        return value
    return _parsed(value, {6: "%H%M%S", 8: "%H:%M:%S"}, "%H%M%S", where, wanted)


def _parsed(value: str, layouts: dict[int, str], sent: str, where: str, wanted: str) -> str:
    """``value`` read with the layout of its length and written the way SAP takes it."""
    layout = layouts.get(len(value))
    if layout and value.isascii():
        try:
            return dt.datetime.strptime(value, layout).strftime(sent)
        except ValueError:
            pass
    raise _refuse(where, value, wanted)


def _bytes(spec: Spec, value: Any, where: str) -> bytes:
    wanted = f"binary data for {spec.kind} (bytes, or base64 text)"
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
    elif isinstance(value, str):
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _refuse(where, value, wanted) from None
    else:
        raise _refuse(where, value, wanted)
    if spec.kind == "BYTE" and spec.length and len(data) > spec.length:
        raise _refuse(where, value, f"at most {spec.length} bytes of RAW data")
    return data


CONVERTERS = {
    "STRUCTURE": _structure,
    "TABLE": _table,
    "CHAR": _text,
    "STRING": _text,
    "NUM": _numc,
    "INT": _integer,
    "INT1": _integer,
    "INT2": _integer,
    "INT8": _integer,
    "BCD": _packed,
    "DECF16": _decfloat,
    "DECF34": _decfloat,
    "FLOAT": _float,
    "DATE": _date,
    "TIME": _time,
    "BYTE": _bytes,
    "XSTRING": _bytes,
}


def answered(value: Any) -> Any:
    """pyrfc's answer as JSON values, the same as SOAP's text: a packed number (``Decimal``) as its
    exact text, RAW and XSTRING (bytes) as base64, dates and times as ``YYYYMMDD`` / ``HHMMSS``.
    A step's output is stored as JSON, which has none of these types."""
    if isinstance(value, dict):
        return {key: answered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [answered(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    if isinstance(value, dt.time):
        return value.strftime("%H%M%S")
    return value
