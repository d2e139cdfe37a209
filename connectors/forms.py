"""The connector form: common fields, and settings fields generated from the type's declaration.

Rendering comes from here; the rules do not. ``clean`` turns the posted form into the API's body
and validates it with ``ConnectorSerializer``, so the page and the API accept and refuse exactly
the same things, and each error lands on the field (and environment) it concerns.

Secrets never travel back to the browser in plain text. A secret typed into a form that then fails
(bad input elsewhere, or a failed connection test) comes back as the mask plus a *sealed* hidden
field holding its ciphertext (the same token the database would hold), so "Save anyway" and a
corrected resubmit keep it without the user typing it again.
"""

from __future__ import annotations

from django import forms

from accounts.models import Environment
from connectors.catalog.base import Field
from connectors.models import Connector
from connectors.serializers import ConnectorSerializer, groups_of, members_of
from core import crypto, masking

SEALED = "__sealed"

# Settings that apply only while another setting of the same environment has a given value; the form
# hides them otherwise (the type's own ``check`` ignores them then). The catalog declares no such
# relation, and the SAP type's transports are the one case: RFC's servers mean nothing to SOAP.
SHOWN_ONLY_WHEN: dict[str, dict[str, tuple[str, str]]] = {
    "sap": {
        **dict.fromkeys(
            ("ashost", "sysnr", "gwhost", "gwserv", "saprouter", "mshost", "msserv", "sysid", "group"),
            ("transport", "rfc"),
        ),
        **dict.fromkeys(("soap_url", "verify_tls"), ("transport", "soap")),
    }
}


def setting_name(environment: Environment, field: Field) -> str:
    return f"{environment.slug}__{field.name}"


def form_field(field: Field) -> forms.Field:
    """The Django form field of one declared setting. Never ``required``: only chosen environments need values."""
    label, help_text = field.label, field.help
    if field.secret:
        keep = "Leave the mask to keep the saved value; after changing where the connector connects to, enter it again."
        help_text = f"{help_text} {keep}".strip()
        return forms.CharField(
            label=label,
            help_text=help_text,
            required=False,
            strip=False,
            widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
        )
    if field.kind == "bool":
        return forms.BooleanField(label=label, help_text=help_text, required=False)
    if field.kind == "choice":
        choices = [("", "(default)"), *field.choices] if not field.required else list(field.choices)
        return forms.ChoiceField(label=label, help_text=help_text, required=False, choices=choices)
    if field.kind == "text":
        return forms.CharField(
            label=label, help_text=help_text, required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3})
        )
    if field.kind == "int":
        # Text, not a number input: a value may also be an {{ env.KEY }} reference.
        widget = forms.TextInput(attrs={"inputmode": "numeric"})
    elif field.kind == "url":
        widget = forms.URLInput()
    else:
        widget = forms.TextInput(attrs={"maxlength": field.max} if field.max else {})
    return forms.CharField(label=label, help_text=help_text, required=False, widget=widget)


class ConnectorForm(forms.Form):
    """Name, version, description, tags, scope, concurrency limit, environments and their settings."""

    name = forms.CharField(max_length=120)
    version = forms.CharField(max_length=40, initial="1.0")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. erp, finance.")
    scope = forms.ChoiceField(
        choices=Connector.Scope.choices,
        initial=Connector.Scope.EVERYONE,
        widget=forms.RadioSelect,
        help_text="Who may see and use it in flows; admins and owners always see every connector.",
    )
    allowed_users = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Chosen users"
    )
    allowed_groups = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Chosen groups",
        help_text="Groups with at least one member in this organization.",
    )
    concurrency_limit = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="Most calls running at once across all workers; empty for no limit.",
    )

    def __init__(self, *args, request, type_cls, connector: Connector | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.type_cls = type_cls
        self.connector = connector
        self.serializer: ConnectorSerializer | None = None
        self.environments = list(Environment.objects.for_organization(request.organization))
        self.fields["allowed_users"].queryset = members_of(request.organization).order_by("username")
        self.fields["allowed_groups"].queryset = groups_of(request.organization).order_by("name")
        saved = {row.environment_id: row.values for row in connector.settings.all()} if connector else {}
        self.saved = saved
        for environment in self.environments:
            # A new connector starts in the sandbox: ticked, its settings open to fill in.
            ticked = environment.pk in saved if connector else environment.slug == "sandbox"
            self.fields[f"env-{environment.slug}"] = forms.BooleanField(
                required=False, label=environment.name, initial=ticked
            )
            stored = saved.get(environment.pk, {})
            for field in type_cls.fields:
                self.fields[setting_name(environment, field)] = form_field(field)
                self.initial.setdefault(setting_name(environment, field), initial_value(field, stored))
        if connector is not None:
            self.initial.setdefault("name", connector.name)
            for name in ("version", "description", "scope", "concurrency_limit"):
                self.initial.setdefault(name, getattr(connector, name))
            self.initial.setdefault("tags", ", ".join(connector.tags))
            self.initial.setdefault("allowed_users", list(connector.allowed_users.all()))
            self.initial.setdefault("allowed_groups", list(connector.allowed_groups.all()))
        self.pending = self._pending_secrets()

    # -- secrets typed in this or an earlier submit ------------------------------------------------

    def _pending_secrets(self) -> dict[str, dict[str, str]]:
        """Per environment slug, the ciphertext of each secret typed now or sealed by an earlier submit."""
        pending: dict[str, dict[str, str]] = {}
        if not self.is_bound:
            return pending
        for environment in self.environments:
            for field in (f for f in self.type_cls.fields if f.secret):
                name = setting_name(environment, field)
                typed = self.data.get(name, "")
                if typed and typed != masking.MASK:
                    pending.setdefault(environment.slug, {})[field.name] = crypto.encrypt(typed)
                elif sealed := self._valid_token(self.data.get(name + SEALED, "")):
                    pending.setdefault(environment.slug, {})[field.name] = sealed
        return pending

    @staticmethod
    def _valid_token(token: str) -> str | None:
        """A sealed value only counts if this installation made it (GCM authenticates it)."""
        if not token:
            return None
        try:
            crypto.decrypt(token)
        except crypto.DecryptionError:
            return None
        return token

    def sealed(self) -> list[tuple[str, str]]:
        """Hidden fields that carry pending secrets into the next submit."""
        return [
            (f"{slug}__{name}{SEALED}", token)
            for slug, tokens in self.pending.items()
            for name, token in tokens.items()
        ]

    def mask_secrets(self) -> None:
        """Render the bound form again with every secret shown as the mask (or empty), never as typed.

        Only what the widgets render changes: the errors were found on the data as submitted.
        """
        data = self.data.copy()
        for environment in self.environments:
            for field in (f for f in self.type_cls.fields if f.secret):
                name = setting_name(environment, field)
                kept = field.name in self.pending.get(environment.slug, {}) or self.saved.get(environment.pk, {}).get(
                    field.name
                )
                data[name] = masking.MASK if kept else ""
        self.data = data

    # -- layout -----------------------------------------------------------------------------------

    def common_fields(self):
        return [self[name] for name in self.base_fields]

    def sections(self) -> list[dict]:
        """Per environment: its checkbox and its settings fields grouped as the type declares them, each
        with the setting (its form name and the value in force when empty) it is shown for, if any."""
        conditions = SHOWN_ONLY_WHEN.get(self.type_cls.key, {})
        defaults = {field.name: field.default for field in self.type_cls.fields}
        sections = []
        for environment in self.environments:
            groups: dict[str, list] = {}
            for field in self.type_cls.fields:
                entry = {"field": self[setting_name(environment, field)], "declared": field}
                if field.name in conditions:
                    setting, value = conditions[field.name]
                    entry["shown_when"] = {
                        "name": f"{environment.slug}__{setting}",
                        "value": value,
                        "default": defaults.get(setting) or "",
                    }
                groups.setdefault(field.group, []).append(entry)
            sections.append(
                {
                    "environment": environment,
                    "toggle": self[f"env-{environment.slug}"],
                    "groups": [{"name": name, "fields": fields} for name, fields in groups.items()],
                }
            )
        return sections

    # -- validation through the API's serializer --------------------------------------------------

    def payload(self) -> dict:
        data = self.cleaned_data
        settings = {}
        for environment in self.environments:
            if not data.get(f"env-{environment.slug}"):
                continue
            settings[environment.slug] = {
                field.name: self._setting_value(field, data.get(setting_name(environment, field)))
                for field in self.type_cls.fields
            }
        return {
            "type": self.type_cls.key,
            "name": data.get("name", ""),
            "version": data.get("version", ""),
            "description": data.get("description", ""),
            "tags": [tag.strip() for tag in (data.get("tags") or "").split(",") if tag.strip()],
            "scope": data.get("scope"),
            "allowed_users": [user.pk for user in data.get("allowed_users") or []],
            "allowed_groups": [group.pk for group in data.get("allowed_groups") or []],
            "concurrency_limit": data.get("concurrency_limit"),
            "settings": settings,
        }

    @staticmethod
    def _setting_value(field: Field, value):
        # A typed secret is already sealed in ``pending``: the mask tells the serializer to take it from there.
        return masking.MASK if field.secret and value else value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        self.serializer = ConnectorSerializer(
            self.connector,
            data=self.payload(),
            context={"request": self.request, "previous": self.pending},
        )
        if not self.serializer.is_valid():
            self._place_errors(self.serializer.errors)
        return cleaned

    def _place_errors(self, errors: dict) -> None:
        for key, problems in errors.items():
            if key == "settings" and isinstance(problems, dict):
                for slug, fields in problems.items():
                    self._place_settings_errors(slug, fields)
            elif key == "settings":
                # The API's words speak of a JSON body; the form's of what to tick and fill in.
                names = " or ".join(environment.name for environment in self.environments)
                self.add_error(None, f"Tick an environment ({names}) and fill in its settings.")
            elif key in self.fields:
                self.add_error(key, [str(p) for p in problems])
            else:
                self.add_error(None, [f"{key}: {p}" for p in problems])

    def _place_settings_errors(self, slug: str, fields) -> None:
        known = {f.name for f in self.type_cls.fields}
        if not isinstance(fields, dict):
            self.add_error(f"env-{slug}" if f"env-{slug}" in self.fields else None, [str(p) for p in fields])
            return
        for name, problems in fields.items():
            target = f"{slug}__{name}" if name in known and f"{slug}__{name}" in self.fields else None
            self.add_error(target, [str(p) for p in problems])
        environment = next((e for e in self.environments if e.slug == slug), None)
        if environment is not None:
            required = {field.name for field in self.type_cls.fields if field.required}
            missing = all(name in required and not self.data.get(f"{slug}__{name}", "").strip() for name in fields)
            verb = "Fill in" if missing else "Correct"
            self.add_error(
                f"env-{slug}", f"{verb} the {environment.name.lower()} settings or untick {environment.name}."
            )

    def problems(self) -> list[tuple[str, str]]:
        """Every error as (where, what), in the form's order: what the connection test lists when it
        cannot run yet."""
        labels = {
            setting_name(environment, field): f"{environment.name}: {field.label}"
            for environment in self.environments
            for field in self.type_cls.fields
        }
        found = [("", str(message)) for message in self.non_field_errors()]
        for name in self.fields:
            for message in self.errors.get(name, []):
                found.append((labels.get(name, self.fields[name].label or name), str(message)))
        return found

    def environments_to_save(self) -> dict:
        """The environments and stored values the save will write (None: removed), after ``is_valid``."""
        return self.serializer.validated_data["stored_settings"]

    def save(self) -> Connector:
        return self.serializer.save()


def initial_value(field: Field, stored: dict):
    """What a field shows before any submit: the saved value, the mask for a saved secret, else the default."""
    if field.secret:
        return masking.mask(stored.get(field.name))
    value = stored.get(field.name, field.default)
    return "" if value is None else value


class FilterForm(forms.Form):
    """What the list page offers of ``ConnectorFilter`` (the API's query parameters), with the types to choose from."""

    q = forms.CharField(required=False, label="Search")
    type = forms.ChoiceField(required=False, label="Type")
    tag = forms.CharField(required=False, label="Tag")

    def __init__(self, *args, types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", "Any type"), *((cls.key, cls.label) for cls in types)]
