from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self):
        # Imported here, not at the top: the signal handlers import the models of several apps, which
        # cannot be loaded while the app registry (which imports this module) is still being filled.
        from audit import signals

        signals.connect()
