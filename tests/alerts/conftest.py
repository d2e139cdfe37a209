"""Fixtures of the alert tests: a webhook receiver, rules, and the flow fixtures of the API tests."""

from __future__ import annotations

import pytest

from alerts.models import AlertRule
from tests.alerts.receiver import Receiver
from tests.api.conftest import execution_of, make_flow, worker_pool, workers  # noqa: F401 - shared fixtures


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def make_rule(org):
    """An alert rule of ``org`` (or ``organization``); a webhook gets its signing key as the API gives one."""

    def make(*, organization=None, **fields) -> tuple[AlertRule, str | None]:
        rule = AlertRule(organization=organization or org, name=fields.pop("name", "On call"), **fields)
        secret = rule.sync_secret()
        rule.save()
        return rule, secret

    return make
