"""Parameter values as SAP receives them, the same for both transports.

An instruction's values arrive typed (``instructions.bapi.render``): text, whole numbers,
exact decimals as text, booleans, null, structures (objects) and tables (lists). ABAP has no
boolean type, so true and false become the flag values ``"X"`` and ``""``; null means "leave it
initial" and is not sent at all. Names must be SAP names, because over SOAP they become XML
element names: a structure built by an expression from a payload cannot smuggle markup in.
"""

from __future__ import annotations

import re
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
    if isinstance(value, str | int | float):
        return value
    raise ConnectorError(f"{where}: a {type(value).__name__} value cannot be sent to SAP")


def parameters(params: dict, function: str) -> dict:
    """The import, changing and table parameters of one call, checked and converted."""
    if not isinstance(params, dict):
        raise ConnectorError(f"{function}: the parameters must be an object of parameter name to value")
    return {
        checked_name(name, function): abap(value, f"{function} {name}")
        for name, value in params.items()
        if value is not None
    }
