"""Pages of flows and executions, and the webhook receiver (``/hooks/<token>``).

Pages read with the member's rights and change things only for editors and above (admins for
protected flows); every change goes through the same domain modules as the API and comes back
to the flow page with a message saying what happened.
"""

from __future__ import annotations

import json
import logging
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Environment
from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404, scoped
from accounts.views import member_required
from connectors.models import Connector
from core import ratelimit
from flows import engine, monitoring, portable, schedules, triggers, versions, webhooks
from flows import graph as graphs
from flows.api import check_import, delete_flow, diff_refs, execution_outcome
from flows.choices import StepKind
from flows.forms import DraftForm, ExecutionFilterForm, FlowForm, ImportForm, PublishForm, RunForm, ScheduleForm
from flows.models import Deployment, Execution, Flow, FlowVersion, Schedule, StepRun

logger = logging.getLogger("erpflow.webhooks")

PAGE_SIZE = 50
FAILING = (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT)
STEP_KEYS = ("id", "kind", "name", "connector", "timeout_ms", "ignore_errors", "instruction", "position")


def _flow(request, slug: str) -> Flow:
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
            flow = _flow(request, slug)
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


def _problem_list(problems, graph: dict) -> list[dict]:
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


# -- flows --------------------------------------------------------------------------------------------


@member_required
def flow_list(request):
    published = FlowVersion.objects.filter(flow=OuterRef("pk"), snapshot=False).order_by("-number")
    runs = Execution.objects.filter(flow=OuterRef("pk")).order_by("-created")
    flows = (
        scoped(Flow, request)
        .annotate(
            latest_version=Subquery(published.values("number")[:1]),
            last_execution=Subquery(runs.values("created")[:1]),
            last_status=Subquery(runs.values("status")[:1]),
            last_execution_id=Subquery(runs.values("pk")[:1]),
        )
        .prefetch_related(Prefetch("deployments", queryset=Deployment.objects.select_related("environment", "version")))
    )
    query = request.GET.get("q", "").strip()
    if query:
        flows = flows.filter(Q(name__icontains=query) | Q(slug__icontains=query) | Q(description__icontains=query))
    flows = list(flows)
    labels = dict(Execution.Status.choices)
    for flow in flows:
        flow.last_status_label = labels.get(flow.last_status, "")
    return render(
        request,
        "flows/list.html",
        {
            "flows": flows,
            "query": query,
            "can_edit": allows(request.membership, "flows", Action.WRITE),
            "import_form": ImportForm(),
        },
    )


@member_required
def flow_new(request):
    require(request, "flows", Action.WRITE)
    form = FlowForm(
        request.POST or None,
        organization=request.organization,
        can_protect=allows(request.membership, "flows", Action.CHANGE_PROTECTED_FLOWS),
    )
    if request.method == "POST" and form.is_valid():
        flow = form.save()
        messages.success(request, f"Created {flow.name}. Add steps to its draft, then publish and deploy it.")
        return redirect("flow_detail", flow.slug)
    return render(request, "flows/form.html", {"form": form, "flow": None})


@flow_action(methods=("GET", "POST"))
def flow_edit(request, flow: Flow):
    form = FlowForm(
        request.POST or None,
        instance=flow,
        organization=request.organization,
        can_protect=allows(request.membership, "flows", Action.CHANGE_PROTECTED_FLOWS),
    )
    if request.method == "POST" and form.is_valid():
        flow = form.save()
        messages.success(request, f"Saved {flow.name}.")
        return redirect("flow_detail", flow.slug)
    return render(request, "flows/form.html", {"form": form, "flow": flow})


@flow_action(change=False)
def flow_delete(request, flow: Flow):
    """Deleting is refused for a protected flow whoever asks: an admin lifts the protection first."""
    if flow.protected:
        messages.error(request, f"{flow.name} is protected and cannot be deleted; an admin can lift that first.")
        return redirect("flow_detail", flow.slug)
    delete_flow(flow)
    messages.success(request, f"Deleted {flow.name} with its versions and executions.")
    return redirect("flow_list")


def _steps(flow: Flow) -> list[dict]:
    """The draft's steps in run order, readable: connector names, upstream steps by name."""

    graph = graphs.normalize(flow.draft)
    ordered = graphs.order(graph)
    names = {s["id"]: s["name"] for s in ordered}
    parents: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        parents.setdefault(edge["target"], []).append(names.get(edge["source"], edge["source"]))
    ids = [s.get("connector") for s in ordered if s["kind"] == StepKind.CONNECTOR]
    connectors = dict(
        Connector.objects.filter(
            organization_id=flow.organization_id, pk__in=[i for i in ids if isinstance(i, int)]
        ).values_list("pk", "name")
    )
    return [
        {
            **step,
            "connector_name": connectors.get(step.get("connector")) if step["kind"] == StepKind.CONNECTOR else None,
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


def _flow_page(request, flow: Flow, *, status: int = 200, **overrides):
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
    return _flow_page(request, _flow(request, slug))


@flow_action()
def flow_draft(request, flow: Flow):
    """Save the JSON draft; with problems, show them per step and keep the text, saving nothing."""
    form = DraftForm(request.POST)
    if not form.is_valid():
        return _flow_page(request, flow, draft_form=form)
    graph = form.cleaned_data["graph"]
    problems = versions.save_draft(flow, graph, request.user)
    if problems:
        return _flow_page(request, flow, draft_form=form, problems=_problem_list(problems, graph))
    messages.success(request, "Saved the draft.")
    return redirect("flow_detail", flow.slug)


@flow_action()
def flow_publish(request, flow: Flow):
    form = PublishForm(request.POST)
    if not form.is_valid():
        return _flow_page(request, flow, publish_form=form)
    try:
        version = versions.publish(flow, request.user, form.cleaned_data["message"])
    except graphs.InvalidGraph as exc:
        return _flow_page(request, flow, problems=_problem_list(exc.problems, flow.draft))
    messages.success(request, f"Published version {version.number}. Deploy it to an environment to run it.")
    return redirect("flow_detail", flow.slug)


@flow_action(action=Action.DEPLOY)
def flow_deploy(request, flow: Flow):
    environment = get_scoped_or_404(Environment, request, slug=request.POST.get("environment", ""))
    number = request.POST.get("version", "")
    version = FlowVersion.objects.filter(flow=flow, snapshot=False, number=number).first() if number.isdigit() else None
    if version is None:
        messages.error(request, "Choose a published version to deploy.")
        return redirect("flow_detail", flow.slug)
    try:
        versions.deploy(flow, version, environment, request.user)
    except graphs.InvalidGraph as exc:
        messages.error(request, str(exc))
        return redirect("flow_detail", flow.slug)
    messages.success(request, f"Version {version.number} now runs in {environment.name}.")
    return redirect("flow_detail", flow.slug)


@member_required
def flow_diff(request, slug):
    flow = _flow(request, slug)
    history = list(versions.history(flow))
    numbers = [v.number for v in history]
    from_ref, to_ref = diff_refs(numbers, request.GET.get("from"), request.GET.get("to"))
    graphs_by_ref = {str(v.number): v.graph for v in history} | {"draft": flow.draft}
    error = None
    changes = None
    if from_ref not in graphs_by_ref or to_ref not in graphs_by_ref:
        error = "Choose two versions (or the draft) to compare." if numbers else "Publish a version first to compare."
    else:
        changes = versions.diff_graphs(graphs_by_ref[from_ref], graphs_by_ref[to_ref])
    context = {
        "flow": flow,
        "versions": history,
        "from_ref": from_ref,
        "to_ref": to_ref,
        "changes": changes,
        "error": error,
    }
    return render(request, "flows/diff.html", context)


@member_required
def flow_export(request, slug):
    flow = _flow(request, slug)
    response = HttpResponse(json.dumps(portable.export_flow(flow), indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{flow.slug}.erpflow.json"'
    return response


@require_POST
@member_required
def flow_import(request):
    require(request, "flows", Action.WRITE)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.errors.get("file", []):
            messages.error(request, error)
        return redirect("flow_list")
    try:
        check_import(form.cleaned_data["file"])
        flow = portable.import_flow(request.organization, form.cleaned_data["file"], request.user)
    except (graphs.InvalidGraph, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return redirect("flow_list")
    messages.success(request, f"Imported {flow.name}; its draft is ready to publish.")
    return redirect("flow_detail", flow.slug)


@flow_action(change=False, action=Action.RUN)
def flow_run(request, flow: Flow):
    """Run a snapshot of the draft in the sandbox with the test payload, then show the execution.

    Not a change of the flow: editors may test-run protected flows too."""
    form = RunForm(request.POST)
    if not form.is_valid():
        return _flow_page(request, flow, run_form=form)
    try:
        execution = triggers.run_draft(flow, request.user, form.cleaned_data["payload"])
    except graphs.InvalidGraph as exc:
        return _flow_page(request, flow, run_form=form, problems=_problem_list(exc.problems, flow.draft))
    except triggers.TriggerError as exc:
        messages.error(request, exc.message)
        return redirect("flow_detail", flow.slug)
    messages.success(request, "Test run started in the sandbox.")
    return redirect("execution_detail", execution.pk)


@flow_action()
def flow_webhook(request, flow: Flow):
    """Create, rotate or delete the webhook of one environment."""
    environment = get_scoped_or_404(Environment, request, slug=request.POST.get("environment", ""))
    hook = flow.webhooks.filter(environment=environment).first()
    action = request.POST.get("action")
    if action == "create" and hook is None:
        webhooks.create(flow, environment)
        messages.success(request, f"Created the webhook for {environment.name}. Keep its URL secret.")
    elif action == "rotate" and hook is not None:
        webhooks.rotate(hook)
        messages.success(request, f"Rotated the webhook of {environment.name}; the old URL no longer works.")
    elif action == "delete" and hook is not None:
        hook.delete()
        messages.success(request, f"Deleted the webhook of {environment.name}.")
    else:
        messages.error(request, "Nothing to do: the webhook is already in that state.")
    return redirect("flow_detail", flow.slug)


@flow_action()
def flow_schedule_add(request, flow: Flow):
    form = ScheduleForm(request.POST, organization=request.organization)
    if form.is_valid():
        data = form.cleaned_data
        try:
            schedules.create(flow, data["environment"], data["cron"], data["payload"], data["enabled"])
        except ValidationError as exc:
            for message in exc.message_dict.get("cron", []) + exc.message_dict.get("environment", []):
                form.add_error("cron", message)
    if form.errors:
        return _flow_page(request, flow, schedule_form=form)
    messages.success(request, f"Scheduled {flow.name} at '{form.cleaned_data['cron']}'.")
    return redirect("flow_detail", flow.slug)


@flow_action()
def flow_schedule_change(request, flow: Flow, pk):
    schedule = Schedule.objects.filter(flow=flow, pk=pk).first()
    if schedule is None:
        raise Http404("No such schedule")
    action = request.POST.get("action")
    if action == "delete":
        schedules.delete(schedule)
        messages.success(request, f"Deleted the schedule '{schedule.cron}'.")
    elif action in ("enable", "disable"):
        schedules.update(schedule, enabled=action == "enable")
        messages.success(request, f"{action.title()}d the schedule '{schedule.cron}'.")
    return redirect("flow_detail", flow.slug)


# -- executions ---------------------------------------------------------------------------------------


@member_required
def execution_list(request):
    form = ExecutionFilterForm(request.GET or None, organization=request.organization)
    executions = scoped(Execution, request).select_related("flow", "version", "environment")
    if request.GET and form.is_valid():
        try:
            executions = monitoring.filter_executions(executions, form.filters())
        except ValidationError as exc:
            for name, found in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, found)
    if request.GET and not form.is_valid():
        executions = executions.none()
    page = Paginator(executions, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filtered = any(request.GET.get(name) for name in monitoring.FILTERS)
    return render(
        request,
        "flows/executions.html",
        {"form": form, "page": page, "query": query.urlencode(), "filtered": filtered},
    )


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
            "steps": steps,
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


# -- the webhook receiver -----------------------------------------------------------------------------


def _answer(data: dict, status: int, *, webhook_id: int | None = None, headers: dict | None = None) -> JsonResponse:
    """A webhook's JSON answer. Django logs every 4xx with the request path, which here holds the
    token, so the answer is marked as logged and a line naming the webhook's id is logged instead."""
    response = JsonResponse(data, status=status, headers=headers)
    if status >= 400:
        response._has_been_logged = True
        logger.warning("webhook %s answered %s: %s", webhook_id or "(unknown token)", status, data.get("detail"))
    return response


@csrf_exempt
def webhook(request, token):
    """``POST /hooks/<token>``: the body (JSON, XML or a form) is the payload of the deployed version.

    The token is the credential, so an unknown one answers 404 like any missing page. ``wait``,
    ``correlation_id`` and ``deduplication_id`` may come in the query string, the last two also as
    ``X-Correlation-ID`` and ``Idempotency-Key`` headers.
    """
    hook = webhooks.find(token)
    if hook is None:
        return _answer({"detail": "Not found."}, 404)
    if request.method != "POST":
        return _answer(
            {"detail": "Send a POST request to trigger the flow."}, 405, webhook_id=hook.pk, headers={"Allow": "POST"}
        )
    verdict = ratelimit.take(ratelimit.limits_for(hook.flow.organization_id, None))
    if verdict is not None and not verdict.allowed:
        retry = {"Retry-After": str(verdict.retry_after)}
        return _answer({"detail": ratelimit.refusal(verdict)}, 429, webhook_id=hook.pk, headers=retry)
    try:
        body = triggers.read_body(request)
        parsed = triggers.parse_request(body, request, envelope=False, accept_form=True)
        execution, created = triggers.start(hook.flow, hook.environment, parsed, trigger=Execution.Trigger.WEBHOOK)
    except triggers.TriggerError as exc:
        return _answer(exc.as_dict(), exc.status, webhook_id=hook.pk)
    data, code, headers = execution_outcome(request, execution, wait=parsed.wait, created=created)
    return _answer(data, code, webhook_id=hook.pk, headers=headers)


# -- monitoring ---------------------------------------------------------------------------------------


@member_required
def monitoring_page(request):
    """Charts of executions, durations, failing steps and pools; the figures come from the monitoring API."""
    require(request, "monitoring", Action.READ)
    flows = scoped(Flow, request).order_by("name").values("slug", "name")
    environments = scoped(Environment, request).values("slug", "name")
    config = {"flows": list(flows), "environments": list(environments)}
    return render(request, "flows/monitoring.html", {"monitoring_config": config})
