"""Parameter values as SAP receives them, the same for both transports.

An instruction's values arrive from ``instructions.bapi.render``: what was written is text exactly
as written (``0001000001`` keeps its zeros); a whole-value ``{{ }}`` keeps its type, so numbers,
booleans, null, structures (objects) and tables (lists) come from expressions. ABAP has no
boolean type, so true and false become the flag values ``"X"`` and ``""``; null means "leave it
initial" and is not sent at all. Numbers stay typed here, because the RFC transport hands Python
values to pyrfc, which converts them by the parameter's type; the SOAP transport sends text, and
``as_text`` writes a number without losing a digit (never ``1e-07``, never a rounded float).
Names must be SAP names, because over SOAP they become XML element names: a structure built by
an expression from a payload cannot smuggle markup in.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from connectors.catalog.base import ConnectorError

SAP_NAME = re.compile(r"[A-Za-z_/][A-Za-z0-9_/]{0,60}")


def checked_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not SAP_NAME.fullmatch(name):
        raise ConnectorError(
            f"{where}: {str(name)[:80]!r} is not a valid SAP name (letters, digits, '_' and '/', "
            "not starting with a digit)"
        )
    return name.upper()


def abap(value: Any, where: str) -> Any:
    """``value`` ready for a transport; ConnectorError naming ``where`` for what SAP cannot take."""
    if value is True:
        return "X"
    if value is False:
        return ""
    if isinstance(value, dict):
        return {
            checked_name(key, where): abap(item, f"{where}-{key}") for key, item in value.items() if item is not None
        }
    if isinstance(value, list | tuple):
        rows = []
        for index, item in enumerate(value, start=1):
            if item is None:
                raise ConnectorError(f"{where}: row {index} is null; a table row is an object or a value")
            rows.append(abap(item, f"{where}[{index}]"))
        return rows
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise ConnectorError(f"{where}: {value} is not a finite number; SAP cannot hold it")
    if isinstance(value, str | int | float | Decimal):
        return value
    raise ConnectorError(f"{where}: a {type(value).__name__} value cannot be sent to SAP")


def as_text(value: str | int | float | Decimal) -> str:
    """A scalar as SOAP text, nothing lost: whole numbers as their digits, floats as the shortest text
    that reads back as the same float (without an exponent), decimals exactly as they are."""
    if isinstance(value, bool):
        return "X" if value else ""
    if isinstance(value, float):
        value = Decimal(repr(value)).normalize() if value else Decimal(0)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def parameters(params: dict, function: str) -> dict:
    """The import, changing and table parameters of one call, checked and converted."""
    if not isinstance(params, dict):
        raise ConnectorError(f"{function}: the parameters must be an object of parameter name to value")
    return {
        checked_name(name, function): abap(value, f"{function} {name}")
        for name, value in params.items()
        if value is not None
    }
