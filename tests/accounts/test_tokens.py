from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import Scope
from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def bearer(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    return client


def test_only_the_hash_of_a_token_is_stored(org, owner):
    token, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    secret_part = plain.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken WHERE id = %s", [token.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret_part not in row
    assert token.key_hash in row


def test_a_valid_token_authenticates_and_records_last_use(org, owner):
    token, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    response = bearer(plain).get("/api/v1/environments/")
    assert response.status_code == 200
    assert {env["slug"] for env in response.json()["results"]} == {"sandbox", "production"}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(org, owner):
    from datetime import timedelta

    from accounts import auth_cache

    token, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    client = bearer(plain)
    client.get("/api/v1/environments/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    client.get("/api/v1/environments/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    auth_cache.tokens.forget()  # two minutes later, the second the process keeps a token is long over
    client.get("/api/v1/environments/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


@pytest.mark.parametrize(
    "presented",
    ["erp_nothere_nosecret", "garbage", "erp_", "erp_abc"],
)
def test_a_wrong_token_gets_401(org, owner, presented):
    ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    response = bearer(presented).get("/api/v1/environments/")
    assert response.status_code == 401
    assert "invalid" in response.json()["detail"]


def test_a_token_with_the_right_id_but_wrong_secret_gets_401(org, owner):
    _, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    prefix, key_id, _ = plain.split("_", 2)
    assert bearer(f"{prefix}_{key_id}_not-the-secret").get("/api/v1/environments/").status_code == 401


def test_a_revoked_token_gets_401(org, owner):
    token, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    client = bearer(plain)
    assert client.get("/api/v1/environments/").status_code == 200
    token.revoke()
    assert client.get("/api/v1/environments/").status_code == 401


def test_an_expired_token_gets_401(org, owner):
    _, plain = ApiToken.issue(
        organization=org,
        user=owner,
        name="ci",
        scopes=[Scope.FLOWS_READ],
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert bearer(plain).get("/api/v1/environments/").status_code == 401


def test_a_missing_scope_gets_403_naming_the_scope(org, owner):
    _, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.CONNECTORS_READ])
    response = bearer(plain).get("/api/v1/environments/")
    assert response.status_code == 403
    assert "flows:read" in response.json()["detail"]


def test_a_read_scope_does_not_allow_writes(org, owner):
    _, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    response = bearer(plain).post("/api/v1/variables/", {"environment": "sandbox", "key": "A", "value": "1"})
    assert response.status_code == 403
    assert "flows:write" in response.json()["detail"]


def test_no_credentials_get_401_with_a_hint(db):
    response = APIClient().get("/api/v1/environments/")
    assert response.status_code in (401, 403)
    assert "Bearer" in response.json()["detail"]


def test_tokens_are_created_over_the_session_and_shown_once(session_client, owner):
    response = session_client.post(
        "/api/v1/tokens/",
        {"name": "erp-sync", "scopes": ["executions:run"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    plain = response.json()["token"]
    assert plain.startswith("erp_")
    listing = session_client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listing] == ["erp-sync"]
    assert "token" not in listing[0]
    assert plain not in session_client.get("/tokens/").content.decode()


def test_unknown_scopes_are_refused_with_the_field_named(session_client):
    response = session_client.post(
        "/api/v1/tokens/", {"name": "x", "scopes": ["everything"]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "scopes" in response.json()["errors"]


def test_a_token_cannot_mint_tokens(api):
    response = api.post("/api/v1/tokens/", {"name": "x", "scopes": ["flows:read"]}, format="json")
    assert response.status_code == 403


def test_revoking_over_the_api_stops_the_token(session_client, org, owner):
    token, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    response = session_client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert bearer(plain).get("/api/v1/environments/").status_code == 401


def test_the_tokens_page_creates_a_token_and_shows_it_once(session_client, org, owner):
    response = session_client.post("/tokens/", {"name": "from-page", "scopes": ["flows:read"]})
    assert response.status_code == 200
    page = response.content.decode()
    token = ApiToken.objects.get(name="from-page")
    assert f"erp_{token.key_id}_" in page
    assert f"erp_{token.key_id}_" not in session_client.get("/tokens/").content.decode()


def test_the_tokens_page_revokes(session_client, org, owner):
    token, _ = ApiToken.issue(organization=org, user=owner, name="old", scopes=[Scope.FLOWS_READ])
    session_client.post(f"/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.state == "revoked"


def test_a_token_is_read_once_a_second_and_a_revoke_takes_effect_at_once_here(
    org, owner, django_assert_num_queries, monkeypatch
):
    from accounts import auth_cache

    monkeypatch.setattr(auth_cache.tokens, "seconds", 60)  # a slow machine must not outlast the second
    monkeypatch.setattr(auth_cache.memberships, "seconds", 60)
    token, plain = ApiToken.issue(organization=org, user=owner, name="ci", scopes=[Scope.FLOWS_READ])
    client = bearer(plain)
    assert client.get("/api/v1/environments/").status_code == 200
    with django_assert_num_queries(2):  # the page of environments and its count: token and membership are cached
        assert client.get("/api/v1/environments/").status_code == 200
    token.revoke()
    assert client.get("/api/v1/environments/").status_code == 401
    assert auth_cache.SECONDS <= 1.0, "another process sees a revoke within a second"
