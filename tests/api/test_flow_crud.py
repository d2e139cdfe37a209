"""Flows through the API: create, read, change, delete; slugs, protection, roles, scopes and tenancy."""

from __future__ import annotations

import pytest

from accounts.choices import Role, Scope
from accounts.models import Membership
from flows.models import Execution, Flow, FlowVersion
from tests.api.conftest import ADD_FIELD
from tests.conftest import make_user, token_client

pytestmark = pytest.mark.django_db


def test_an_editor_creates_a_flow_whose_slug_defaults_to_its_name(editor_api, org):
    response = editor_api.post(
        "/api/v1/flows/", {"name": "Sync Orders to SAP", "description": "nightly"}, format="json"
    )
    assert response.status_code == 201, response.json()
    flow = Flow.objects.get(organization=org)
    assert (flow.slug, flow.description, flow.enabled, flow.protected) == ("sync-orders-to-sap", "nightly", True, False)
    assert response.json()["latest_version"] is None


def test_slugs_are_unique_per_organization_with_a_message_naming_the_slug(api, make_flow, other_org):
    make_flow(slug="orders")
    make_flow(slug="orders", organization=other_org)
    response = api.post("/api/v1/flows/", {"name": "Orders", "slug": "orders"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["slug"] == ["A flow with slug 'orders' already exists; choose another."]


def test_a_reserved_slug_is_refused(api):
    response = api.post("/api/v1/flows/", {"name": "Import"}, format="json")
    assert response.status_code == 400
    assert "reserved" in response.json()["errors"]["slug"][0]


@pytest.mark.parametrize("path", ["/api/v1/flows/", "/api/v1/executions/", "/api/v1/webhooks/", "/api/v1/schedules/"])
def test_lists_answer_limits_and_offsets_beyond_what_postgresql_counts(api, deployed, execution_of, path):
    execution_of(deployed)
    api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json")
    api.post("/api/v1/schedules/", {"flow": "add-field", "environment": "sandbox", "cron": "@daily"}, format="json")
    huge = 10**25
    capped = api.get(path, {"limit": huge})
    assert capped.status_code == 200
    assert len(capped.json()["results"]) == 1
    beyond = api.get(path, {"limit": 10, "offset": huge})
    assert beyond.status_code == 200
    assert beyond.json()["results"] == []


def test_the_list_shows_latest_version_and_deployments(api, deployed):
    results = api.get("/api/v1/flows/").json()["results"]
    assert [(f["slug"], f["latest_version"]) for f in results] == [("add-field", 1)]
    assert results[0]["deployments"][0]["environment"] == "sandbox"
    assert results[0]["deployments"][0]["version"] == 1
    assert results[0]["deployments"][0]["deployed_by"] == "olivia"


def test_an_editor_renames_a_flow(editor_api, make_flow):
    flow = make_flow(slug="orders")
    response = editor_api.patch("/api/v1/flows/orders/", {"name": "Orders v2", "enabled": False}, format="json")
    assert response.status_code == 200
    flow.refresh_from_db()
    assert (flow.name, flow.enabled) == ("Orders v2", False)


def test_a_viewer_cannot_create_change_or_delete(viewer_api, make_flow):
    flow = make_flow(slug="orders")
    assert viewer_api.get("/api/v1/flows/orders/").status_code == 200
    assert viewer_api.post("/api/v1/flows/", {"name": "X"}, format="json").status_code == 403
    assert viewer_api.patch("/api/v1/flows/orders/", {"name": "Y"}, format="json").status_code == 403
    assert viewer_api.delete("/api/v1/flows/orders/").status_code == 403
    flow.refresh_from_db()
    assert flow.name != "Y"


def test_a_token_without_flows_write_cannot_change_flows(scoped_api, make_flow):
    make_flow(slug="orders")
    reader = scoped_api(Scope.FLOWS_READ)
    assert reader.get("/api/v1/flows/orders/").status_code == 200
    response = reader.patch("/api/v1/flows/orders/", {"name": "Y"}, format="json")
    assert response.status_code == 403
    assert "flows:write" in response.json()["detail"]
    assert scoped_api(Scope.MONITORING_READ).get("/api/v1/flows/").status_code == 403


def test_deleting_a_flow_removes_its_versions_and_executions(api, deployed, execution_of):
    execution_of(deployed)
    assert api.delete("/api/v1/flows/add-field/").status_code == 204
    assert not Flow.objects.filter(pk=deployed.pk).exists()
    assert not FlowVersion.objects.filter(flow_id=deployed.pk).exists()
    assert not Execution.objects.filter(flow_id=deployed.pk).exists()


def test_a_protected_flow_cannot_be_deleted_even_by_its_owner(api, make_flow):
    flow = make_flow(slug="payroll", protected=True)
    response = api.delete("/api/v1/flows/payroll/")
    assert response.status_code == 409
    assert "protected" in response.json()["detail"]
    assert Flow.objects.filter(pk=flow.pk).exists()


def test_only_admins_change_a_protected_flow(api, editor_api, make_flow):
    flow = make_flow(ADD_FIELD, slug="payroll", protected=True)
    response = editor_api.patch("/api/v1/flows/payroll/", {"name": "Hijacked"}, format="json")
    assert response.status_code == 403
    assert "only admins" in response.json()["detail"]
    assert editor_api.put("/api/v1/flows/payroll/draft/", ADD_FIELD, format="json").status_code == 403
    assert editor_api.post("/api/v1/flows/payroll/publish/", {}, format="json").status_code == 403
    assert api.patch("/api/v1/flows/payroll/", {"name": "Payroll"}, format="json").status_code == 200
    flow.refresh_from_db()
    assert flow.name == "Payroll"


def test_only_admins_may_protect_a_flow_or_lift_the_protection(editor_api, org, make_flow):
    make_flow(slug="orders")
    response = editor_api.patch("/api/v1/flows/orders/", {"protected": True}, format="json")
    assert response.status_code == 403
    assert not Flow.objects.get(slug="orders").protected
    admin = make_user("ada")
    Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
    admin_api = token_client(org, admin)
    assert admin_api.patch("/api/v1/flows/orders/", {"protected": True}, format="json").status_code == 200
    assert Flow.objects.get(slug="orders").protected
    assert admin_api.patch("/api/v1/flows/orders/", {"protected": False}, format="json").status_code == 200


FLOW_CALLS = [
    ("get", "/api/v1/flows/{slug}/"),
    ("patch", "/api/v1/flows/{slug}/"),
    ("put", "/api/v1/flows/{slug}/"),
    ("delete", "/api/v1/flows/{slug}/"),
    ("get", "/api/v1/flows/{slug}/draft/"),
    ("put", "/api/v1/flows/{slug}/draft/"),
    ("patch", "/api/v1/flows/{slug}/draft/"),
    ("post", "/api/v1/flows/{slug}/publish/"),
    ("get", "/api/v1/flows/{slug}/versions/"),
    ("get", "/api/v1/flows/{slug}/versions/1/"),
    ("get", "/api/v1/flows/{slug}/diff/"),
    ("post", "/api/v1/flows/{slug}/deploy/"),
    ("get", "/api/v1/flows/{slug}/export/"),
    ("get", "/api/v1/flows/{slug}/properties/"),
    ("post", "/api/v1/flows/{slug}/run/"),
    ("post", "/api/v1/flows/{slug}/executions"),
]


@pytest.mark.parametrize("method,template", FLOW_CALLS)
def test_an_outsider_gets_404_on_every_flow_endpoint(outsider_api, deployed, method, template):
    response = getattr(outsider_api, method)(template.format(slug=deployed.slug), {}, format="json")
    assert response.status_code == 404, (method, template, response.content)
    deployed.refresh_from_db()
    assert deployed.name == "Add field"
    assert not Execution.objects.exists()


def test_an_outsider_does_not_see_the_flow_in_lists(outsider_api, deployed):
    assert outsider_api.get("/api/v1/flows/").json()["results"] == []
