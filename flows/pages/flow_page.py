"""The flow page, and what the pages acting on one flow share: finding it, who may change it, and
showing it again with a form's or the graph's problems."""

from __future__ import annotations

import json
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Environment
from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404, scoped
from accounts.views import member_required
from connectors.models import Connector
from flows import graph as graphs
from flows import schedules, versions, webhooks
from flows.choices import USES_CONNECTOR
from flows.forms import DraftForm, PublishForm, RunForm, ScheduleForm
from flows.models import Flow

STEP_KEYS = ("id", "kind", "name", "connector", "timeout_ms", "ignore_errors", "instruction", "position")


def find_flow(request, slug: str) -> Flow:
    return get_scoped_or_404(Flow, request, slug=slug)


def _can_change(request, flow: Flow) -> bool:
    return allows(request.membership, "flows", Action.CHANGE_PROTECTED_FLOWS if flow.protected else Action.WRITE)


def flow_action(*, change: bool = True, methods: tuple[str, ...] = ("POST",), action: Action = Action.WRITE):
    """Decorator of the pages that act on one flow (``slug`` in the URL, the flow passed on): ``methods``
    only, roles the policy allows ``action`` only (others get 403 once the flow is found; another
    organization's flow is a 404); with ``change``, a protected flow needs an admin, and anyone else is
    sent back to the flow page with the reason."""

    def decorate(view):
        @require_http_methods(methods)
        @member_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            flow = find_flow(request, slug)
            require(request, "flows", action)
            if change:
                try:
                    versions.check_can_change(flow, request.user)
                except PermissionDenied as exc:
                    messages.error(request, str(exc))
                    return redirect("flow_detail", flow.slug)
            return view(request, flow, *args, **kwargs)

        return wrapper

    return decorate


def draft_text(draft: dict) -> str:
    """The draft as the JSON editor shows it: steps first, each step's keys in the order of the step form."""
    draft = draft or {}
    steps = [
        {k: step[k] for k in STEP_KEYS if k in step} | {k: v for k, v in step.items() if k not in STEP_KEYS}
        if isinstance(step, dict)
        else step
        for step in draft.get("steps", [])
    ]
    rest = {k: v for k, v in draft.items() if k not in ("steps", "edges")}
    return json.dumps({"steps": steps, "edges": draft.get("edges", []), **rest}, indent=2, ensure_ascii=False)


def problem_list(problems, graph: dict) -> list[dict]:
    """Problems grouped per step of ``graph`` (in its order), the graph's own problems first."""
    names = {s.get("id"): s.get("name") for s in graph.get("steps", []) if isinstance(s, dict)}
    grouped: dict[str | None, list[str]] = {}
    for problem in problems:
        grouped.setdefault(problem.step, []).append(problem.message)
    result = []
    for step, found in grouped.items():
        label = "The graph" if step is None else f"Step '{names.get(step) or step}' ({step})"
        result.append({"step": step, "label": label, "messages": found})
    result.sort(key=lambda entry: entry["step"] is not None)
    return result


def _steps(flow: Flow) -> list[dict]:
    """The draft's steps in run order, readable: connector names, upstream steps by name."""

    graph = graphs.normalize(flow.draft)
    ordered = graphs.order(graph)
    names = {s["id"]: s["name"] for s in ordered}
    parents: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        parents.setdefault(edge["target"], []).append(names.get(edge["source"], edge["source"]))
    ids = [s.get("connector") for s in ordered if s["kind"] in USES_CONNECTOR]
    connectors = dict(
        Connector.objects.filter(
            organization_id=flow.organization_id, pk__in=[i for i in ids if isinstance(i, int)]
        ).values_list("pk", "name")
    )
    return [
        {
            **step,
            "connector_name": connectors.get(step.get("connector")) if step["kind"] in USES_CONNECTOR else None,
            "upstream": parents.get(step["id"], []),
        }
        for step in ordered
    ]


def editor_config(request, flow: Flow, can_change: bool) -> dict:
    """What the canvas editor needs besides the REST API: which flow, what the member may do, where to link."""
    return {
        "slug": flow.slug,
        "name": flow.name,
        "canChange": can_change,
        "canRun": allows(request.membership, "flows", Action.RUN),
        "links": {
            "versions": "#versions",
            "diff": reverse("flow_diff", args=[flow.slug]),
            "executions": reverse("execution_list") + f"?flow={flow.slug}",
        },
    }


def flow_page(request, flow: Flow, *, status: int = 200, **overrides):
    environments = list(scoped(Environment, request))
    deployments = {d.environment_id: d for d in flow.deployments.select_related("version", "deployed_by")}
    hooks = {w.environment_id: w for w in flow.webhooks.all()}
    can_change = _can_change(request, flow)
    history = list(versions.history(flow).prefetch_related("deployments__environment"))
    per_environment = [
        {
            "environment": env,
            "deployment": deployments.get(env.pk),
            "webhook": hooks.get(env.pk),
            "webhook_url": (
                request.build_absolute_uri(webhooks.path_of(hooks[env.pk])) if env.pk in hooks and can_change else None
            ),
        }
        for env in environments
    ]
    flow_schedules = [
        {"schedule": s, "next_run": schedules.next_run(s)}
        for s in flow.schedules.select_related("environment", "periodic_task__crontab").order_by("pk")
    ]
    context = {
        "flow": flow,
        "steps": _steps(flow),
        "can_change": can_change,
        "can_run": allows(request.membership, "flows", Action.RUN),
        "draft_form": DraftForm(initial={"graph": draft_text(flow.draft)}),
        "problems": [],
        "publish_form": PublishForm(),
        "run_form": RunForm(),
        "schedule_form": ScheduleForm(organization=request.organization),
        "versions": history,
        "environments": per_environment,
        "schedules": flow_schedules,
        "executions": flow.executions.select_related("version", "environment")[:10],
        "editor_config": editor_config(request, flow, can_change),
    }
    context.update(overrides)
    return render(request, "flows/detail.html", context, status=status)


@member_required
def flow_detail(request, slug):
    return flow_page(request, find_flow(request, slug))
