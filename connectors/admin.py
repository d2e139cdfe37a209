"""Read-mostly admin views of connectors, for operators looking into an installation.

Settings values are left out: editing them here would bypass validation and encryption, so changes
go through the Connector Manager pages or the API.
"""

from django.contrib import admin

from connectors.models import Connector, ConnectorSettings


class ConnectorSettingsInline(admin.TabularInline):
    model = ConnectorSettings
    extra = 0
    can_delete = False
    fields = ["environment", "last_tested"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    list_display = ["name", "type_key", "organization", "version", "scope", "revision", "updated"]
    list_filter = ["type_key", "scope"]
    search_fields = ["name", "description"]
    readonly_fields = ["organization", "type_key", "revision", "created", "updated"]
    inlines = [ConnectorSettingsInline]

    def has_add_permission(self, request):
        return False
