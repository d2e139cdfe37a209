"""Re-encryption under the current key, for every model that stores secrets.

Each app registers a function that re-encrypts its own rows (``@rotator("name")``) so
``manage.py rotate_encryption_key`` covers secrets added by later apps without knowing them.
Rows are written back in batches (``save_rotated``): one UPDATE per row, with every save signal
(the audit log's among them), made a rotation of 10,000 secrets take minutes instead of seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from accounts.models import Variable
from core import crypto

ROTATORS: dict[str, Callable[[], int]] = {}


def rotator(name: str):
    def register(func: Callable[[], int]):
        ROTATORS[name] = func
        return func

    return register


BATCH = 500


def save_rotated(model, rows: list, fields: list[str]) -> int:
    """Write re-encrypted ``rows`` back in batches; answers how many."""
    model.objects.bulk_update(rows, fields, batch_size=BATCH)
    return len(rows)


def rotate_all() -> dict[str, int]:
    with transaction.atomic():
        return {name: func() for name, func in ROTATORS.items()}


@rotator("variables")
def rotate_variables() -> int:

    changed = []
    for variable in Variable.objects.select_for_update().filter(secret=True).exclude(value="").only("pk", "value"):
        if crypto.needs_rotation(variable.value):
            variable.value = crypto.encrypt(crypto.decrypt(variable.value))
            changed.append(variable)
    return save_rotated(Variable, changed, ["value"])
