"""Re-encrypting alert rules' webhook secrets with the current key (``manage.py rotate_encryption_key``).

Registered with ``accounts.rotation`` when ``AlertsConfig.ready`` imports this module.
"""

from __future__ import annotations

from accounts.rotation import rotator, save_rotated
from alerts.models import AlertRule
from core import crypto


@rotator("alert webhook secrets")
def rotate_alert_secrets() -> int:
    changed = []
    for rule in AlertRule.objects.select_for_update().exclude(webhook_secret="").only("pk", "webhook_secret"):
        if crypto.needs_rotation(rule.webhook_secret):
            rule.webhook_secret = crypto.encrypt(crypto.decrypt(rule.webhook_secret))
            changed.append(rule)
    return save_rotated(AlertRule, changed, ["webhook_secret"])
