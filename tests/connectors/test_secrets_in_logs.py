"""Secrets stay out of every log line and exception, whatever fails: a connection test, a pool, a statement."""

from __future__ import annotations

import logging

import pytest

from connectors import catalog, pools, runtime, values
from connectors.catalog.base import ConnectorError, Deadline
from connectors.models import Connector, ConnectorSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def saved(org, sandbox, mysql_account):
    account, _ = mysql_account
    type_cls = catalog.type_class("mysql")
    connector = Connector.objects.create(organization=org, type_key="mysql", name="erp")
    ConnectorSettings.objects.create(connector=connector, environment=sandbox, values=values.clean(type_cls, account))
    yield connector, account["password"]
    pools.close_all()


def test_a_failing_statement_logs_and_raises_without_the_password(saved, sandbox, everything_logged):
    connector, password = saved
    with pytest.raises(ConnectorError) as caught:
        runtime.call(connector, sandbox, "SELEC nonsense FROM nowhere", {}, Deadline(3000))
    assert "SQL syntax" in str(caught.value)
    assert password not in str(caught.value)
    assert password not in everything_logged.text


def test_a_failing_connection_test_logs_nothing_of_the_password(sandbox, mysql_account, everything_logged):
    account, _ = mysql_account
    wrong = "Wr0ng-pa55word-for-the-log-test"
    stored = values.clean(catalog.type_class("mysql"), {**account, "password": wrong})
    result = runtime.test("mysql", stored, sandbox)
    assert result.ok is False
    assert wrong not in str(result.as_dict())
    assert wrong not in everything_logged.text


def test_a_pool_that_cannot_sign_in_fails_the_call_without_the_password(saved, sandbox, everything_logged):
    connector, password = saved
    row = connector.settings.get()
    type_cls = catalog.type_class("mysql")
    row.values = values.clean(type_cls, {**row.values, "password": "not-" + password}, previous=row.values)
    row.save()
    connector.revision += 1
    connector.save()
    with pytest.raises(ConnectorError) as caught:
        runtime.call(connector, sandbox, "SELECT 1", {}, Deadline(3000))
    assert "not-" + password not in str(caught.value)
    assert "not-" + password not in everything_logged.text
