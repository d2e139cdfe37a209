"""What erpflow tells about a failed execution: the payload an on-failure handler receives and the
heart of an alert. Only what the execution page shows already (errors are masked by the engine);
never its input, which may hold an ERP's data."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from flows.models import Execution, StepRun

FAILING = (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT)


def link(path: str) -> str:
    """An absolute address when ``ERPFLOW_PUBLIC_URL`` says where erpflow is served, else the path."""
    return f"{settings.ERPFLOW_PUBLIC_URL}{path}" if settings.ERPFLOW_PUBLIC_URL else path


def execution_summary(execution: Execution) -> dict:
    """The failed execution as a handler flow reads it under ``trigger.payload``."""
    failing = (
        execution.steps.filter(status__in=FAILING).order_by("-position").values("step_id", "name", "error").first()
    )
    flow = execution.flow
    return {
        "flow": {"id": flow.pk, "slug": flow.slug, "name": flow.name},
        "version": execution.version.number,
        "environment": execution.environment.slug,
        "status": execution.status,
        "failing_step": (
            {"id": failing["step_id"], "name": failing["name"], "error": failing["error"]} if failing else None
        ),
        "error": execution.error,
        "correlation_id": execution.correlation_id,
        "execution_id": execution.pk,
        "trigger": execution.trigger,
        "finished": execution.finished.isoformat() if execution.finished else None,
        "link": link(reverse("execution_detail", kwargs={"pk": execution.pk})),
    }


def load(execution_id: int) -> Execution | None:
    return (
        Execution.objects.select_related("flow", "version", "environment")
        .defer("version__graph", "input", "output")
        .filter(pk=execution_id)
        .first()
    )
