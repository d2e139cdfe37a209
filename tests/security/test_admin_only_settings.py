"""Settings a connector type marks ``admin_only`` (the HTTP type's network allowlists): editors cannot
set or change them (400 naming the field, the saved value kept); admins and owners can."""

from __future__ import annotations

import pytest

from connectors.models import ConnectorSettings

pytestmark = pytest.mark.django_db

BASE = {"base_url": "https://api.example.com/v2"}


def create(client, **settings):
    body = {"name": "Partner API", "type": "http", "settings": {"sandbox": {**BASE, **settings}}}
    return client.post("/api/v1/connectors/", body, format="json")


def stored(pk: int) -> dict:
    return ConnectorSettings.objects.get(connector_id=pk, environment__slug="sandbox").values


def test_an_editor_cannot_set_an_admin_only_setting_on_a_new_connector(editor_api):
    response = create(editor_api, allowed_networks="10.0.0.0/8")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["settings"]["sandbox"]["allowed_networks"] == [
        "Only an admin or owner may change this setting; it keeps its current value."
    ]
    assert create(editor_api).status_code == 201


def test_an_editor_may_change_other_settings_but_not_the_admin_only_ones_an_owner_set(api, editor_api):
    created = create(api, allowed_networks="10.0.1.0/24")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    kept = editor_api.patch(f"/api/v1/connectors/{pk}/", {"description": "orders"}, format="json")
    assert kept.status_code == 200, kept.content
    widened = editor_api.patch(
        f"/api/v1/connectors/{pk}/", {"settings": {"sandbox": {"allowed_networks": "0.0.0.0/0"}}}, format="json"
    )
    assert widened.status_code == 400
    assert "allowed_networks" in widened.json()["errors"]["settings"]["sandbox"]
    assert stored(pk)["allowed_networks"] == "10.0.1.0/24"
    owner_change = api.patch(
        f"/api/v1/connectors/{pk}/", {"settings": {"sandbox": {"allowed_networks": "10.0.2.0/24"}}}, format="json"
    )
    assert owner_change.status_code == 200, owner_change.content
    assert stored(pk)["allowed_networks"] == "10.0.2.0/24"
