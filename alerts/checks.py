"""What makes an alert rule valid, for the API and the page alike: one message per field at fault.

A condition needs its numbers (N and W, or T) within bounds; a rule needs somewhere to send to; each
address must be an e-mail address and the webhook an http(s) URL the network policy allows.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from alerts import webhook
from alerts.choices import Condition
from alerts.models import MAX_EMAILS, MAX_FAILURES, MAX_SILENCE_MINUTES, MAX_THROTTLE_MINUTES, MAX_WINDOW_MINUTES

# field -> (what it is called in messages, the conditions needing it, the largest value)
NUMBERS = {
    "failures": ("N (failures)", (Condition.FAILURES_OVER,), MAX_FAILURES),
    "window_minutes": ("W (window in minutes)", (Condition.FAILURES_OVER,), MAX_WINDOW_MINUTES),
    "silence_minutes": ("T (minutes without success)", (Condition.NO_SUCCESS,), MAX_SILENCE_MINUTES),
}


def rule_problems(values: dict) -> dict[str, str]:
    """``values``: condition, failures, window_minutes, silence_minutes, throttle_minutes, emails,
    webhook_url (the rule as it would be saved). Returns {field: message}; empty when it is valid.
    Numbers a condition does not use must be empty, so a rule never shows a number it ignores."""
    problems: dict[str, str] = {}
    condition = values.get("condition")
    for name, (label, conditions, maximum) in NUMBERS.items():
        value = values.get(name)
        if condition in conditions:
            if value is None:
                problems[name] = f"{label} is required for this condition."
            elif not 1 <= value <= maximum:
                problems[name] = f"{label} must be from 1 to {maximum}, not {value}."
        elif value is not None:
            problems[name] = f"{label} applies only to another condition; leave it empty."
    throttle = values.get("throttle_minutes")
    if throttle is not None and not 1 <= throttle <= MAX_THROTTLE_MINUTES:
        problems["throttle_minutes"] = f"The throttle must be from 1 to {MAX_THROTTLE_MINUTES} minutes, not {throttle}."
    emails = values.get("emails") or []
    if len(emails) > MAX_EMAILS:
        problems["emails"] = f"At most {MAX_EMAILS} addresses per rule; this one has {len(emails)}."
    for address in emails:
        try:
            validate_email(address)
        except ValidationError:
            problems["emails"] = f"'{address}' is not an e-mail address."
            break
    url = values.get("webhook_url") or ""
    if url:
        refusal = webhook.check_url(url)
        if refusal:
            problems["webhook_url"] = refusal
    if not emails and not url:
        problems["emails"] = "Give at least one e-mail address or a webhook URL to send the alert to."
    return problems


def email_list(text: str) -> list[str]:
    """Addresses typed one a line or separated by commas, without blanks or repeats."""
    return list(dict.fromkeys(part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()))
