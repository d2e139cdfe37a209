"""The OpenAPI schema stays valid and documents the flows API, the trigger and the executions API."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/flows/",
    "/api/v1/flows/{slug}/draft/",
    "/api/v1/flows/{slug}/publish/",
    "/api/v1/flows/{slug}/versions/",
    "/api/v1/flows/{slug}/diff/",
    "/api/v1/flows/{slug}/deploy/",
    "/api/v1/flows/{slug}/export/",
    "/api/v1/flows/import/",
    "/api/v1/flows/{slug}/properties/",
    "/api/v1/flows/{slug}/run/",
    "/api/v1/flows/{slug}/executions/",
    "/api/v1/executions/",
    "/api/v1/executions/{id}/replay/",
    "/api/v1/executions/{id}/cancel/",
    "/api/v1/executions/replay/",
    "/api/v1/monitoring/stats/",
    "/api/v1/webhooks/{id}/rotate/",
    "/api/v1/schedules/{id}/",
    "/api/v1/alert-rules/",
    "/api/v1/alert-rules/{id}/",
    "/api/v1/alert-rules/{id}/rotate-secret/",
    "/api/v1/alerts/",
    "/api/v1/alerts/{id}/",
]


def test_the_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    missing = [path for path in PATHS if path not in schema["paths"]]
    assert missing == []
    trigger = schema["paths"]["/api/v1/flows/{slug}/executions/"]["post"]
    assert set(trigger["responses"]) >= {"200", "202", "400", "404", "409", "413", "415"}
    assert set(trigger["requestBody"]["content"]) == {"application/json", "application/xml"}


def test_the_schema_is_served(session_client):
    response = session_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/flows/{slug}/executions/" in response.content
