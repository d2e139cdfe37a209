from django.apps import AppConfig


class ManagedConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "managed"
    verbose_name = "Managed calls"

    def ready(self):
        # A connector a managed call names cannot be deleted (connectors.usage asks the registered users).
        # Imported here, not at the top: both import models, which cannot be loaded while the app registry
        # (which imports this module) is still being filled.
        from connectors import usage
        from managed.uses import MANAGED_CALLS

        usage.register(MANAGED_CALLS)
