from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Environment, Membership, Organization

pytestmark = pytest.mark.django_db


def test_pages_need_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_dashboard_shows_the_organization_and_next_steps(session_client, org):
    page = session_client.get("/").content.decode()
    assert org.name in page
    assert "Getting started" in page
    assert "No tokens yet" in page


def test_a_user_without_organization_is_told_what_to_do(db):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.create_user("lonely", password="x"))
    response = client.get("/")
    assert response.status_code == 403
    assert "not in an organization" in response.content.decode()


def test_a_member_of_two_organizations_switches_between_them(session_client, owner, org):
    second = Organization.create("Beta Ltd", owner=owner)
    page = session_client.get("/").content.decode()
    assert 'id="org-switch"' in page
    response = session_client.post("/organization/switch/", {"organization": second.pk})
    assert response.status_code == 302
    assert "Beta Ltd" in session_client.get("/").content.decode().split("<h1>")[1]
    session_client.post("/organization/switch/", {"organization": org.pk})
    assert "Acme" in session_client.get("/").content.decode().split("<h1>")[1]


def test_the_environments_page_lists_defaults_with_empty_states(session_client):
    page = session_client.get("/environments/").content.decode()
    assert "Sandbox" in page and "Production" in page
    assert "No variables in Sandbox yet" in page


def test_a_viewer_cannot_open_the_variable_form(org, viewer):
    client = Client()
    client.force_login(viewer)
    assert client.get("/environments/sandbox/variables/new/").status_code == 403
    assert "Add variable" not in client.get("/environments/").content.decode()


def test_new_organizations_get_sandbox_and_production(owner):
    organization = Organization.create("Gamma", owner=owner)
    assert sorted(Environment.objects.filter(organization=organization).values_list("slug", flat=True)) == [
        "production",
        "sandbox",
    ]
    assert Membership.objects.get(organization=organization, user=owner).role == "owner"


def test_api_docs_and_schema_are_served_without_a_cdn(session_client):
    docs = session_client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "jsdelivr" not in docs.lower()
    schema = session_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/variables/" in schema.content


def test_the_dashboard_counts_recent_executions_by_status(session_client, org, owner):
    from accounts.models import Environment
    from flows.models import Execution, Flow, FlowVersion

    flow = Flow.objects.create(organization=org, name="Orders", slug="orders", draft={})
    version = FlowVersion.objects.create(flow=flow, number=1, graph={"steps": [], "edges": []})
    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    for status in ["succeeded", "succeeded", "failed"]:
        Execution.objects.create(
            organization=org, flow=flow, version=version, environment=sandbox, trigger="api", status=status
        )
    page = session_client.get("/").content.decode()
    assert "2 succeeded" in page and "1 failed" in page
    assert "Latest executions" in page and "Orders" in page
