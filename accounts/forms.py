from __future__ import annotations

from django import forms

from accounts.choices import Role, Scope
from accounts.models import VARIABLE_KEY, Variable
from core import masking


class VariableForm(forms.Form):
    key = forms.CharField(max_length=128)
    value = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 1}), strip=False)
    secret = forms.BooleanField(required=False, help_text="Encrypted at rest and never shown again.")

    def __init__(self, *args, environment, instance: Variable | None = None, **kwargs):
        self.environment = environment
        self.instance = instance
        super().__init__(*args, **kwargs)

    def clean_key(self):
        key = self.cleaned_data["key"]
        if not VARIABLE_KEY.match(key):
            raise forms.ValidationError("Use letters, digits and underscores, starting with a letter or underscore.")
        clash = Variable.objects.filter(environment=self.environment, key=key)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"{key} already exists in this environment.")
        return key

    def save(self) -> Variable:
        variable = self.instance or Variable(organization=self.environment.organization, environment=self.environment)
        previous = variable.plain_value() if variable.pk else ""
        keep_secret = variable.pk and variable.secret and self.cleaned_data["value"] in ("", masking.MASK)
        variable.key = self.cleaned_data["key"]
        variable.secret = self.cleaned_data["secret"]
        variable.set_value(previous if keep_secret else self.cleaned_data["value"])
        variable.save()
        return variable


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    # Each scope in words with the name the API and the README use for it beside them.
    scopes = forms.MultipleChoiceField(
        choices=[(scope.value, f"{scope.label} ({scope.value})") for scope in Scope],
        widget=forms.CheckboxSelectMultiple,
        help_text="What the token may do.",
    )
    expires_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty for a token that does not expire.",
    )


class MemberAddForm(forms.Form):
    user = forms.CharField(
        max_length=254, label="Username or email", help_text="Members are added from existing accounts."
    )
    role = forms.ChoiceField()

    def __init__(self, *args, roles: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role, Role(role).label) for role in roles]
        self.fields["role"].initial = Role.VIEWER


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
