"""The variables of an environment as every execution reads them, kept for a second in each process.

The engine read an environment's variables (and decrypted its secrets) on every delivery; now a
process reads them at most once a second per environment. An entry lives ``SECONDS``: a variable
added, changed or deleted in another process reaches this one's executions within that time; in
this process at once, as saving or deleting a variable (directly or through its environment's
deletion) drops the entries here. An execution that has started keeps the variables it read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save

from accounts.models import Variable
from core.masking import Masker
from core.ttl_cache import TTLCache

SECONDS = 1.0

_environments = TTLCache(SECONDS)


@dataclass(frozen=True)
class Variables:
    """An environment's variables: ``values`` by key (secrets decrypted) and the masker of its secrets."""

    values: dict[str, str]
    masker: Masker


def of(environment_id: int) -> Variables:
    """The variables of the environment; ``values`` is shared by the executions of this process, to
    be read, never changed."""
    return _environments.get(environment_id, lambda: _load(environment_id))


def _load(environment_id: int) -> Variables:
    variables = list(Variable.objects.filter(environment_id=environment_id))
    values = {v.key: v.plain_value() for v in variables}
    return Variables(values, Masker([values[v.key] for v in variables if v.secret]))


def forget_everything(**_) -> None:
    """A receiver: a variable saved or deleted in this process drops every entry (changes are rare
    next to executions, so dropping all is simpler than tracking environments)."""
    _environments.forget()


for _signal in (post_save, post_delete):
    _signal.connect(forget_everything, sender=Variable, dispatch_uid=f"variable-cache-{_signal}")
