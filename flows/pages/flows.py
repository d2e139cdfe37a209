"""Pages that list, create and change flows: their drafts, versions, deployments, test runs, webhooks
and schedules."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Environment
from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404, scoped
from accounts.views import member_required
from flows import graph as graphs
from flows import portable, schedules, triggers, versions, webhooks
from flows.deletion import delete_flow
from flows.diffs import diff_refs
from flows.forms import DraftForm, FlowForm, ImportForm, PublishForm, RunForm, ScheduleForm
from flows.importing import check_import
from flows.models import Deployment, Execution, Flow, FlowVersion, Schedule
from flows.pages.flow_page import find_flow, flow_action, flow_page, problem_list


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


@flow_action()
def flow_draft(request, flow: Flow):
    """Save the JSON draft; with problems, show them per step and keep the text, saving nothing."""
    form = DraftForm(request.POST)
    if not form.is_valid():
        return flow_page(request, flow, draft_form=form)
    graph = form.cleaned_data["graph"]
    problems = versions.save_draft(flow, graph, request.user)
    if problems:
        return flow_page(request, flow, draft_form=form, problems=problem_list(problems, graph))
    messages.success(request, "Saved the draft.")
    return redirect("flow_detail", flow.slug)


@flow_action()
def flow_publish(request, flow: Flow):
    form = PublishForm(request.POST)
    if not form.is_valid():
        return flow_page(request, flow, publish_form=form)
    try:
        version = versions.publish(flow, request.user, form.cleaned_data["message"])
    except graphs.InvalidGraph as exc:
        return flow_page(request, flow, problems=problem_list(exc.problems, flow.draft))
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
    flow = find_flow(request, slug)
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
    flow = find_flow(request, slug)
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

    Not a change of the flow: editors may test-run protected flows too. A payload left empty runs with
    the draft's sample payload, as the API's run does."""
    form = RunForm(request.POST)
    if not form.is_valid():
        return flow_page(request, flow, run_form=form)
    payload = form.cleaned_data["payload"] if form.data.get("payload", "").strip() else None
    try:
        execution = triggers.run_draft(flow, request.user, payload)
    except graphs.InvalidGraph as exc:
        return flow_page(request, flow, run_form=form, problems=problem_list(exc.problems, flow.draft))
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
        return flow_page(request, flow, schedule_form=form)
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
