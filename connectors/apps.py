from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connector Manager"

    def ready(self):
        # Imported here, not at the top: these modules import models, which the app registry is not
        # ready for when it loads this file. Importing registers the connector types, the re-encryption
        # of stored connector secrets and the publishing of pool stats; the demo organization gets the
        # "Demo database" and "Demo SAP" connectors.
        from django.db.models.signals import post_delete, post_save

        from accounts.demo import DEMO_BUILDERS
        from connectors import catalog, demo, lookups, pool_stats, rotation  # noqa: F401
        from connectors.models import Connector
        from connectors.sap import demo as sap_demo

        for build in (demo.build, sap_demo.build):
            if build not in DEMO_BUILDERS:
                DEMO_BUILDERS.append(build)
        # A delivery's connectors are kept a second (connectors.lookups); a change here drops them at once.
        for signal in (post_save, post_delete):
            signal.connect(lookups.forget_everything, sender=Connector, dispatch_uid=f"connector-lookups-{signal}")
