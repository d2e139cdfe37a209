"""Where a connector is used, and why that stops it from being deleted.

The apps above connectors keep what uses one: ``flows`` a ``ConnectorUse`` row per flow whose draft
or any version references it (a published version is immutable and may still run), ``managed`` its
managed calls. Each registers a ``Users`` here at ``ready()``, so this module learns about them
without importing them. Deleting a connector any of them uses is refused (409 in the API, a message
on the page) with each user named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, IntegerField, ProtectedError, QuerySet, Value

from connectors.models import Connector


@dataclass(frozen=True)
class Users:
    """One kind of thing that can use a connector, as an app registers it.

    ``key`` names the list in API answers ("flows"); ``find`` lists the users of a connector as the API
    shows them (id, name, slug, and where they have a page, ``page``); ``advice`` says how to stop
    using the connector; ``counted_by`` is the reverse relation from ``Connector`` that counts them.
    """

    key: str
    noun: str
    find: Callable[[Connector], list[dict]]
    advice: str
    counted_by: str | None = None


_USERS: dict[str, Users] = {}


def register(users: Users) -> None:
    _USERS[users.key] = users


def uses(connector: Connector) -> dict[str, list[dict]]:
    """Every registered kind of user, each with the ones that use ``connector`` (possibly none)."""
    return {key: users.find(connector) for key, users in _USERS.items()}


class ConnectorInUse(Exception):
    """Deleting the connector was refused; ``uses`` is what uses it, by kind."""

    def __init__(self, connector: Connector, found: dict[str, list[dict]]):
        self.connector = connector
        self.uses = found
        super().__init__(refusal(connector, found))


def with_use_counts(connectors: QuerySet) -> QuerySet:
    """``connectors`` annotated with ``used_by``: how many flows (and other counted users) use each."""
    counted = [users.counted_by for users in _USERS.values() if users.counted_by]
    if not counted:
        return connectors.annotate(used_by=Value(0, output_field=IntegerField()))
    total = Count(counted[0], distinct=True)
    for relation in counted[1:]:
        total = total + Count(relation, distinct=True)
    return connectors.annotate(used_by=total)


def refusal(connector: Connector, found: dict[str, list[dict]]) -> str:
    """Why ``connector`` cannot be deleted, naming its users; empty when nothing uses it."""
    parts, advice = [], []
    for key, users in found.items():
        if not users:
            continue
        registered = _USERS[key]
        names = ", ".join(f"'{user['name']}'" for user in users)
        parts.append(f"{len(users)} {registered.noun}{'s' if len(users) != 1 else ''} ({names})")
        advice.append(registered.advice)
    if not parts:
        return ""
    return f"Connector '{connector.name}' cannot be deleted: {' and '.join(parts)} use it. {' '.join(advice)}"


@transaction.atomic
def delete(connector: Connector) -> None:
    """Delete ``connector`` with its settings; raises ``ConnectorInUse`` when anything uses it.

    The check and the delete run in one transaction, and the database's PROTECT on the users' foreign
    keys catches one that starts using the connector in between.
    """
    found = uses(connector)
    if any(found.values()):
        raise ConnectorInUse(connector, found)
    try:
        with transaction.atomic():
            connector.delete()
    except ProtectedError:
        raise ConnectorInUse(connector, uses(connector)) from None
