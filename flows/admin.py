"""Read-mostly admin views of flows and executions, for operators looking into an installation."""

from django.contrib import admin

from flows.models import Deployment, Execution, Flow, FlowVersion, StepRun


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "enabled", "protected", "updated"]
    list_filter = ["enabled", "protected"]
    search_fields = ["name", "slug"]


@admin.register(FlowVersion)
class FlowVersionAdmin(admin.ModelAdmin):
    list_display = ["flow", "number", "snapshot", "author", "created"]
    list_filter = ["snapshot"]
    readonly_fields = ["flow", "number", "graph", "message", "snapshot", "author", "created"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["flow", "environment", "version", "deployed_by", "deployed"]


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    can_delete = False
    fields = ["position", "name", "status", "duration_ms", "error"]
    readonly_fields = fields


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["pk", "flow", "environment", "trigger", "status", "attempts", "created", "finished"]
    list_filter = ["status", "trigger"]
    search_fields = ["correlation_id"]
    readonly_fields = [f.name for f in Execution._meta.fields]
    inlines = [StepRunInline]
