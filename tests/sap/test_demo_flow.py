"""The demo's SAP flow pads a customer number a CRM sends as a number, as SAP's ALPHA conversion does."""

from __future__ import annotations

import pytest

from accounts.demo import create_demo
from accounts.models import Environment
from flows import engine
from flows.models import Execution, Flow
from tests.sap.test_sap_values_flows import received

pytestmark = pytest.mark.django_db


def test_a_customer_number_sent_as_a_number_reaches_sap_with_its_leading_zeros(mock_sap, monkeypatch):
    monkeypatch.setenv("ERPFLOW_DEMO_SAP_URL", mock_sap.soap_url)
    monkeypatch.setenv("ERPFLOW_DEMO_SAP_PASSWORD", mock_sap.password)
    organization, _ = create_demo("demo-admin")
    flow = Flow.objects.get(organization=organization, slug="demo-sap-sales-orders")
    execution = Execution.objects.create(
        organization=organization,
        flow=flow,
        version=flow.versions.order_by("-number").first(),
        environment=Environment.objects.get(organization=organization, slug="sandbox"),
        trigger=Execution.Trigger.API,
        input={"payload": {"customer": 1000001}, "headers": {}, "query": {}},
    )
    done = engine.run(execution.pk)
    assert done.status == "succeeded", done.error
    assert received(mock_sap, "BAPI_SALESORDER_GETLIST")["CUSTOMER_NUMBER"] == "0001000001"
    assert done.output["orders"]
