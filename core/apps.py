from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core API infrastructure"

    def ready(self):
        # Importing registers the bearer-token scheme with drf-spectacular and the worker heartbeat
        # with Celery's worker_ready signal.
        from core import health, schema  # noqa: F401
