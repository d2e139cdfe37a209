"""The registry of connector types, keyed by ``ConnectorType.key``.

Importing this package imports every module in it, and each type registers itself with
``@register``. To add a type, drop a module into ``connectors/catalog/`` that defines a
``ConnectorType`` subclass decorated with ``@register``; no list names it. Modules without a
registered type (``base``, ``database``: what the types share) are imported all the same.
"""

from __future__ import annotations

import importlib
import pkgutil

from connectors.catalog.base import ConnectorType

_TYPES: dict[str, type[ConnectorType]] = {}


def register(cls: type[ConnectorType]) -> type[ConnectorType]:
    if cls.key in _TYPES:
        raise ValueError(f"connector type {cls.key!r} is registered twice")
    _TYPES[cls.key] = cls
    return cls


def connector_type(key: str) -> ConnectorType:
    """An instance of the type registered as ``key``; raises KeyError for an unknown key."""
    return _TYPES[key]()


def type_class(key: str) -> type[ConnectorType] | None:
    """The class registered as ``key``, or None for an unknown key."""
    return _TYPES.get(key)


def all_types() -> list[type[ConnectorType]]:
    return sorted(_TYPES.values(), key=lambda cls: (cls.category, cls.label))


def _discover() -> None:
    """Import every module of this package; runs after ``register`` exists, which the modules import."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_discover()
