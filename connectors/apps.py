from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connector Manager"

    def ready(self):
        # Imported here, not at the top: these modules import models, which the app registry is not
        # ready for when it loads this file. Importing registers the connector types, the re-encryption
        # of stored connector secrets and the publishing of pool stats; the demo organization gets the
        # "Demo database" and "Demo SAP" connectors.
        from accounts.demo import DEMO_BUILDERS
        from connectors import catalog, demo, pool_stats, rotation  # noqa: F401
        from connectors.sap import demo as sap_demo

        for build in (demo.build, sap_demo.build):
            if build not in DEMO_BUILDERS:
                DEMO_BUILDERS.append(build)
