"""The alerts page: empty states, creating (the signing key shown once), editing, deleting, roles, tenants."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.choices import Channel, Outcome
from alerts.models import AlertDelivery, AlertRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_session(viewer):
    client = Client()
    client.force_login(viewer)
    return client


def test_the_empty_page_says_what_to_do(session_client):
    page = session_client.get("/alerts/")
    assert page.status_code == 200
    assert b"No alert rules yet. Create one" in page.content
    assert b"No alerts yet." in page.content
    assert b'href="/alerts/"' in page.content  # in the navigation


def test_creating_a_rule_shows_its_signing_key_once(session_client, receiver):
    form = {
        "name": "Night shift",
        "flow": "",
        "condition": "no_success",
        "silence_minutes": "90",
        "emails": "night@example.com, lead@example.com\nnight@example.com",
        "webhook_url": receiver.url,
        "throttle_minutes": "30",
        "enabled": "on",
    }
    page = session_client.post("/alert-rules/new/", form)
    assert page.status_code == 200
    rule = AlertRule.objects.get()
    secret = rule.signing_key()
    assert secret.encode() in page.content and b"Copy the webhook" in page.content
    assert rule.emails == ["night@example.com", "lead@example.com"]
    assert (rule.flow, rule.silence_minutes, rule.throttle_minutes) == (None, 90, 30)

    listing = session_client.get("/alerts/")
    assert b"Night shift" in listing.content and secret.encode() not in listing.content
    edit = session_client.get(f"/alert-rules/{rule.pk}/")
    assert secret.encode() not in edit.content and rule.webhook_secret.encode() not in edit.content


def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(session_client):
    form = {"name": "Bad", "condition": "failures_over", "failures": "0", "emails": "nobody", "throttle_minutes": "60"}
    page = session_client.post("/alert-rules/new/", form)
    assert page.status_code == 200
    assert b"&#x27;nobody&#x27; is not an e-mail address." in page.content
    assert b"W (window in minutes) is required for this condition." in page.content
    assert not AlertRule.objects.exists()


def test_editing_and_deleting_a_rule(session_client, make_rule, org):
    rule, _ = make_rule(emails=["ops@example.com"])
    AlertDelivery.objects.create(
        organization=org, rule=rule, channel=Channel.EMAIL, recipient="ops@example.com", outcome=Outcome.SENT
    )
    form = {"name": "Renamed", "condition": "every_failure", "emails": "ops@example.com", "throttle_minutes": "15"}
    assert session_client.post(f"/alert-rules/{rule.pk}/", form).status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.throttle_minutes, rule.enabled) == ("Renamed", 15, False)
    listing = session_client.get(f"/alerts/?rule={rule.pk}")
    assert b"ops@example.com" in listing.content and b"of one rule" in listing.content
    assert session_client.post(f"/alert-rules/{rule.pk}/delete/").status_code == 302
    assert not AlertRule.objects.exists() and not AlertDelivery.objects.exists()


def test_a_viewer_sees_the_rules_but_no_controls_and_cannot_post(viewer_session, make_rule):
    rule, _ = make_rule(emails=["ops@example.com"])
    page = viewer_session.get("/alerts/")
    assert b"On call" in page.content and b"New alert rule" not in page.content
    assert viewer_session.post(f"/alert-rules/{rule.pk}/delete/").status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_another_organizations_rule_is_not_found(outsider_session, make_rule):
    rule, _ = make_rule(emails=["ops@example.com"])
    assert outsider_session.get(f"/alert-rules/{rule.pk}/").status_code == 404
    assert outsider_session.post(f"/alert-rules/{rule.pk}/delete/").status_code == 404
    assert b"On call" not in outsider_session.get("/alerts/").content
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_filter_that_is_no_number_is_a_400_with_the_reason(session_client):
    page = session_client.get("/alerts/?rule=first")
    assert page.status_code == 400 and b"rule: Enter a number." in page.content
