"""``/api/v1/alert-rules/`` and ``/api/v1/alerts/``: CRUD, clear 400s, the signing key shown once,
roles, and another organization's rules and alerts as unknown as missing ones."""

from __future__ import annotations

import pytest

from alerts.choices import Channel, Outcome
from alerts.models import AlertDelivery, AlertRule
from tests.api.conftest import ADD_FIELD

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alert-rules/"


@pytest.fixture
def orders(make_flow, sandbox):
    return make_flow(ADD_FIELD, slug="orders", name="Orders", deploy=[sandbox])


def test_an_editor_creates_a_rule_and_sees_its_signing_key_once(editor_api, orders, receiver):
    body = {
        "name": "Orders on call",
        "flow": "orders",
        "condition": "failures_over",
        "failures": 3,
        "window_minutes": 15,
        "emails": ["oncall@example.com"],
        "webhook_url": receiver.url,
    }
    created = editor_api.post(RULES, body, format="json")
    assert created.status_code == 201, created.json()
    secret = created.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    rule = AlertRule.objects.get(pk=created.json()["id"])
    assert (rule.flow, rule.failures, rule.window_minutes, rule.throttle_minutes) == (orders, 3, 15, 60)
    assert secret not in rule.webhook_secret and rule.signing_key() == secret

    shown = editor_api.get(f"{RULES}{rule.pk}/").json()
    assert shown["webhook_secret"] is None
    assert secret not in str(editor_api.get(RULES).json())

    changed = editor_api.patch(f"{RULES}{rule.pk}/", {"failures": 5}, format="json")
    assert changed.status_code == 200 and changed.json()["webhook_secret"] is None
    rule.refresh_from_db()
    assert rule.failures == 5 and rule.signing_key() == secret

    rotated = editor_api.post(f"{RULES}{rule.pk}/rotate-secret/")
    assert rotated.status_code == 200
    rule.refresh_from_db()
    assert rule.signing_key() == rotated.json()["webhook_secret"] != secret

    assert editor_api.delete(f"{RULES}{rule.pk}/").status_code == 204
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    "body,field,message",
    [
        ({"emails": ["not-an-address"]}, "emails", "'not-an-address' is not an e-mail address."),
        ({"emails": []}, "emails", "Give at least one e-mail address or a webhook URL"),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url", "Give an http:// or https:// address."),
        ({"webhook_url": "http://169.254.169.254/latest"}, "webhook_url", "cloud metadata"),
        ({"webhook_url": "http://127.0.0.1:6379/"}, "webhook_url", "erpflow's own"),
        ({"condition": "failures_over", "window_minutes": 10}, "failures", "N (failures) is required"),
        ({"condition": "failures_over", "failures": 0, "window_minutes": 10}, "failures", "from 1 to 10000, not 0"),
        ({"condition": "failures_over", "failures": 2, "window_minutes": 99999}, "window_minutes", "from 1 to 10080"),
        ({"condition": "no_success", "silence_minutes": -1}, "silence_minutes", "from 1 to 43200, not -1"),
        ({"condition": "every_failure", "silence_minutes": 5}, "silence_minutes", "leave it empty"),
        ({"throttle_minutes": 0}, "throttle_minutes", "from 1 to 10080 minutes, not 0"),
        ({"condition": "sometimes"}, "condition", "is not a valid choice"),
        ({"flow": "nope"}, "flow", "no flow with the slug 'nope'"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field, message):
    response = api.post(RULES, {"name": "Bad", "emails": ["ops@example.com"], **body}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors and message in str(errors[field]), errors
    assert not AlertRule.objects.exists()


def test_the_network_policy_of_the_installation_decides_which_webhooks_are_accepted(
    api, receiver, installation_network_policy
):
    response = api.post(RULES, {"name": "Loopback", "webhook_url": receiver.url}, format="json")
    assert response.status_code == 400
    assert "The network policy refuses this address: 127.0.0.1" in response.json()["errors"]["webhook_url"][0]


def test_viewers_read_rules_and_alerts_but_cannot_change_them(viewer_api, make_rule):
    rule, _ = make_rule(emails=["ops@example.com"])
    assert viewer_api.get(RULES).json()["results"][0]["name"] == "On call"
    assert viewer_api.patch(f"{RULES}{rule.pk}/", {"name": "Mine"}, format="json").status_code == 403
    assert viewer_api.post(RULES, {"name": "x", "emails": ["a@example.com"]}, format="json").status_code == 403
    assert viewer_api.get("/api/v1/alerts/").status_code == 200


def test_alerts_are_listed_newest_first_and_filtered_by_rule(api, make_rule, org):
    first, _ = make_rule(name="First", emails=["a@example.com"])
    second, _ = make_rule(name="Second", emails=["b@example.com"])
    for rule in (first, second, first):
        AlertDelivery.objects.create(
            organization=org,
            rule=rule,
            channel=Channel.EMAIL,
            recipient=rule.emails[0],
            outcome=Outcome.SENT,
            summary={"headline": rule.name},
        )
    listed = api.get("/api/v1/alerts/", {"rule": first.pk}).json()["results"]
    assert [d["recipient"] for d in listed] == ["a@example.com", "a@example.com"]
    assert listed[0]["id"] > listed[1]["id"]
    bad = api.get("/api/v1/alerts/", {"rule": "first"})
    assert bad.status_code == 400 and "rule" in bad.json()["errors"]


def test_another_organizations_rules_and_alerts_are_not_found(outsider_api, make_rule, org, orders):
    rule, _ = make_rule(emails=["ops@example.com"])
    delivery = AlertDelivery.objects.create(
        organization=org, rule=rule, channel=Channel.EMAIL, recipient="ops@example.com", outcome=Outcome.SENT
    )
    assert outsider_api.get(f"{RULES}{rule.pk}/").status_code == 404
    assert outsider_api.patch(f"{RULES}{rule.pk}/", {"name": "Taken"}, format="json").status_code == 404
    assert outsider_api.delete(f"{RULES}{rule.pk}/").status_code == 404
    assert outsider_api.post(f"{RULES}{rule.pk}/rotate-secret/").status_code == 404
    assert outsider_api.get(f"/api/v1/alerts/{delivery.pk}/").status_code == 404
    assert outsider_api.get(RULES).json()["results"] == []
    assert outsider_api.get("/api/v1/alerts/").json()["results"] == []
    # Their flow's slug is as unknown to the outsider as one that does not exist.
    response = outsider_api.post(RULES, {"name": "x", "flow": "orders", "emails": ["a@example.com"]}, format="json")
    assert response.status_code == 400 and "no flow with the slug 'orders'" in str(response.json()["errors"]["flow"])
    rule.refresh_from_db()
    assert rule.name == "On call"
