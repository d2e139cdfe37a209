"""The flows that use a connector, as ``connectors.usage`` lists them (registered in ``FlowsConfig.ready``)."""

from __future__ import annotations

from django.urls import reverse

from connectors import usage
from flows.models import Flow


def flows_using(connector) -> list[dict]:
    flows = Flow.objects.filter(connector_uses__connector=connector).order_by("name")
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


FLOWS = usage.Users(
    key="flows",
    noun="flow",
    find=flows_using,
    advice="Remove it from the flows' drafts; a flow with a published version that uses it has to be deleted first.",
    counted_by="uses",
)
