"""Where a connector is used, and why that stops it from being deleted.

``flows.versions`` keeps one ``ConnectorUse`` row per flow whose draft or any version references a
connector. A published version is immutable and may still run, so a connector any of them names
must stay: deleting it is refused (409 in the API, a message on the page) with the flows listed.
A managed call names its connector too, and refuses the delete the same way.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, ProtectedError, QuerySet
from django.urls import reverse

from connectors.models import Connector
from flows.models import Flow


class ConnectorInUse(Exception):
    """Deleting the connector was refused; ``flows`` and ``managed_calls`` are what use it."""

    def __init__(self, connector: Connector, flows: list[Flow], managed_calls: list | None = None):
        self.connector = connector
        self.flows = flows
        self.managed_calls = managed_calls or []
        super().__init__(refusal(connector, flows, self.managed_calls))


def flows_using(connector: Connector) -> list[Flow]:
    return list(Flow.objects.filter(connector_uses__connector=connector).order_by("name"))


def managed_calls_using(connector: Connector) -> list:
    return list(connector.managed_calls.order_by("name"))


def describe_managed_calls(calls: list) -> list[dict]:
    return [{"id": call.pk, "name": call.name, "slug": call.slug} for call in calls]


def with_use_counts(connectors: QuerySet) -> QuerySet:
    """``connectors`` annotated with ``used_by``: how many flows use each."""
    return connectors.annotate(used_by=Count("uses", distinct=True))


def describe(flows: list[Flow]) -> list[dict]:
    """The flows as the API lists them: id, name, slug, the API address and the page address."""
    return [
        {
            "id": flow.pk,
            "name": flow.name,
            "slug": flow.slug,
            "url": reverse("flow-detail", kwargs={"slug": flow.slug}),
            "page": reverse("flow_detail", kwargs={"slug": flow.slug}),
        }
        for flow in flows
    ]


def refusal(connector: Connector, flows: list[Flow], managed_calls: list | None = None) -> str:
    parts, advice = [], []
    if flows:
        names = ", ".join(f"'{flow.name}'" for flow in flows)
        parts.append(f"{len(flows)} flow{'s' if len(flows) != 1 else ''} ({names})")
        advice.append(
            "Remove it from the flows' drafts; a flow with a published version that uses it has to be deleted first."
        )
    if managed_calls:
        names = ", ".join(f"'{call.name}'" for call in managed_calls)
        parts.append(f"{len(managed_calls)} managed call{'s' if len(managed_calls) != 1 else ''} ({names})")
        advice.append("Point the managed calls at another connector or delete them.")
    return f"Connector '{connector.name}' cannot be deleted: {' and '.join(parts)} use it. {' '.join(advice)}"


@transaction.atomic
def delete(connector: Connector) -> None:
    """Delete ``connector`` with its settings; raises ``ConnectorInUse`` when any flow uses it.

    The check and the delete run in one transaction, and the database's PROTECT on ``ConnectorUse``
    catches a flow that starts using the connector in between.
    """
    flows, calls = flows_using(connector), managed_calls_using(connector)
    if flows or calls:
        raise ConnectorInUse(connector, flows, calls)
    try:
        with transaction.atomic():
            connector.delete()
    except ProtectedError:
        raise ConnectorInUse(connector, flows_using(connector), managed_calls_using(connector)) from None
