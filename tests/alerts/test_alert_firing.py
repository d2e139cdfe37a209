"""Alert rules firing: to a real webhook receiver (signed) and the mail outbox, once per throttle window;
the threshold rule; the no-success rule with the clock in the test's hands; other organizations apart."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Environment
from alerts import firing
from alerts.choices import Channel, Condition, Outcome
from alerts.models import AlertDelivery
from flows.models import Execution
from tests.api.conftest import ADD_FIELD, FAILING

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(make_flow, sandbox):
    return make_flow(FAILING, slug="orders", name="Orders", deploy=[sandbox])


@pytest.fixture
def failed(execution_of):
    """A failed execution of ``flow`` that finished at ``at``."""

    def make(flow, at, error="Step 'Check order' failed: the order is incomplete"):
        execution = execution_of(flow, status=Execution.Status.FAILED, correlation_id="corr-7")
        Execution.objects.filter(pk=execution.pk).update(finished=at, error=error)
        execution.refresh_from_db()
        return execution

    return make


def expected_signature(secret: str, request: dict) -> str:
    timestamp = request["headers"]["X-Erpflow-Timestamp"]
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def test_every_failure_alerts_once_per_throttle_window_by_mail_and_signed_webhook(
    orders, failed, make_rule, receiver, mailoutbox, caplog, settings
):
    settings.ERPFLOW_PUBLIC_URL = "https://erp.example.com"
    rule, secret = make_rule(
        condition=Condition.EVERY_FAILURE,
        emails=["oncall@example.com", "lead@example.com"],
        webhook_url=receiver.url,
        throttle_minutes=60,
    )
    t0 = timezone.now()
    caplog.set_level(logging.DEBUG)

    sent = firing.on_failure(failed(orders, t0), t0)
    assert sorted(d.channel for d in sent) == ["email", "email", "webhook"]
    assert all(d.outcome == Outcome.SENT for d in sent)
    assert [m.to for m in mailoutbox] == [["oncall@example.com"], ["lead@example.com"]]
    assert mailoutbox[0].subject == "[erpflow] Orders failed in sandbox"
    assert "Error: Step 'Check order' failed: the order is incomplete" in mailoutbox[0].body
    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request["headers"]["X-Erpflow-Signature"] == expected_signature(secret, request)
    assert abs(int(request["headers"]["X-Erpflow-Timestamp"]) - t0.timestamp()) < 60
    body = json.loads(request["body"])
    assert body["rule"]["name"] == "On call"
    assert body["execution"]["flow"]["slug"] == "orders"
    assert body["execution"]["correlation_id"] == "corr-7"
    assert body["execution"]["link"] == f"https://erp.example.com/executions/{body['execution']['execution_id']}/"

    # A second failure within the window: nothing sent, nothing recorded.
    assert firing.on_failure(failed(orders, t0 + timedelta(minutes=5)), t0 + timedelta(minutes=5)) == []
    assert len(mailoutbox) == 2 and len(receiver.received) == 1

    # Once the window has passed, the next failure alerts again.
    later = t0 + timedelta(minutes=61)
    assert len(firing.on_failure(failed(orders, later), later)) == 3
    assert len(mailoutbox) == 4 and len(receiver.received) == 2

    records = AlertDelivery.objects.filter(rule=rule)
    assert records.count() == 6
    webhook = records.filter(channel=Channel.WEBHOOK).first()
    assert webhook.recipient == receiver.url.split("?")[0]
    stored = json.dumps(list(records.values("recipient", "error", "summary")))
    for secret_text in (secret, "query-Secret-9", rule.webhook_secret):
        assert secret_text not in stored
        assert secret_text not in caplog.text


def test_a_failing_receiver_is_recorded_and_the_mail_still_goes(orders, failed, make_rule, receiver, mailoutbox):
    receiver.status = 503
    make_rule(emails=["oncall@example.com"], webhook_url=receiver.url)
    now = timezone.now()
    sent = firing.on_failure(failed(orders, now), now)
    outcomes = {d.channel: (d.outcome, d.error) for d in sent}
    assert outcomes == {Channel.EMAIL: (Outcome.SENT, ""), Channel.WEBHOOK: (Outcome.FAILED, "answered HTTP 503")}
    assert len(mailoutbox) == 1


def test_the_network_policy_stops_a_webhook_to_loopback_when_the_installation_does_not_allow_it(
    orders, failed, make_rule, receiver, installation_network_policy
):
    make_rule(webhook_url=receiver.url)
    now = timezone.now()
    [delivery] = firing.on_failure(failed(orders, now), now)
    assert delivery.outcome == Outcome.FAILED
    assert "refused by the network policy" in delivery.error and "127.0.0.1" in delivery.error
    assert receiver.received == []


def test_more_than_n_failures_within_w_minutes_fires_once(orders, failed, make_rule, mailoutbox):
    rule, _ = make_rule(
        condition=Condition.FAILURES_OVER,
        flow=orders,
        failures=2,
        window_minutes=10,
        emails=["ops@example.com"],
        throttle_minutes=30,
    )
    now = timezone.now()
    # Two old failures (outside the window) and two recent ones: not more than 2 within 10 minutes.
    for minutes in (45, 30, 4):
        failed(orders, now - timedelta(minutes=minutes))
    assert firing.on_failure(failed(orders, now - timedelta(minutes=1)), now) == []
    assert mailoutbox == []

    third = failed(orders, now)
    [delivery] = firing.on_failure(third, now)
    assert delivery.summary["failures"] == 3
    assert mailoutbox[0].subject.startswith("[erpflow] 3 failures of flow Orders in 10 min (more than 2)")

    fourth = now + timedelta(minutes=1)
    assert firing.on_failure(failed(orders, fourth), fourth) == []
    rule.refresh_from_db()
    assert rule.last_fired == now


def test_no_success_for_t_minutes_fires_from_the_beat_check(orders, execution_of, make_rule, mailoutbox):
    rule, _ = make_rule(
        condition=Condition.NO_SUCCESS,
        flow=orders,
        silence_minutes=60,
        emails=["ops@example.com"],
        throttle_minutes=120,
    )
    created = rule.created
    # Younger than T, the rule waits; then a success within T keeps it quiet.
    assert firing.check_silent(created + timedelta(minutes=59)) == []
    success = execution_of(orders, status=Execution.Status.SUCCEEDED)
    Execution.objects.filter(pk=success.pk).update(finished=created + timedelta(minutes=30))
    assert firing.check_silent(created + timedelta(minutes=80)) == []

    # 61 minutes after that success: silent for longer than T.
    silent = created + timedelta(minutes=91)
    [delivery] = firing.check_silent(silent)
    assert delivery.summary["last_success"] == (created + timedelta(minutes=30)).isoformat()
    assert mailoutbox[0].subject.startswith("[erpflow] Flow Orders has not succeeded for 60 min")
    # Still silent, but within the throttle window: once.
    assert firing.check_silent(silent + timedelta(minutes=30)) == []
    assert len(firing.check_silent(silent + timedelta(minutes=121))) == 1


def test_rules_hear_only_of_their_flow_and_their_organization(
    orders, failed, make_rule, make_flow, sandbox, other_org, mailoutbox
):
    other_flow = make_flow(ADD_FIELD, slug="invoices", name="Invoices", deploy=[sandbox])
    make_rule(name="Orders only", flow=orders, emails=["orders@example.com"])
    make_rule(name="Everything", emails=["all@example.com"])
    make_rule(name="Disabled", emails=["off@example.com"], enabled=False)
    make_rule(name="Theirs", organization=other_org, emails=["them@example.com"])
    now = timezone.now()

    firing.on_failure(failed(other_flow, now), now)
    assert [m.to for m in mailoutbox] == [["all@example.com"]]

    mailoutbox.clear()
    firing.on_failure(failed(orders, now), now)
    assert [m.to for m in mailoutbox] == [["orders@example.com"]]  # "Everything" is within its throttle window


def test_an_organization_wide_silence_rule_ignores_other_organizations_successes(
    make_rule, make_flow, other_org, sandbox, execution_of, mailoutbox
):
    rule, _ = make_rule(condition=Condition.NO_SUCCESS, silence_minutes=10, emails=["ops@example.com"])
    theirs = make_flow(ADD_FIELD, slug="theirs", organization=other_org)
    Execution.objects.create(
        organization=other_org,
        flow=theirs,
        version=theirs.versions.create(number=1, graph=ADD_FIELD),
        environment=Environment.objects.get(organization=other_org, slug="sandbox"),
        trigger=Execution.Trigger.API,
        status=Execution.Status.SUCCEEDED,
        finished=rule.created + timedelta(minutes=15),
    )
    [delivery] = firing.check_silent(rule.created + timedelta(minutes=20))
    assert delivery.summary["headline"].startswith("No flow of this organization has succeeded for 10 min")
