"""Webhooks: a secret URL per flow and environment that triggers the deployed version; rotation kills the old URL."""

from __future__ import annotations

import json

import pytest

from config import keys
from core import crypto, masking
from flows import webhooks
from flows.models import Execution, Webhook

pytestmark = pytest.mark.django_db


def path_of(body: dict) -> str:
    return body["url"].split("testserver", 1)[1]


@pytest.fixture
def hook(api, deployed):
    response = api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_creating_a_webhook_gives_a_secret_url_stored_only_hashed_and_encrypted(hook):
    path = path_of(hook)
    token = path.rsplit("/", 1)[1]
    assert path.startswith("/hooks/whk_") and len(token) > 40
    stored = Webhook.objects.get()
    assert token not in stored.token_hash and token not in stored.token_encrypted
    assert crypto.decrypt(stored.token_encrypted) == token


def test_posting_json_to_the_webhook_starts_the_deployed_version_with_the_body_as_payload(client, hook, deployed):
    response = client.post(
        path_of(hook), data=json.dumps({"order": 5}), content_type="application/json", HTTP_X_CORRELATION_ID="c-5"
    )
    assert response.status_code == 202, response.content
    execution = Execution.objects.get()
    assert response.json()["id"] == execution.pk
    assert (execution.trigger, execution.environment.slug, execution.version.number) == ("webhook", "sandbox", 1)
    assert execution.input["payload"] == {"order": 5}
    assert execution.correlation_id == "c-5"
    assert execution.started_by is None


@pytest.mark.parametrize(
    "body,content_type,payload",
    [
        (b"<event><id>4</id></event>", "application/xml", {"event": {"id": "4"}}),
        (b"id=4&tag=a&tag=b", "application/x-www-form-urlencoded", {"id": "4", "tag": ["a", "b"]}),
        (b"[1, 2]", "application/json", [1, 2]),
    ],
)
def test_webhooks_accept_xml_forms_and_any_json_value(client, hook, body, content_type, payload):
    response = client.post(path_of(hook), data=body, content_type=content_type)
    assert response.status_code == 202, response.content
    assert Execution.objects.get().input["payload"] == payload


def test_a_repeated_idempotency_key_returns_the_first_execution(client, hook):
    first = client.post(path_of(hook), data=b"{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post(path_of(hook), data=b"{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Execution.objects.count() == 1


def test_rotating_replaces_the_url_and_the_old_one_answers_404(api, client, hook):
    old = path_of(hook)
    rotated = api.post(f"/api/v1/webhooks/{hook['id']}/rotate/")
    assert rotated.status_code == 200
    new = path_of(rotated.json())
    assert new != old
    assert Webhook.objects.get().rotated is not None
    assert client.post(old, data=b"{}", content_type="application/json").status_code == 404
    assert client.post(new, data=b"{}", content_type="application/json").status_code == 202
    assert Execution.objects.count() == 1


@pytest.mark.parametrize("token", ["whk_unknown", "nothing-like-a-token", "whk_" + "a" * 200])
def test_unknown_tokens_answer_404(client, hook, token):
    response = client.post(f"/hooks/{token}", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert not Execution.objects.exists()


def test_only_post_triggers(client, hook):
    response = client.get(path_of(hook))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert not Execution.objects.exists()


def test_a_webhook_of_a_disabled_flow_is_refused(client, hook, deployed):
    deployed.enabled = False
    deployed.save()
    response = client.post(path_of(hook), data=b"{}", content_type="application/json")
    assert response.status_code == 409
    assert "disabled" in response.json()["detail"]


def test_a_webhook_where_nothing_is_deployed_is_refused(api, client, deployed):
    body = api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "production"}, format="json").json()
    response = client.post(path_of(body), data=b"{}", content_type="application/json")
    assert response.status_code == 409
    assert "no version deployed to Production" in response.json()["detail"]


def test_bad_webhook_bodies_get_4xx_and_create_nothing(client, hook, settings):
    settings.ERPFLOW_MAX_PAYLOAD_BYTES = 1024
    assert client.post(path_of(hook), data=b"{", content_type="application/json").status_code == 400
    assert client.post(path_of(hook), data=b"x", content_type="text/plain").status_code == 415
    big = json.dumps({"x": "y" * 2000})
    assert client.post(path_of(hook), data=big, content_type="application/json").status_code == 413
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "suffix,body,content_type",
    [
        ("", b"id=4%00x", "application/x-www-form-urlencoded"),
        ("", b"id=4\x00x", "application/x-www-form-urlencoded"),
        ("?source=a%00b", b"{}", "application/json"),
    ],
)
def test_nul_characters_in_forms_and_query_strings_are_refused(client, hook, suffix, body, content_type):
    response = client.post(path_of(hook) + suffix, data=body, content_type=content_type)
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
    assert not Execution.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/webhooks/?flow=a%00b", "/api/v1/schedules/?flow=a%00b"])
def test_a_nul_character_in_a_list_filter_is_refused(api, hook, path):
    response = api.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.json()["errors"]["flow"][0]


def test_a_flow_slug_with_a_nul_character_is_refused(api, deployed):
    response = api.post("/api/v1/webhooks/", {"flow": "add\x00field", "environment": "sandbox"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["flow"] == ["A slug cannot contain a NUL character."]
    assert not Webhook.objects.exists()


def test_one_webhook_per_environment(api, hook):
    again = api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json")
    assert again.status_code == 409
    assert "rotate" in again.json()["detail"]


def test_a_viewer_sees_that_a_webhook_exists_but_not_its_url_and_cannot_change_it(viewer_api, hook):
    listed = viewer_api.get("/api/v1/webhooks/?flow=add-field").json()["results"]
    assert [w["url"] for w in listed] == [masking.MASK]
    assert viewer_api.post(f"/api/v1/webhooks/{hook['id']}/rotate/").status_code == 403
    assert viewer_api.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 403
    assert (
        viewer_api.post(
            "/api/v1/webhooks/", {"flow": "add-field", "environment": "production"}, format="json"
        ).status_code
        == 403
    )


def test_an_editor_cannot_add_webhooks_to_a_protected_flow(editor_api, deployed):
    deployed.protected = True
    deployed.save()
    response = editor_api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json")
    assert response.status_code == 403
    assert not Webhook.objects.exists()


def test_deleting_a_webhook_disables_its_url(api, client, hook):
    assert api.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert client.post(path_of(hook), data=b"{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize(
    "method,template",
    [
        ("get", "/api/v1/webhooks/{id}/"),
        ("post", "/api/v1/webhooks/{id}/rotate/"),
        ("delete", "/api/v1/webhooks/{id}/"),
    ],
)
def test_an_outsider_gets_404_on_webhooks(outsider_api, hook, method, template):
    response = getattr(outsider_api, method)(template.format(id=hook["id"]))
    assert response.status_code == 404
    assert Webhook.objects.get().rotated is None


def test_an_outsider_cannot_attach_a_webhook_to_another_organizations_flow(outsider_api, deployed):
    response = outsider_api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json")
    assert response.status_code == 400
    assert "flow" in response.json()["errors"]
    assert outsider_api.get("/api/v1/webhooks/").json()["results"] == []


def test_key_rotation_re_encrypts_webhook_tokens(hook, settings):
    from accounts.rotation import rotate_all

    token = path_of(hook).rsplit("/", 1)[1]
    settings.ERPFLOW_ENCRYPTION_KEYS = [keys.generate_key(), *settings.ERPFLOW_ENCRYPTION_KEYS]
    assert crypto.needs_rotation(Webhook.objects.get().token_encrypted)
    assert rotate_all()["webhooks"] == 1
    stored = Webhook.objects.get()
    assert not crypto.needs_rotation(stored.token_encrypted)
    assert webhooks.find(token) == stored
    assert webhooks.token_of(stored) == token


def test_refused_webhook_calls_are_logged_without_the_token(client, hook, deployed, caplog):
    deployed.enabled = False
    deployed.save()
    token = path_of(hook).rsplit("/", 1)[1]
    assert client.post(path_of(hook), data=b"{}", content_type="application/json").status_code == 409
    assert client.get(path_of(hook)).status_code == 405
    assert client.post("/hooks/whk_" + "x" * 43, data=b"{}", content_type="application/json").status_code == 404
    assert f"webhook {hook['id']} answered 409" in caplog.text
    assert "(unknown token) answered 404" in caplog.text
    assert token not in caplog.text
    assert "whk_xxx" not in caplog.text


@pytest.fixture
def counted(settings, redis_url, hook):
    """Rate limits counted in the test's Redis database, starting from no counts once the webhook exists."""
    from config import redis_client

    settings.REDIS_URL = redis_url
    redis_client._client = None
    for key in redis_client.client().scan_iter("erpflow:ratelimit:*"):
        redis_client.client().delete(key)
    yield settings
    redis_client._client = None


def test_webhook_calls_count_against_their_organizations_rate_limit(counted, client, hook):
    counted.ERPFLOW_RATE_LIMIT_ORGANIZATION = 2
    answers = [client.post(path_of(hook), data="{}", content_type="application/json") for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert "at most 2 a minute" in answers[2].json()["detail"]
    assert Execution.objects.count() == 2
