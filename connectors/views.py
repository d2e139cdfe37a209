"""Pages of the Connector Manager: the list, choosing a type, the form, a connector's page, deleting.

Every page reads connectors through ``usable_by`` (a connector outside the member's scope answers
404), changes need the editor role, and saving goes through the same serializer as the API.
Creating and saving test each chosen environment first; a failed test shows its stages and lets the
user save anyway.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404
from accounts.views import member_required
from connectors import catalog, runtime, usage
from connectors.access import visible_connectors
from connectors.filters import ConnectorFilter
from connectors.forms import ConnectorForm, FilterForm
from connectors.models import Connector, ConnectorSettings
from connectors.serializers import public_settings, settings_rows


def _connector(request, pk: int) -> Connector:
    return get_scoped_or_404(visible_connectors(request), request, pk=pk)


def _can_edit(request) -> bool:
    return allows(request.membership, "connectors", Action.WRITE)


def _last_test_summary(row: ConnectorSettings) -> dict:
    return {"environment": row.environment, "test": row.last_test, "tested": row.last_tested}


@member_required
def connector_list(request):
    types = catalog.all_types()
    filters = FilterForm(request.GET or None, types=types)
    connectors = visible_connectors(request)
    filtering = filters.is_valid() and any(filters.cleaned_data.values())
    if filtering:
        connectors = ConnectorFilter(filters.cleaned_data, queryset=connectors, request=request).qs
    rows = [
        {
            "connector": connector,
            "type": catalog.type_class(connector.type_key),
            "environments": [_last_test_summary(row) for row in settings_rows(connector)],
        }
        for connector in connectors
    ]
    return render(
        request,
        "connectors/list.html",
        {"rows": rows, "filters": filters, "filtering": filtering, "can_edit": _can_edit(request)},
    )


@member_required
def connector_new(request):
    """The type cards; choosing one opens the form."""
    require(request, "connectors", Action.WRITE)
    return render(request, "connectors/new.html", {"types": catalog.all_types()})


@member_required
def connector_create(request, type_key: str):
    require(request, "connectors", Action.WRITE)
    type_cls = catalog.type_class(type_key)
    if type_cls is None:
        raise Http404
    form = ConnectorForm(request.POST or None, request=request, type_cls=type_cls)
    return _form_page(request, form, type_cls, None)


@member_required
def connector_edit(request, pk: int):
    connector = _connector(request, pk)
    require(request, "connectors", Action.WRITE)
    type_cls = catalog.type_class(connector.type_key)
    if type_cls is None:
        messages.error(request, f"Type '{connector.type_key}' is not installed here; the connector cannot be edited.")
        return redirect("connector_detail", connector.pk)
    form = ConnectorForm(request.POST or None, request=request, type_cls=type_cls, connector=connector)
    return _form_page(request, form, type_cls, connector)


def _form_page(request, form: ConnectorForm, type_cls, connector: Connector | None):
    """Validate, test every chosen environment, then save; a failed test re-shows the form with "Save anyway".

    The form's "Test connection" button posts the same fields with ``action=test`` from the page's
    script: the answer is then only the results (or what to fix first), and nothing is saved.
    """
    results = []
    testing = request.method == "POST" and request.POST.get("action") == "test"
    if request.method == "POST" and form.is_valid():
        results = _test_each(type_cls, form)
        if testing:
            return render(request, "connectors/_test_results.html", {"results": results})
        if all(entry["result"]["ok"] for entry in results) or request.POST.get("save_anyway"):
            creating = connector is None
            connector = form.save()
            _record_tests(connector, results)
            messages.success(request, _saved_message(connector, results, creating))
            return redirect("connector_detail", connector.pk)
    if testing:
        return render(request, "connectors/_test_results.html", {"problems": form.problems()}, status=400)
    if form.is_bound:
        form.mask_secrets()
    failed = any(not entry["result"]["ok"] for entry in results)
    return render(
        request,
        "connectors/form.html",
        {"form": form, "type": type_cls, "connector": connector, "results": results, "failed": failed},
    )


def _test_each(type_cls, form: ConnectorForm) -> list[dict]:
    """The connection test of every environment the form would save, in the form's order."""
    return [
        {"environment": environment, "result": runtime.test(type_cls.key, stored, environment).as_dict()}
        for environment, stored in form.environments_to_save().items()
        if stored is not None
    ]


def _record_tests(connector: Connector, results: list[dict]) -> None:
    """The tests made before saving are the new settings' last tests."""
    now = timezone.now()
    for entry in results:
        ConnectorSettings.objects.filter(connector=connector, environment=entry["environment"]).update(
            last_test=entry["result"], last_tested=now
        )


def _saved_message(connector: Connector, results: list[dict], creating: bool) -> str:
    verb = "Created" if creating else "Saved"
    failed = [entry["environment"].name for entry in results if not entry["result"]["ok"]]
    if failed:
        return f"{verb} {connector.name}, although its test failed in {', '.join(failed)}."
    return f"{verb} {connector.name}; its connection test passed."


def _shown(field, value):
    """A setting as the connector page shows it: a choice by its label, a switch as yes or no."""
    if field.kind == "choice":
        return dict(field.choices).get(value, value)
    if field.kind == "bool" and isinstance(value, bool):
        return "yes" if value else "no"
    return value


@member_required
def connector_detail(request, pk: int):
    connector = _connector(request, pk)
    type_cls = catalog.type_class(connector.type_key)
    rows = settings_rows(connector)
    shown = public_settings(connector, rows)
    environments = [
        {
            "environment": row.environment,
            "settings": [
                {"label": field.label, "value": _shown(field, shown[row.environment.slug].get(field.name))}
                for field in (type_cls.fields if type_cls else ())
            ],
            "test": row.last_test,
            "tested": row.last_tested,
        }
        for row in rows
    ]
    return render(
        request,
        "connectors/detail.html",
        {
            "connector": connector,
            "type": type_cls,
            "environments": environments,
            "flows": usage.uses(connector).get("flows", []),
            "can_edit": _can_edit(request),
        },
    )


@require_POST
@member_required
def connector_test(request, pk: int):
    """Test one environment's saved settings; the connector page shows the stages."""
    connector = _connector(request, pk)
    require(request, "connectors", Action.WRITE)
    row = connector.settings.filter(environment__slug=request.POST.get("environment")).first()
    if row is None:
        messages.error(request, "Choose an environment this connector has settings for.")
        return redirect("connector_detail", connector.pk)
    result = runtime.test_connector(connector, row.environment)
    if result.ok:
        messages.success(request, f"{row.environment.name}: the connection test passed.")
    else:
        messages.error(request, f"{row.environment.name}: the connection test failed. {result.message}")
    return redirect(reverse("connector_detail", args=[connector.pk]) + f"#env-{row.environment.slug}")


@member_required
def connector_delete(request, pk: int):
    """Confirm, then delete; a connector that flows use is refused with the flows named (409)."""
    connector = _connector(request, pk)
    require(request, "connectors", Action.WRITE)
    found = usage.uses(connector)
    refusal = usage.refusal(connector, found)
    if request.method == "POST":
        try:
            usage.delete(connector)
        except usage.ConnectorInUse as refused:
            found, refusal = refused.uses, str(refused)
        else:
            messages.success(request, f"Deleted {connector.name} and its settings.")
            return redirect("connector_list")
    return render(
        request,
        "connectors/delete.html",
        {"connector": connector, "flows": found.get("flows", []), "refusal": refusal},
        status=409 if request.method == "POST" else 200,
    )
