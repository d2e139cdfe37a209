"""Who may reach which connector endpoint: outsiders get 404, viewers read only, tokens keep to their scopes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import Membership
from connectors.models import Connector
from tests.conftest import make_user, token_client

pytestmark = pytest.mark.django_db


def endpoints(connector_id: int, pg_values: dict) -> list[tuple[str, str, dict | None]]:
    """Every endpoint about one connector: method, path and body."""
    base = f"/api/v1/connectors/{connector_id}/"
    return [
        ("get", base, None),
        ("put", base, {"name": "Taken over", "type": "postgres", "settings": {"sandbox": pg_values}}),
        ("patch", base, {"name": "Taken over"}),
        ("delete", base, None),
        ("post", f"{base}test/", {"environment": "sandbox"}),
        ("get", f"{base}usage/", None),
        ("get", f"{base}pool-stats/", None),
        (
            "post",
            "/api/v1/connectors/test/",
            {"type": "postgres", "environment": "sandbox", "settings": pg_values, "connector": connector_id},
        ),
    ]


def call(client, method: str, path: str, body):
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


def test_an_outsider_gets_404_on_every_endpoint_and_changes_nothing(create_connector, outsider_api, pg_values):
    body = create_connector(name="Ours")
    for method, path, payload in endpoints(body["id"], pg_values):
        response = call(outsider_api, method, path, payload)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json() == {"detail": "Not found."}
    assert outsider_api.get("/api/v1/connectors/").json()["count"] == 0
    assert outsider_api.get("/api/v1/connectors/?q=Ours").json()["results"] == []
    assert Connector.objects.get(pk=body["id"]).name == "Ours"


def test_a_viewer_reads_but_every_write_is_refused(create_connector, viewer_api, pg_values):
    body = create_connector(name="Ours")
    for method, path, payload in endpoints(body["id"], pg_values):
        response = call(viewer_api, method, path, payload)
        if method == "get":
            assert response.status_code == 200, (method, path)
        else:
            assert response.status_code == 403, (method, path, response.status_code)
            assert "viewer" in response.json()["detail"]
    create = viewer_api.post(
        "/api/v1/connectors/", {"name": "Mine", "type": "postgres", "settings": {"sandbox": pg_values}}, format="json"
    )
    assert create.status_code == 403
    assert Connector.objects.get(pk=body["id"]).name == "Ours"
    assert not Connector.objects.filter(name="Mine").exists()


def test_an_editor_may_write(create_connector, editor_api):
    body = create_connector()
    response = editor_api.patch(f"/api/v1/connectors/{body['id']}/", {"version": "9"}, format="json")
    assert response.status_code == 200


def test_a_token_keeps_to_its_scopes(create_connector, org, owner, pg_values):
    body = create_connector()
    reader = token_client(org, owner, ["connectors:read"])
    writer = token_client(org, owner, ["connectors:write"])
    flows_only = token_client(org, owner, ["flows:read", "flows:write"])
    assert reader.get(f"/api/v1/connectors/{body['id']}/").status_code == 200
    assert reader.get("/api/v1/connector-types/").status_code == 200
    refused = reader.patch(f"/api/v1/connectors/{body['id']}/", {"version": "2"}, format="json")
    assert refused.status_code == 403 and "connectors:write" in refused.json()["detail"]
    assert writer.get(f"/api/v1/connectors/{body['id']}/").status_code == 403
    assert writer.patch(f"/api/v1/connectors/{body['id']}/", {"version": "2"}, format="json").status_code == 200
    assert flows_only.get("/api/v1/connectors/").status_code == 403
    assert flows_only.get("/api/v1/connector-types/").status_code == 403


def test_anonymous_requests_are_refused(create_connector):
    body = create_connector()
    assert APIClient().get(f"/api/v1/connectors/{body['id']}/").status_code in (401, 403)
    assert APIClient().get("/api/v1/connectors/").status_code in (401, 403)


def test_a_chosen_scope_connector_answers_404_to_members_not_chosen(create_connector, org, editor, viewer):
    lent = make_user("lent")
    Membership.objects.create(organization=org, user=lent, role=Role.EDITOR)
    finance = Group.objects.create(name="finance")
    viewer.groups.add(finance)
    body = create_connector(name="Payroll", scope="chosen", allowed_users=[lent.pk], allowed_groups=[finance.pk])
    assert body["allowed_users"] == [lent.pk] and body["allowed_groups"] == [finance.pk]
    url = f"/api/v1/connectors/{body['id']}/"
    editor_api = token_client(org, editor)
    assert editor_api.get(url).status_code == 404
    assert editor_api.patch(url, {"version": "2"}, format="json").status_code == 404
    assert editor_api.get(f"{url}usage/").status_code == 404
    assert editor_api.get("/api/v1/connectors/").json()["count"] == 0
    assert token_client(org, lent).get(url).status_code == 200
    assert token_client(org, viewer).get(url).status_code == 200


def test_groups_without_a_member_in_the_organization_cannot_be_chosen(api, pg_values):
    strangers = Group.objects.create(name="strangers")
    response = api.post(
        "/api/v1/connectors/",
        {
            "name": "X",
            "type": "postgres",
            "settings": {"sandbox": pg_values},
            "scope": "chosen",
            "allowed_groups": [strangers.pk],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "allowed_groups" in response.json()["errors"]
