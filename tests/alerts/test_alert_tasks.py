"""What wires alerts into the platform: the beat entry, the ending signal, key rotation."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from accounts.rotation import rotate_all
from alerts import receivers, tasks
from config import keys
from core import crypto
from flows.models import Execution
from tests.api.conftest import FAILING

pytestmark = pytest.mark.django_db


def test_beat_looks_for_silent_flows_every_minute():
    beat = django_settings.CELERY_BEAT_SCHEDULE
    assert {"task": "alerts.tasks.check_silent_rules", "schedule": 60.0} in beat.values()


def test_only_a_failed_ending_queues_the_alert_task_once_committed(
    make_flow, sandbox, execution_of, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.ERPFLOW_EXECUTION_QUEUE = "alerts-test"
    queued = []
    monkeypatch.setattr(tasks.execution_failed, "apply_async", lambda args, queue: queued.append((args, queue)))
    flow = make_flow(FAILING, deploy=[sandbox])
    ok = execution_of(flow, status=Execution.Status.SUCCEEDED)
    bad = execution_of(flow, status=Execution.Status.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        receivers.execution_finished(sender=None, execution_id=ok.pk)
        receivers.execution_finished(sender=None, execution_id=bad.pk)
    assert queued == [] and len(callbacks) == 1  # nothing before the ending is committed
    callbacks[0]()
    assert queued == [((bad.pk,), "alerts-test")]


def test_key_rotation_re_encrypts_webhook_signing_keys(make_rule, settings):
    rule, secret = make_rule(webhook_url="https://1.1.1.1/alerts")
    settings.ERPFLOW_ENCRYPTION_KEYS = [keys.generate_key(), *settings.ERPFLOW_ENCRYPTION_KEYS]
    assert crypto.needs_rotation(rule.webhook_secret)
    assert rotate_all()["alert webhook secrets"] == 1
    rule.refresh_from_db()
    assert not crypto.needs_rotation(rule.webhook_secret)
    assert rule.signing_key() == secret
