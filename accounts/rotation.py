"""Re-encryption under the current key, for every model that stores secrets.

Each app registers a function that re-encrypts its own rows (``@rotator("name")``) so
``manage.py rotate_encryption_key`` covers secrets added by later apps without knowing them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from accounts import crypto

ROTATORS: dict[str, Callable[[], int]] = {}


def rotator(name: str):
    def register(func: Callable[[], int]):
        ROTATORS[name] = func
        return func

    return register


def rotate_all() -> dict[str, int]:
    with transaction.atomic():
        return {name: func() for name, func in ROTATORS.items()}


@rotator("variables")
def rotate_variables() -> int:
    from accounts.models import Variable

    changed = 0
    for variable in Variable.objects.select_for_update().filter(secret=True).exclude(value=""):
        if crypto.needs_rotation(variable.value):
            variable.value = crypto.encrypt(crypto.decrypt(variable.value))
            variable.save(update_fields=["value"])
            changed += 1
    return changed
