"""An organization with one of everything, its members in every role, and clients for every persona."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.choices import Role, Scope
from accounts.models import ApiToken, Membership, Variable
from connectors import catalog, values
from connectors.models import Connector, ConnectorSettings
from flows import schedules, versions, webhooks
from flows.models import Execution, Flow
from tests.conftest import make_user, token_client
from tests.flows.builders import graph, mapping

ROLES = (Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER)


@dataclass
class World:
    """Org A's objects, by the URL keyword they stand for."""

    org: object
    members: dict
    flow: Flow
    connector: Connector
    execution: Execution
    variable: Variable
    webhook: object
    schedule: object
    token: ApiToken
    audit_event: object
    managed_call: object
    alert_rule: object
    alert_delivery: object


@pytest.fixture
def world(org, owner, sandbox, settings, pg_settings):
    settings.ERPFLOW_RATE_LIMIT_ORGANIZATION = 10**6
    settings.ERPFLOW_RATE_LIMIT_TOKEN = 10**6
    members = {Role.OWNER: owner}
    for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        members[role] = make_user(f"{role}-member")
        Membership.objects.create(organization=org, user=members[role], role=role)
    flow = Flow.objects.create(organization=org, name="Orders", slug="orders")
    assert versions.save_draft(flow, graph([mapping("m", '{"a": 1}', name="Map")]), owner) == []
    version = versions.publish(flow, owner, "v1")
    versions.deploy(flow, version, sandbox, owner)
    execution = Execution.objects.create(
        organization=org,
        flow=flow,
        version=version,
        environment=sandbox,
        trigger=Execution.Trigger.API,
        input={"payload": {}, "headers": {}, "query": {}},
        status=Execution.Status.FAILED,
    )
    connector = Connector.objects.create(organization=org, type_key="postgres", name="Warehouse")
    ConnectorSettings.objects.create(
        connector=connector, environment=sandbox, values=values.clean(catalog.type_class("postgres"), dict(pg_settings))
    )
    variable = Variable(organization=org, environment=sandbox, key="API_KEY", secret=True)
    variable.set_value("s3cret")
    variable.save()
    webhook, _ = webhooks.create(flow, sandbox)
    schedule = schedules.create(flow, sandbox, "0 3 * * *")
    token, _ = ApiToken.issue(organization=org, user=owner, name="owner's", scopes=Scope.values)
    from audit.models import AuditEvent
    from managed.models import ManagedCall

    managed_call = ManagedCall.objects.create(
        organization=org,
        name="Lookup",
        slug="lookup",
        connector=connector,
        environment=sandbox,
        request="GET /customers",
    )
    from alerts.models import AlertDelivery, AlertRule

    alert_rule = AlertRule(
        organization=org, name="On call", emails=["ops@example.com"], webhook_url="https://1.1.1.1/alerts"
    )
    alert_rule.sync_secret()
    alert_rule.save()
    alert_delivery = AlertDelivery.objects.create(
        organization=org, rule=alert_rule, channel="email", recipient="ops@example.com", outcome="sent"
    )
    return World(
        org=org,
        members=members,
        flow=flow,
        connector=connector,
        execution=execution,
        variable=variable,
        webhook=webhook,
        schedule=schedule,
        token=token,
        audit_event=AuditEvent.objects.filter(organization=org).first(),
        managed_call=managed_call,
        alert_rule=alert_rule,
        alert_delivery=alert_delivery,
    )


def session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def revoked_client(org, user) -> APIClient:
    token, plain = ApiToken.issue(organization=org, user=user, name="revoked", scopes=Scope.values)
    token.revoke()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


__all__ = ["ROLES", "World", "api_session", "revoked_client", "session", "token_client"]
