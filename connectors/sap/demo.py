"""The demo organization's "Demo SAP" connector.

``make run`` starts mock-sap beside the app (``bin/run``) at ``ERPFLOW_DEMO_SAP_URL``, requiring
basic auth with the demo password; ``build`` registers a SOAP connector to it for every
environment. The flow that uses it is ``flows.demo``'s.
"""

from __future__ import annotations

import os

from accounts.models import Environment
from connectors import values
from connectors.catalog.sap import SapType
from connectors.models import Connector, ConnectorSettings

DEFAULT_URL = "http://127.0.0.1:8765/sap/bc/srt/rfc/sap/erpflow"
USER = "ERPFLOW"
DEFAULT_PASSWORD = "mock-sap-password"  # noqa: S105 - the local mock's throwaway demo password


def settings() -> dict:
    return {
        "transport": "soap",
        "soap_url": os.environ.get("ERPFLOW_DEMO_SAP_URL", DEFAULT_URL),
        "client": "100",
        "user": USER,
        "passwd": os.environ.get("ERPFLOW_DEMO_SAP_PASSWORD", DEFAULT_PASSWORD),
        "min_idle": 0,
    }


def build(organization, owner) -> Connector:
    """Called by ``accounts.demo.create_demo`` for the new demo organization."""
    connector = Connector.objects.create(
        organization=organization,
        type_key=SapType.key,
        name="Demo SAP",
        description="mock-sap, started by make run beside the app: BAPIs over SOAP with demo sales orders.",
        tags=["demo"],
    )
    stored = values.clean(SapType, settings())
    for environment in Environment.objects.filter(organization=organization):
        ConnectorSettings.objects.create(connector=connector, environment=environment, values=stored)
    return connector
