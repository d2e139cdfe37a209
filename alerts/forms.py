from __future__ import annotations

from django import forms

from alerts.checks import email_list, rule_problems
from alerts.models import AlertRule
from flows.models import Flow


class AlertRuleForm(forms.ModelForm):
    """The rule page's form; the checks are the API's (``alerts.checks``)."""

    emails = forms.CharField(
        label="E-mail addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line, or separated by commas.",
    )
    webhook_url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=2000,
        help_text="Receives each alert as a signed JSON POST; the signing key is shown once, after saving.",
    )

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "flow",
            "condition",
            "failures",
            "window_minutes",
            "silence_minutes",
            "emails",
            "webhook_url",
            "throttle_minutes",
            "enabled",
        ]
        labels = {
            "flow": "Flow",
            "failures": "N: more than this many failures",
            "window_minutes": "W: within this many minutes",
            "silence_minutes": "T: minutes without a successful execution",
            "throttle_minutes": "Throttle: at most one alert per this many minutes",
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["flow"].queryset = Flow.objects.filter(organization=organization)
        self.fields["flow"].empty_label = "Every flow of the organization"
        self.fields["flow"].help_text = ""
        self.fields["failures"].help_text = "For “more than N failures within W minutes”."
        self.fields["window_minutes"].help_text = ""
        self.fields["silence_minutes"].help_text = "For “no success for T minutes”."
        self.fields["throttle_minutes"].help_text = ""
        if self.instance.pk:
            self.initial["emails"] = "\n".join(self.instance.emails)

    def clean_emails(self) -> list[str]:
        return email_list(self.cleaned_data.get("emails") or "")

    def clean_webhook_url(self) -> str:
        return (self.cleaned_data.get("webhook_url") or "").strip()

    def clean(self):
        cleaned = super().clean()
        for name, message in rule_problems(cleaned).items():
            if name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def save(self, commit: bool = True) -> AlertRule:
        rule = super().save(commit=False)
        rule.issued_secret = rule.sync_secret()
        if commit:
            rule.save()
        return rule
