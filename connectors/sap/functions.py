"""What the editor offers while a BAPI instruction is typed: function module names and their parameters.

``search`` matches names in the list erpflow ships (``connectors.sap.known_functions``); SAP's own
search is not asked, so completion stays instant and works without a connection. ``describe`` gives
a function's parameters: over RFC from the system's metadata (``get_function_description`` on a
session of the connector's pool, whose interface cache the function's first call then reuses); over
SOAP, which has no metadata call, and over RFC when the system will not describe the function (no
authorization for it), from the shipped list.
"""

from __future__ import annotations

from typing import Any

from connectors import pools
from connectors.catalog.base import ConnectorError, Deadline, DriverMissing
from connectors.models import ConnectorSettings
from connectors.sap import rfctypes
from connectors.sap.known_functions import KNOWN

DESCRIBE_MS = 10_000
SEARCH_LIMIT = 50
# rfctypes' kinds (pyrfc's RFCTYPE_ without the prefix) as ABAP dictionary types, for a person to read
ABAP_TYPES = {
    "NUM": "NUMC",
    "BCD": "DEC",
    "DATE": "DATS",
    "TIME": "TIMS",
    "INT": "INT4",
    "FLOAT": "FLTP",
    "BYTE": "RAW",
    "XSTRING": "RAWSTRING",
    "DECF16": "DF16_DEC",
    "DECF34": "DF34_DEC",
}


class UnknownFunction(Exception):
    """The function is not in the system (RFC) or not in the shipped list (SOAP)."""


class NotConfigured(Exception):
    """The connector has no settings for the environment asked about."""


def search(query: str) -> list[dict]:
    """Known function names containing ``query`` (any case), those starting with it first."""
    wanted = query.strip().upper()
    found = [name for name in KNOWN if wanted in name]
    found.sort(key=lambda name: (not name.startswith(wanted), name))
    return [{"name": name, "description": KNOWN[name][0]} for name in found[:SEARCH_LIMIT]]


def describe(connector, environment, name: str) -> dict:
    """``{"name", "description", "source", "parameters"}``; ``source`` says whether SAP ("system") or the
    shipped list ("known") described it. UnknownFunction when neither can; NotConfigured when the
    connector has no settings for ``environment``; ConnectorError when its system cannot be reached."""
    name = name.upper()
    row = ConnectorSettings.objects.filter(connector=connector, environment=environment).first()
    if row is None:
        raise NotConfigured(f"Connector '{connector.name}' is not configured for the '{environment.slug}' environment.")
    if row.values.get("transport") != "soap":
        described = _from_system(connector, environment, name)
        if described is not None:
            return described
    if name not in KNOWN:
        where = "SAP does not describe it" if row.values.get("transport") != "soap" else "SOAP has no metadata call"
        raise UnknownFunction(f"{name} is not among the functions erpflow knows, and {where}.")
    description, parameters = KNOWN[name]
    return {
        "name": name,
        "description": description,
        "source": "known",
        "parameters": [
            {"name": p, "direction": d, "type": t, "length": n, "optional": o, "description": text}
            for p, d, t, n, o, text in parameters
        ],
    }


def _from_system(connector, environment, name: str) -> dict | None:
    """The system's description of ``name`` over RFC; None when it refuses to give one (authorization)."""
    try:
        live = pools.get(connector, environment)
    except DriverMissing:
        return None
    try:
        with live.pool.connection(Deadline(DESCRIBE_MS)) as session:
            pyrfc = session.pyrfc
            try:
                description = session.conn.get_function_description(name)
            except pyrfc.ABAPApplicationError as exc:
                if getattr(exc, "key", "") == "FU_NOT_FOUND":
                    raise UnknownFunction(f"The SAP system has no function module {name}.") from None
                return None
            except pyrfc.RFCError as exc:
                if isinstance(exc, pyrfc.CommunicationError):
                    raise
                return None
            specs = rfctypes.interface(description)
            session.interfaces.setdefault(name, specs)  # the function's first call needs no second reading
    except DriverMissing:
        return None  # without the RFC library the shipped list still completes the instruction
    except ConnectorError as exc:
        raise ConnectorError(live.masker.text(str(exc))) from None
    except UnknownFunction:
        raise
    except Exception as exc:  # a broken connection: the pool drops the session
        raise ConnectorError(live.masker.text(f"the SAP system did not describe {name}: {exc}")) from None
    return {
        "name": name,
        "description": KNOWN.get(name, ("",))[0],
        "source": "system",
        "parameters": [_parameter(entry, specs) for entry in description.parameters],
    }


def _parameter(entry: dict, specs: dict[str, rfctypes.Spec]) -> dict[str, Any]:
    name = str(entry["name"]).upper()
    spec = specs[name]
    kind = ABAP_TYPES.get(spec.kind, spec.kind)
    typed = entry.get("type_description")
    if kind in ("STRUCTURE", "TABLE") and getattr(typed, "name", ""):
        kind = f"{kind} {typed.name}"
    direction = str(getattr(entry.get("direction"), "name", entry.get("direction")) or "")
    return {
        "name": name,
        "direction": direction.removeprefix("RFC_").lower(),
        "type": kind,
        "length": spec.length,
        "optional": bool(entry.get("optional")),
        "description": str(entry.get("parameter_text") or ""),
    }
