"""Settings a connector type marks ``admin_only`` (network allowlists, TLS verification, CA certificates,
SSL modes): editors cannot set or change them (400 naming the field, the saved value kept); admins and
owners can. An editor who leaves one out gets the default on a new connector and keeps the saved value
on an edit; an ordered one (an SSL mode) an editor may move toward its strict end, never back."""

from __future__ import annotations

import re

import pytest

from accounts.choices import Role
from accounts.models import Membership
from connectors import catalog
from connectors.models import ConnectorSettings
from tests.conftest import make_user, token_client

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


# -- every admin-only setting of every connector type, walked as owner, admin and editor -------------

# Settings a connector of each type is saved with; a type missing here fails the walk with its name.
BASE_SETTINGS = {
    "http": {"base_url": "https://api.example.com/v2"},
    "acumatica": {"instance_uri": "https://erp.example.com", "username": "api", "password": "pw-1"},
    "postgres": {"host": "db.example.com", "database": "erp", "username": "erp", "password": "pw-1"},
    "mysql": {"host": "db.example.com", "database": "erp", "username": "erp", "password": "pw-1"},
    "oracle": {"host": "db.example.com", "database": "ERP", "username": "erp", "password": "pw-1"},
    "sap": {"transport": "soap", "soap_url": "https://sap.example/rfc", "client": "100", "user": "U", "passwd": "p"},
    "sqlite": {"path": "demo.sqlite3"},
}
# A setting that is not admin-only, changed by the walk's "edit something else" request.
OTHER_SETTING = {
    "http": ("test_path", "/health"),
    "acumatica": ("company", "Acme"),
    "postgres": ("owner", "sales"),
    "mysql": ("owner", "sales"),
    "oracle": ("owner", "SALES"),
    "sap": ("lang", "DE"),
}
# Valid non-default values of admin-only text settings (others are derived from the field's kind).
TEXT_VALUES = {
    "allowed_hosts": "api.example.com",
    "allowed_networks": "10.0.1.0/24",
    "ca_bundle": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
}
TRANSPORT_SECURITY = re.compile(r"(^|_)(tls|ssl|verify|ca|cert|certs|certificate)(_|$)")


def admin_only_fields():
    return [
        pytest.param(kind.key, field, id=f"{kind.key}.{field.name}")
        for kind in catalog.all_types()
        for field in kind.fields
        if field.admin_only
    ]


def values_of(field) -> list:
    """The values the walk sets: every choice of an ordered or choice field, else the default and another."""
    if field.strictness:
        return list(field.strictness)
    if field.kind == "choice":
        return [value for value, _ in field.choices]
    if field.kind == "bool":
        return [field.default, not field.default]
    other = TEXT_VALUES.get(field.name, "x")
    return [field.default, other]


def weaker(field, than) -> list:
    """Values an editor may not move the setting to from ``than``."""
    if field.strictness:
        return [v for v in field.strictness[: field.strictness.index(than)]]
    return [v for v in values_of(field) if v != than]


def stricter(field, than) -> list:
    """Values an editor may move it to: further toward the strict end of an ordered setting."""
    return list(field.strictness[field.strictness.index(than) + 1 :]) if field.strictness else []


@pytest.fixture
def personas(org, api):
    clients = {Role.OWNER: api}
    for role in (Role.ADMIN, Role.EDITOR):
        user = make_user(f"{role}-walker")
        Membership.objects.create(organization=org, user=user, role=role)
        clients[role] = token_client(org, user)
    return clients


def test_every_setting_that_can_weaken_transport_security_is_admin_only():
    """A new TLS, SSL, verification or certificate setting cannot be forgotten: it must be marked."""
    unmarked = [
        f"{kind.key}.{field.name}"
        for kind in catalog.all_types()
        for field in kind.fields
        if TRANSPORT_SECURITY.search(field.name) and not field.admin_only
    ]
    assert unmarked == []


@pytest.mark.parametrize("type_key, field", admin_only_fields())
def test_each_admin_only_setting_answers_each_role_through_the_api(personas, type_key, field):
    assert type_key in BASE_SETTINGS and type_key in OTHER_SETTING, f"give the walk settings for '{type_key}'"
    base = BASE_SETTINGS[type_key]
    counter = iter(range(1000))
    refused = ["Only an admin or owner may change this setting; it keeps its current value."]

    def create(client, **settings):
        body = {"name": f"{type_key} {next(counter)}", "type": type_key, "settings": {"sandbox": {**base, **settings}}}
        return client.post("/api/v1/connectors/", body, format="json")

    def patch(client, pk, **settings):
        return client.patch(f"/api/v1/connectors/{pk}/", {"settings": {"sandbox": settings}}, format="json")

    default = field.default
    for role, client in personas.items():
        admin = role != Role.EDITOR
        # Created without the setting: everyone gets the default.
        left_out = create(client)
        assert left_out.status_code == 201, (role, left_out.content)
        assert stored(left_out.json()["id"]).get(field.name) == default
        # Created with a value weaker than the default: only admins and owners.
        for value in weaker(field, default):
            answer = create(client, **{field.name: value})
            assert answer.status_code == (201 if admin else 400), (role, value, answer.content)
            if not admin:
                assert answer.json()["errors"]["settings"]["sandbox"][field.name] == refused
        # Created with a stricter value: everyone.
        for value in stricter(field, default):
            assert create(client, **{field.name: value}).status_code == 201, (role, value)

        # An owner set a value below admin's reach; this member edits the connector.
        for chosen in [v for v in values_of(field) if v != default and (admin or v in weaker(field, default))]:
            pk = create(personas[Role.OWNER], **{field.name: chosen}).json()["id"]
            name, value = OTHER_SETTING[type_key]
            other = patch(client, pk, **{name: value})
            assert other.status_code == 200, (role, other.content)
            assert stored(pk)[field.name] == chosen and stored(pk)[name] == value
            full = client.put(
                f"/api/v1/connectors/{pk}/",
                {"name": f"put {pk}", "type": type_key, "settings": {"sandbox": dict(base)}},
                format="json",
            )
            assert full.status_code == 200, (role, full.content)
            if not admin:
                assert stored(pk)[field.name] == chosen, "a full update by an editor keeps an admin's choice"
                patch(personas[Role.OWNER], pk, **{field.name: chosen})
            for value in weaker(field, chosen):
                answer = patch(client, pk, **{field.name: value})
                assert answer.status_code == (200 if admin else 400), (role, chosen, value, answer.content)
                if not admin:
                    assert stored(pk)[field.name] == chosen
                patch(personas[Role.OWNER], pk, **{field.name: chosen})
            for value in stricter(field, chosen):
                assert patch(client, pk, **{field.name: value}).status_code == 200, (role, chosen, value)
                patch(personas[Role.OWNER], pk, **{field.name: chosen})


# -- testing unsaved settings: the same rule, so an editor cannot reach a server with TLS off ---------------


def unsaved_test(client, connector=None, **settings):
    body = {"type": "http", "environment": "sandbox", "settings": {**BASE, **settings}}
    if connector is not None:
        body["connector"] = connector
    return client.post("/api/v1/connectors/test/", body, format="json")


@pytest.mark.parametrize(
    "setting", [{"verify_tls": False}, {"allowed_networks": "10.0.0.0/8"}], ids=["verify_tls", "allowed_networks"]
)
def test_an_editor_cannot_test_unsaved_settings_that_weaken_an_admin_only_one(editor_api, api, setting):
    refused = unsaved_test(editor_api, **setting)
    assert refused.status_code == 400, refused.content
    (name,) = setting
    assert refused.json()["errors"]["settings"][name] == [
        "Only an admin or owner may change this setting; it keeps its current value."
    ]
    assert unsaved_test(api, **setting).status_code == 200, "an owner may test them"


def test_an_editor_may_test_a_connector_with_the_admin_only_values_an_owner_saved(api, editor_api):
    created = create(api, verify_tls=False)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert unsaved_test(editor_api, connector=pk, verify_tls=False).status_code == 200
    assert unsaved_test(editor_api, connector=pk).status_code == 200, "left out: the saved value stands"
