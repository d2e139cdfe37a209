"""Exposing a flow as a use case through the flow API: slug defaults, validation and uniqueness."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from flows.models import Flow
from flows.serializers import FlowSerializer

pytestmark = pytest.mark.django_db


def patch(client, slug, **fields):
    return client.patch(f"/api/v1/flows/{slug}/", data=fields, format="json")


def test_enabling_a_use_case_defaults_its_slug_to_the_flows_and_takes_every_event_type(api, make_flow):
    make_flow(slug="orders")
    response = patch(api, "orders", use_case_enabled=True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["use_case_slug"], body["use_case_enabled"]) == ("orders", True)
    assert body["event_types"] == ["CREATE", "UPDATE", "DELETE"]


def test_use_case_fields_are_set_and_event_types_kept_in_their_order(api, make_flow):
    make_flow(slug="orders")
    response = patch(api, "orders", use_case_slug="sales_order-1", event_types=["DELETE", "CREATE", "DELETE"])
    assert response.status_code == 200, response.content
    flow = Flow.objects.get(slug="orders")
    assert (flow.use_case_slug, flow.event_types, flow.use_case_enabled) == (
        "sales_order-1",
        ["CREATE", "DELETE"],
        False,
    )


@pytest.mark.parametrize(
    "fields,field,words",
    [
        ({"use_case_slug": "Orders"}, "use_case_slug", "is not a use case slug"),
        ({"use_case_slug": "-orders"}, "use_case_slug", "is not a use case slug"),
        ({"use_case_slug": "x" * 256}, "use_case_slug", "255"),
        ({"event_types": []}, "event_types", ""),
        ({"event_types": ["MERGE"]}, "event_types", "MERGE"),
        ({"use_case_enabled": "maybe"}, "use_case_enabled", ""),
    ],
)
def test_bad_use_case_fields_are_400s_naming_the_field(api, make_flow, fields, field, words):
    make_flow(slug="orders")
    response = patch(api, "orders", **fields)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert words in str(response.json()["errors"][field])


def test_a_use_case_slug_is_unique_in_the_organization(api, make_flow, outsider_api, other_org):
    make_flow(slug="orders", name="Orders", use_case_slug="orders")
    make_flow(slug="sales")
    response = patch(api, "sales", use_case_slug="orders")
    assert response.status_code == 400
    assert response.json()["errors"]["use_case_slug"] == [
        "Flow 'Orders' already takes events as use case 'orders'; choose another."
    ]
    # The flow's own slug as default clashes the same way.
    make_flow(slug="other", use_case_slug="sales")
    assert "use_case_slug" in patch(api, "sales", use_case_enabled=True).json()["errors"]
    # Another organization may use the same slug.
    make_flow(slug="theirs", organization=other_org)
    assert patch(outsider_api, "theirs", use_case_slug="orders").status_code == 200


def test_a_slug_taken_between_validation_and_saving_is_a_400_not_a_500(rf, org, owner, make_flow):
    from accounts.models import Membership

    flow = make_flow(slug="sales")
    request = rf.patch("/")
    request.organization, request.membership = org, Membership.objects.get(organization=org, user=owner)
    serializer = FlowSerializer(flow, data={"use_case_slug": "orders"}, partial=True, context={"request": request})
    assert serializer.is_valid(), serializer.errors
    make_flow(slug="orders", use_case_slug="orders")
    with pytest.raises(ValidationError) as refused:
        serializer.save()
    assert "use_case_slug" in refused.value.detail
    assert Flow.objects.get(pk=flow.pk).use_case_slug == ""


def test_an_ordering_key_is_kept_and_a_bad_one_is_a_400_with_its_position(api, make_flow):
    make_flow(slug="orders")
    assert patch(api, "orders", ordered_by=" payload.customerId ").json()["ordered_by"] == "payload.customerId"
    response = patch(api, "orders", ordered_by="payload.(")
    assert response.status_code == 400
    assert "ordering key, line 1" in str(response.json()), response.json()
    assert Flow.objects.get(slug="orders").ordered_by == "payload.customerId"


def test_an_on_failure_handler_is_a_flow_of_the_same_organization_and_not_the_flow_itself(
    api, make_flow, outsider_api, other_org
):
    flow, handler = make_flow(slug="orders"), make_flow(slug="on-call")
    assert patch(api, "orders", on_failure=handler.pk).json()["on_failure"] == handler.pk
    assert patch(api, "orders", on_failure=flow.pk).status_code == 400
    foreign = Flow.objects.create(organization=other_org, name="Theirs", slug="theirs")
    response = patch(api, "orders", on_failure=foreign.pk)
    assert response.status_code == 400 and "does not exist" in str(response.json())
    assert Flow.objects.get(slug="orders").on_failure_id == handler.pk
    assert patch(api, "orders", on_failure=None).json()["on_failure"] is None
