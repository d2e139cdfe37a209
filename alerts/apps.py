from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and on-failure handlers"

    def ready(self):
        # Imported here, not at the top: these modules import models, which the app registry is not ready
        # for when it loads this file. Importing registers the re-encryption of webhook secrets.
        from alerts import receivers, rotation  # noqa: F401
        from flows.signals import execution_finished

        execution_finished.connect(receivers.execution_finished, dispatch_uid="alerts-execution-finished")
