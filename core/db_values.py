"""Values prepared for the database as ``Field.get_db_prep_save`` prepares them, the common cases short.

``get_db_prep_save`` walks three or four methods per value (``get_db_prep_value``, ``get_prep_value``,
``to_python``) even when the value is already what the column takes. A waited trigger prepares about
fifty values (its execution's row, the finish, the step record): a tenth of the request in a profile.
``Preparer`` lets a value take the short way when it is of the exact type its field stores (text for
a ``CharField`` or ``TextField``, an ``int`` for an integer field or a key to one, a ``bool``, a
``float``, an aware ``datetime``; a subclass such as ``bool`` for an integer, or a lazy translation
for text, takes the long way), or None for one of those fields or a ``JSONField`` (SQL NULL).

What the short way does is found once per field and backend by preparing a probe value the long
way (``rule``): the value passes as it is (text everywhere, an aware moment on PostgreSQL), is
wrapped as the backend wraps it (psycopg's ``Int2``/``Int4``/``Int8`` on PostgreSQL, which keep a
prepared statement's parameter types fixed), or is converted some other way (a moment on SQLite or
MySQL becomes text or a naive moment), which leaves only None short. Every other value, and every
value of any other kind of field (a subclass included, which may prepare differently), takes
``get_db_prep_save``. ``tests/core/test_db_values.py`` checks that the two agree, value and type.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import models

NONE_ONLY = object()  # a field whose only short case is None

_INTEGERS = (
    models.IntegerField,
    models.SmallIntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
    models.AutoField,
    models.SmallAutoField,
    models.BigAutoField,
)
_PLAIN: dict[type, object] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.FloatField: float,
    models.DateTimeField: datetime,
    models.JSONField: NONE_ONLY,
    **dict.fromkeys(_INTEGERS, int),
}
_PROBES = {str: "probe", int: 7, bool: True, float: 1.5, datetime: datetime(2000, 1, 1, tzinfo=UTC)}


def rule(field: models.Field, db) -> tuple[object | None, type | None]:
    """How ``field``'s values take the short way on ``db``: the type that does (``NONE_ONLY``: None
    alone; None: no value) and the type that wraps it (None: it passes as it is), from a probe."""
    target = field.target_field if type(field) in (models.ForeignKey, models.OneToOneField) else field
    kind = _PLAIN.get(type(target))
    if kind is None or kind is NONE_ONLY:
        return kind, None
    probe = _PROBES[kind]
    prepared = field.get_db_prep_save(probe, db)
    if prepared is probe or (type(prepared) is kind and prepared == probe):
        return kind, None
    if isinstance(prepared, kind) and prepared == probe and type(prepared)(probe) == prepared:
        return kind, type(prepared)
    return NONE_ONLY, None


class Preparer:
    """Prepares rows of values for ``fields``, in their order, for one database connection at a time."""

    def __init__(self, fields: list[models.Field]):
        self.fields = fields
        self.rules: dict[str, list[tuple[models.Field, object | None, type | None]]] = {}

    def __call__(self, values, db) -> list:
        rules = self.rules.get(db.vendor)
        if rules is None:
            rules = self.rules[db.vendor] = [(field, *rule(field, db)) for field in self.fields]
        prepared = []
        for (field, kind, wrap), value in zip(rules, values, strict=True):
            if value is None and kind is not None:
                prepared.append(None)
            elif type(value) is kind and (kind is not datetime or value.utcoffset() is not None):
                prepared.append(value if wrap is None else wrap(value))
            else:
                prepared.append(field.get_db_prep_save(value, db))
        return prepared
