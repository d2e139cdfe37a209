"""Pages of executions: the filtered list, one execution with its steps, replaying and cancelling; and
the monitoring page, whose charts of executions read the monitoring API."""

from __future__ import annotations

import json
from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Environment
from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404, scoped
from accounts.views import member_required
from flows import engine, loop_progress, triggers
from flows import graph as graphs
from flows.filters import ExecutionFilter, filter_executions
from flows.forms import ExecutionFilterForm
from flows.models import Execution, Flow, StepRun

PAGE_SIZE = 50
FAILING = (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT)


@member_required
def execution_list(request):
    form = ExecutionFilterForm(request.GET or None, organization=request.organization)
    executions = scoped(Execution, request).select_related("flow", "version", "environment")
    if request.GET and form.is_valid():
        try:
            executions = filter_executions(executions, form.filters())
        except ValidationError as exc:
            for name, found in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, found)
    if request.GET and not form.is_valid():
        executions = executions.none()
    page = Paginator(executions, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filtered = any(request.GET.get(name) for name in ExecutionFilter.base_filters)
    return render(
        request,
        "flows/executions.html",
        {"form": form, "page": page, "query": query.urlencode(), "filtered": filtered},
    )


def by_item(steps: list[StepRun], loops: list[dict]) -> list:
    """The flow's own step records, each for-each's carrying ``items`` (item number, its body's records) and
    ``loop`` (done / total, failed), so the page reads a loop item by item instead of one long list."""
    bodies: dict[str, dict[int, list[StepRun]]] = defaultdict(lambda: defaultdict(list))
    for record in steps:
        if record.scope:
            bodies[record.scope.split("[", 1)[0]][record.item].append(record)
    top = [record for record in steps if not record.scope]
    progress = {loop["step_id"]: loop for loop in loops}
    for record in top:
        record.items = sorted(bodies.pop(record.step_id, {}).items(), key=lambda entry: entry[0] or 0)
        record.loop = progress.get(record.step_id)
    # A loop still running has no record of its own yet: its body's records are listed as they come.
    return top + [record for items in bodies.values() for records in items.values() for record in records]


@member_required
def execution_detail(request, pk):
    execution = get_scoped_or_404(
        Execution.objects.select_related("flow", "version", "environment", "started_by", "replay_of"), request, pk=pk
    )
    steps = list(execution.steps.all())
    failing = next((s for s in steps if s.status in FAILING), None)
    ran = {step.step_id for step in steps}
    planned = graphs.order(graphs.normalize(execution.version.graph))
    not_run = [step["name"] for step in planned if step["id"] not in ran] if execution.is_final else []
    return render(
        request,
        "flows/execution.html",
        {
            "execution": execution,
            "steps": by_item(steps, loop_progress.loops(execution, steps)),
            "failing": failing,
            "not_run": not_run,
            "replays": execution.replays.order_by("created"),
            "can_run": allows(request.membership, "executions", Action.REPLAY),
            "input_json": json.dumps(execution.input, indent=2, ensure_ascii=False),
            "output_json": json.dumps(execution.output, indent=2, ensure_ascii=False),
        },
    )


@require_POST
@member_required
def execution_replay(request, pk):
    execution = get_scoped_or_404(Execution.objects.select_related("flow", "version", "environment"), request, pk=pk)
    require(request, "executions", Action.REPLAY)
    try:
        replayed = triggers.replay(execution, request.user)
    except triggers.TriggerError as exc:
        messages.error(request, exc.message)
        return redirect("execution_detail", execution.pk)
    messages.success(request, f"Replaying execution #{execution.pk} as #{replayed.pk}.")
    return redirect("execution_detail", replayed.pk)


@require_POST
@member_required
def execution_cancel(request, pk):
    execution = get_scoped_or_404(Execution, request, pk=pk)
    require(request, "executions", Action.CANCEL)
    if engine.request_cancel(execution):
        messages.success(request, f"Cancel requested for execution #{execution.pk}.")
    else:
        messages.error(request, f"Execution #{execution.pk} already ended ({execution.status}).")
    return redirect("execution_detail", execution.pk)


@member_required
def monitoring_page(request):
    """Charts of executions, durations, failing steps and pools; the figures come from the monitoring API."""
    require(request, "monitoring", Action.READ)
    flows = scoped(Flow, request).order_by("name").values("slug", "name")
    environments = scoped(Environment, request).values("slug", "name")
    config = {"flows": list(flows), "environments": list(environments)}
    return render(request, "flows/monitoring.html", {"monitoring_config": config})
