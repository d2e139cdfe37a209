from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Scope(models.TextChoices):
    CONNECTORS_READ = "connectors:read", "Read connectors"
    CONNECTORS_WRITE = "connectors:write", "Create and change connectors"
    FLOWS_READ = "flows:read", "Read flows"
    FLOWS_WRITE = "flows:write", "Create and change flows"
    EXECUTIONS_RUN = "executions:run", "Trigger executions"
    EVENTS_WRITE = "events:write", "Send and replay events"
    MONITORING_READ = "monitoring:read", "Read executions and statistics"
    AUDIT_READ = "audit:read", "Read the audit log"


DEFAULT_ENVIRONMENTS = ("sandbox", "production")
