from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connector Manager"

    def ready(self):
        # Importing registers the connector types and the re-encryption of stored connector secrets.
        from connectors import catalog, values  # noqa: F401
