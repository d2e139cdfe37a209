"""schemathesis against the project's own OpenAPI schema, in-process through the WSGI application.

As an editor every operation gets a bounded number of generated requests: none may answer with a
server error or a body that breaks the schema. With another organization's token every operation
on one of organization A's objects (path parameters fixed to them, the rest generated) answers 404.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from tests.conftest import token_client

pytestmark = [pytest.mark.slow, pytest.mark.django_db]  # 156 cases, about 90 s together

EXAMPLES = 8
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests go through the real WSGI handler, which closes the database connection after each one;
    inside the test's transaction that would be the test's own. Django's test client disconnects the
    same handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def bearer(client) -> dict:
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@pytest.fixture
def editor_headers(world):
    from accounts.choices import Role

    return bearer(token_client(world.org, world.members[Role.EDITOR]))


@schema.parametrize()
@FUZZ
def test_an_editor_never_gets_a_server_error_or_a_response_off_the_schema(case, editor_headers):
    case.call_and_validate(headers=editor_headers, checks=[not_a_server_error, response_schema_conformance])


def objects_of(world) -> dict:
    """Organization A's objects by path prefix (``{id}``, ``{slug}``) for the other organization to ask for."""
    return {
        "/api/v1/connectors/": world.connector.pk,
        "/api/v1/executions/": world.execution.pk,
        "/api/v1/variables/": world.variable.pk,
        "/api/v1/webhooks/": world.webhook.pk,
        "/api/v1/schedules/": world.schedule.pk,
        "/api/v1/audit/": world.audit_event.pk,
        "/api/v1/flows/": world.flow.slug,
        "/api/v1/managed-calls/": world.managed_call.slug,
        "/api/v1/alert-rules/": world.alert_rule.pk,
        "/api/v1/alerts/": world.alert_delivery.pk,
    }


@pytest.fixture
def outsider_headers(other_org, outsider):
    return bearer(token_client(other_org, outsider))


@schema.parametrize()
@FUZZ
def test_another_organization_gets_404_on_every_object_of_the_first(case, world, outsider_headers):
    if case.method.upper() != case.operation.method.upper():
        return  # a method the operation does not have (the editor run checks those answer without a 5xx)
    prefix = next((p for p in objects_of(world) if case.path.startswith(p)), None)
    # A version's number, an SAP function's name and a table's only say which part of the object to read.
    names = set(case.path_parameters or {}) - {"number", "key", "table"}
    if prefix is None or not names:
        return  # no object of organization A in this operation's path: the editor run covers it
    assert len(names) == 1, f"{case.method} {case.path}: which path parameter names the object?"
    case.path_parameters = {**case.path_parameters, names.pop(): objects_of(world)[prefix]}
    response = case.call(headers=outsider_headers)
    assert response.status_code == 404, f"{case.method} {case.formatted_path}: {response.status_code}"
