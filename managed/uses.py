"""The managed calls that use a connector, for ``connectors.usage`` (registered in ``ManagedConfig.ready``)."""

from __future__ import annotations

from connectors import usage


def managed_calls_using(connector) -> list[dict]:
    return [{"id": call.pk, "name": call.name, "slug": call.slug} for call in connector.managed_calls.order_by("name")]


MANAGED_CALLS = usage.Users(
    key="managed_calls",
    noun="managed call",
    find=managed_calls_using,
    advice="Point the managed calls at another connector or delete them.",
)
