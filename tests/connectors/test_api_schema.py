"""The OpenAPI schema documents every connector endpoint and the staged test answer."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/v1/connector-types/": {"get"},
    "/api/v1/connector-types/{key}/": {"get"},
    "/api/v1/connectors/": {"get", "post"},
    "/api/v1/connectors/test/": {"post"},
    "/api/v1/connectors/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/connectors/{id}/test/": {"post"},
    "/api/v1/connectors/{id}/usage/": {"get"},
    "/api/v1/connectors/{id}/pool-stats/": {"get"},
}


def test_the_schema_documents_every_connector_endpoint(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    for path, methods in PATHS.items():
        assert methods <= set(schema["paths"][path]), path
    assert set(schema["paths"]["/api/v1/connectors/{id}/"]["delete"]["responses"]) >= {"204", "404", "409"}
    test = schema["paths"]["/api/v1/connectors/{id}/test/"]["post"]["responses"]["200"]
    assert test["content"]["application/json"]["schema"]["$ref"].endswith("/TestResult")
    assert set(schema["components"]["schemas"]["Stage"]["properties"]) == {"name", "ok", "duration_ms", "message"}
