"""Encryption key rotation over 10,000 stored secrets: the time ``manage.py rotate_encryption_key`` takes.

Stores 8,000 secret variables and 2,000 connectors with a password, all encrypted under an old
key, puts a new key in front of the ring (as an operator does) and times ``rotate_all`` once.
Then every secret is read back: each must be made with the new key and decrypt to its original
value; anything else is a failure. Prints the time, the rate and the failures (expected 0). Uses
``DATABASE_URL`` (migrated first) and removes its data.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/rotation.py
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import uuid
from pathlib import Path

VARIABLES = int(os.environ.get("BENCH_ROTATION_VARIABLES", "8000"))
CONNECTORS = int(os.environ.get("BENCH_ROTATION_CONNECTORS", "2000"))


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)


def store_secrets(organization, environment) -> dict[tuple[str, int], str]:
    """Secret variables and connector passwords under the current key; returns the plain values by row."""
    from accounts.models import Variable
    from connectors.models import Connector, ConnectorSettings
    from core import crypto

    plain: dict[tuple[str, int], str] = {}
    values = [secrets.token_urlsafe(24) for _ in range(VARIABLES)]
    variables = Variable.objects.bulk_create(
        [
            Variable(organization=organization, environment=environment, key=f"SECRET_{n}", value=crypto.encrypt(v))
            for n, v in enumerate(values)
        ],
        batch_size=1000,
    )
    Variable.objects.filter(organization=organization).update(secret=True)
    plain.update({("variable", v.pk): value for v, value in zip(variables, values, strict=True)})
    connectors = Connector.objects.bulk_create(
        [Connector(organization=organization, type_key="postgres", name=f"erp {n}") for n in range(CONNECTORS)],
        batch_size=1000,
    )
    passwords = [secrets.token_urlsafe(24) for _ in connectors]
    rows = ConnectorSettings.objects.bulk_create(
        [
            ConnectorSettings(
                connector=c, environment=environment, values={"host": "erp.example", "password": crypto.encrypt(p)}
            )
            for c, p in zip(connectors, passwords, strict=True)
        ],
        batch_size=1000,
    )
    plain.update({("connector", row.pk): p for row, p in zip(rows, passwords, strict=True)})
    return plain


def failures(organization, plain: dict[tuple[str, int], str], new_key_id: str) -> list[str]:
    """Every secret not made with the new key or not decrypting to its original value."""
    from accounts.models import Variable
    from connectors.models import ConnectorSettings
    from core import crypto

    stored = {
        ("variable", pk): token
        for pk, token in Variable.objects.filter(organization=organization).values_list("pk", "value")
    }
    stored |= {
        ("connector", pk): values.get("password", "")
        for pk, values in ConnectorSettings.objects.filter(connector__organization=organization).values_list(
            "pk", "values"
        )
    }
    problems = []
    for row, value in plain.items():
        token = stored.get(row, "")
        try:
            if token.split(":")[1] != new_key_id or crypto.decrypt(token) != value:
                problems.append(f"{row}: not re-encrypted under the new key")
        except (crypto.DecryptionError, IndexError) as exc:
            problems.append(f"{row}: {exc}")
    return problems


def main() -> None:
    setup_django()
    from django.conf import settings

    from accounts.models import Environment, Organization
    from accounts.rotation import rotate_all
    from config import keys
    from core import crypto

    old_keys = list(settings.ERPFLOW_ENCRYPTION_KEYS)
    organization = Organization.create(f"bench rotation {uuid.uuid4().hex[:8]}")
    try:
        environment = Environment.objects.get(organization=organization, slug="sandbox")
        started = time.perf_counter()
        plain = store_secrets(organization, environment)
        stored_in = time.perf_counter() - started
        new_key = keys.generate_key()
        settings.ERPFLOW_ENCRYPTION_KEYS = [new_key, *old_keys]
        new_key_id, _ = crypto.key_ring()
        started = time.perf_counter()
        changed = rotate_all()
        took = time.perf_counter() - started
        problems = failures(organization, plain, new_key_id)
        total = len(plain)
        print(
            f"secrets stored:     {total} ({VARIABLES} variables, {CONNECTORS} connector passwords), {stored_in:.1f} s"
        )
        print(f"rotation:           {took:.2f} s for the whole database ({total / took:,.0f} secrets/s)")
        print(f"rows re-encrypted:  {changed}")
        print(f"failures:           {len(problems)}")
        for problem in problems[:10]:
            print(f"  {problem}")
    finally:
        settings.ERPFLOW_ENCRYPTION_KEYS = old_keys
        organization.delete()


if __name__ == "__main__":
    main()
