"""The registry of connector types, keyed by ``ConnectorType.key``.

Importing this package registers every type of the modules listed at the bottom.
"""

from __future__ import annotations

from connectors.catalog.base import ConnectorType

_TYPES: dict[str, type[ConnectorType]] = {}


def register(cls: type[ConnectorType]) -> type[ConnectorType]:
    if cls.key in _TYPES:
        raise ValueError(f"connector type {cls.key!r} is registered twice")
    _TYPES[cls.key] = cls
    return cls


def get(key: str) -> ConnectorType:
    """An instance of the type; raises KeyError for an unknown key."""
    return _TYPES[key]()


def all_types() -> list[type[ConnectorType]]:
    return sorted(_TYPES.values(), key=lambda cls: (cls.category, cls.label))


# Each type registers itself when imported.
from connectors.catalog import acumatica, http, mysql, oracle, postgres, sap, sqlite  # noqa: E402,F401
