"""The registry of step kinds: one module per kind, each a ``flows.kinds.base.Kind``.

Validation (``flows.graph``) asks a kind for its defaults and its problems, the engine for what
one attempt does; adding a kind is a module and a line here.
"""

from __future__ import annotations

from flows.kinds.base import Kind
from flows.kinds.call_flow import CallFlowKind
from flows.kinds.condition import ConditionKind
from flows.kinds.delay import DelayKind
from flows.kinds.foreach import ForEachKind
from flows.kinds.plain import ConnectorKind, MappingKind
from flows.kinds.respond import RespondKind
from flows.kinds.sync import SyncKind

KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        ConnectorKind(),
        MappingKind(),
        ConditionKind(),
        ForEachKind(),
        CallFlowKind(),
        RespondKind(),
        DelayKind(),
        SyncKind(),
    )
}


def kind_of(key: str) -> Kind | None:
    return KINDS.get(key)
