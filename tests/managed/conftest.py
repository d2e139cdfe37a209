"""Fixtures of the managed call tests: a managed call runs through an HTTP connector, so these are the HTTP
connector tests' API server and connectors (reached through the connector's own allowlist only)."""

from __future__ import annotations

from tests.flows.conftest import secret_var  # noqa: F401 - shared fixture of the flow tests
from tests.http.conftest import (  # noqa: F401 - shared with the HTTP connector tests
    api_server,
    http_connector,
    only_the_connectors_allowlist,
)
