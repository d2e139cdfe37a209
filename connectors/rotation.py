"""Re-encrypting connector secrets with the current key (``manage.py rotate_encryption_key``).

Registered with ``accounts.rotation`` when ``ConnectorsConfig.ready`` imports this module.
"""

from __future__ import annotations

from accounts.rotation import rotator, save_rotated
from connectors import catalog
from connectors.models import ConnectorSettings
from core import crypto


@rotator("connector settings")
def rotate_connector_secrets() -> int:
    changed = []
    for row in ConnectorSettings.objects.select_for_update().select_related("connector"):
        try:
            secret_names = [
                field.name for field in catalog.connector_type(row.connector.type_key).fields if field.secret
            ]
        except KeyError:
            continue
        stale = [name for name in secret_names if row.values.get(name) and crypto.needs_rotation(row.values[name])]
        for name in stale:
            row.values[name] = crypto.encrypt(crypto.decrypt(row.values[name]))
        if stale:
            changed.append(row)
    return save_rotated(ConnectorSettings, changed, ["values"])
