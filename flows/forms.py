"""Forms of the flow and execution pages."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.text import slugify

from accounts.models import Environment
from core.payloads import storage_problem
from flows.models import Execution, Flow
from flows.serializers import RESERVED_SLUGS

JSON_HELP = 'JSON, e.g. {"customer": "Ada"}'


def parse_json_field(text: str, what: str) -> Any:
    """The JSON value of a textarea, or a ``ValidationError`` saying where it breaks."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"The {what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        raise forms.ValidationError(message) from None
    except RecursionError:
        raise forms.ValidationError(f"The {what} nests too deeply to be read.") from None
    return storable(value, what)


def storable(value: Any, what: str) -> Any:
    """``value``, unless the database cannot store it (``core.payloads.storage_problem`` says why)."""
    problem = storage_problem(value, what)
    if problem:
        raise forms.ValidationError(problem)
    return value


class FlowForm(forms.ModelForm):
    """Name, slug (defaults to the name), description, enabled; ``protected`` only for admins."""

    slug = forms.SlugField(
        max_length=120, required=False, help_text="Used in API and page URLs; left empty, it is made from the name."
    )

    class Meta:
        model = Flow
        fields = ["name", "slug", "description", "enabled", "protected"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organization, can_protect: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if not can_protect:
            del self.fields["protected"]

    def clean(self):
        cleaned = super().clean()
        slug = cleaned.get("slug") or slugify(cleaned.get("name") or "")[:120]
        if not slug:
            self.add_error("slug", "Give the flow a slug of letters, digits or hyphens.")
            return cleaned
        if slug in RESERVED_SLUGS:
            self.add_error("slug", f"'{slug}' is reserved; choose another slug.")
        clash = Flow.objects.filter(organization=self.organization, slug=slug)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            self.add_error("slug", f"A flow with slug '{slug}' already exists; choose another.")
        cleaned["slug"] = slug
        return cleaned

    def save(self, commit: bool = True) -> Flow:
        self.instance.organization = self.organization
        self.instance.slug = self.cleaned_data["slug"]
        return super().save(commit)


class DraftForm(forms.Form):
    graph = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "class": "code"}),
        label="Draft graph (JSON)",
        help_text='{"steps": [...], "edges": [{"source": "s1", "target": "s2"}]}: see the step list for the fields.',
    )

    def clean_graph(self) -> dict:
        graph = parse_json_field(self.cleaned_data["graph"], "draft")
        if not isinstance(graph, dict):
            raise forms.ValidationError("The draft must be a JSON object with 'steps' and 'edges'.")
        return graph


class PublishForm(forms.Form):
    message = forms.CharField(
        max_length=500, required=False, help_text="What changed, for the version history (optional)."
    )


class RunForm(forms.Form):
    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "code"}),
        required=False,
        initial="{}",
        label="Test payload",
        help_text=f"Steps read it as trigger.payload; {JSON_HELP}.",
    )

    def clean_payload(self) -> Any:
        return parse_json_field(self.cleaned_data["payload"], "payload")


class ScheduleForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.none(), to_field_name="slug", empty_label=None)
    cron = forms.CharField(
        max_length=120,
        label="Cron expression",
        help_text="minute hour day-of-month month day-of-week, e.g. '*/15 6-18 * * mon-fri', or @hourly, @daily.",
    )
    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        required=False,
        initial="{}",
        help_text=f"Given to every run as trigger.payload; {JSON_HELP}.",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = Environment.objects.filter(organization=organization)

    def clean_payload(self) -> Any:
        return parse_json_field(self.cleaned_data["payload"], "payload")


class ImportForm(forms.Form):
    file = forms.FileField(label="Flow file (.json)", help_text="A file exported from erpflow.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 4 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 4 MB; is it really a flow export?")
        try:
            data = json.loads(upload.read())
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise forms.ValidationError(f"The file is not valid JSON ({type(exc).__name__}: {exc}).") from None
        return storable(data, "file")


FILTERED = ("flow", "use_case", "status", "environment", "trigger", "correlation_id")


class ExecutionFilterForm(forms.Form):
    """The executions list's filters; the values go to ``flows.filters.filter_executions``."""

    flow = forms.ChoiceField(required=False)
    use_case = forms.ChoiceField(required=False, label="Use case")
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *Execution.Status.choices])
    environment = forms.ChoiceField(required=False)
    trigger = forms.ChoiceField(required=False, choices=[("", "any trigger"), *Execution.Trigger.choices])
    correlation_id = forms.CharField(required=False, label="Correlation id")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        flows = Flow.objects.filter(organization=organization).values_list("slug", "name")
        self.fields["flow"].choices = [("", "any flow"), *flows]
        use_cases = Flow.objects.filter(organization=organization).exclude(use_case_slug="").order_by("use_case_slug")
        slugs = use_cases.values_list("use_case_slug", flat=True)
        self.fields["use_case"].choices = [("", "any use case"), *((slug, slug) for slug in slugs)]
        environments = Environment.objects.filter(organization=organization).values_list("slug", "name")
        self.fields["environment"].choices = [("", "any environment"), *environments]

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data
        values = {name: data.get(name) or "" for name in FILTERED}
        for bound in ("since", "until"):
            values[bound] = data[bound].isoformat() if data.get(bound) else ""
        return values
