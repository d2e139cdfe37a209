from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connector Manager"

    def ready(self):
        # Importing registers the connector types and the re-encryption of stored connector secrets;
        # the demo organization gets the "Demo database" connector.
        from accounts.demo import DEMO_BUILDERS
        from connectors import catalog, demo, values  # noqa: F401

        if demo.build not in DEMO_BUILDERS:
            DEMO_BUILDERS.append(demo.build)
        from connectors.sap import demo as sap_demo  # the "Demo SAP" connector

        if sap_demo.build not in DEMO_BUILDERS:
            DEMO_BUILDERS.append(sap_demo.build)
