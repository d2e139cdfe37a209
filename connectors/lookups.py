"""The connectors a delivery of a flow uses, kept a second in each process.

Each delivery of a flow with connector steps read its connectors' rows: for a short execution (an
event synced into a table) a tenth of what the worker spent on it. An entry lives ``SECONDS``: a
connector renamed, re-typed or deleted in another process is seen here within that time, in this
process at once (the receivers in ``connectors.apps`` drop every entry on a save or delete). What a
connector connects to per environment (its settings and secrets) is not kept here: the pools
(``connectors.pools``) re-check that themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from connectors.models import Connector
from core.ttl_cache import TTLCache

SECONDS = 1.0

_connectors = TTLCache(SECONDS)


def of_organization(organization_id: int, ids: Iterable[int]) -> dict[int, Connector]:
    """The connectors with these ids in the organization, by id (a missing one is left out)."""
    wanted = tuple(sorted(set(ids)))
    return _connectors.get((organization_id, wanted), lambda: _load(organization_id, wanted))


def _load(organization_id: int, ids: tuple[int, ...]) -> dict[int, Connector]:
    return {c.pk: c for c in Connector.objects.filter(organization_id=organization_id, pk__in=ids)}


def forget_everything(**_) -> None:
    _connectors.forget()
