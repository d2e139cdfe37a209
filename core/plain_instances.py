"""Model instances built as ``Model(**values)`` builds them, without ``Model.__init__``'s per-field work.

On a hot path (a waited trigger's execution, every step record of the engine) ``Model.__init__``
cost more than the rest of building the row: it walks every field, looks each value up in the
keyword arguments, and sets related objects through their descriptors. ``PlainInstances`` does the
same assignments from a field list worked out once: a related object given by field name is kept
as the relation's cached object with its key in the attribute, anything else is set as given, and
the fields not given take their default. No ``pre_init``/``post_init`` signal is sent, so it is only
for models no receiver of those listens to (none in erpflow: ``tests/core/test_plain_instances.py``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.db.models.base import ModelState


class PlainInstances:
    def __init__(self, model: type[Model]):
        self.model = model
        self.fields = [
            (field.name, field.attname, field.is_relation, field.get_default) for field in model._meta.concrete_fields
        ]

    def new(self, **values: Any) -> Model:
        """An unsaved instance with ``values``, by field name (a related object) or attribute name."""
        instance = self.model.__new__(self.model)
        state = instance._state = ModelState()
        attributes = instance.__dict__
        for name, attname, related, default in self.fields:
            if related and name in values:
                target = values[name]
                attributes[attname] = None if target is None else target.pk
                state.fields_cache[name] = target
            elif attname in values:
                attributes[attname] = values[attname]
            else:
                attributes[attname] = default()
        return instance


def shallow_copy(instance: Model) -> Model:
    """What ``copy.copy`` makes of ``instance``: its own attributes and state (the related objects it
    caches included), sharing their values. ``copy.copy`` takes a model through the pickling protocol
    (``Model.__reduce__``: a model lookup by app label, every value looked at for a memoryview, a
    version stamp), which cost more than the engine's setup for a run."""
    twin = instance.__class__.__new__(instance.__class__)
    twin.__dict__.update(instance.__dict__)
    state = twin._state = ModelState()
    state.__dict__.update(instance._state.__dict__)
    state.fields_cache = dict(instance._state.fields_cache)
    return twin
