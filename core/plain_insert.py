"""One model's INSERT, its statement built once, for rows written on a hot path.

``Model.objects.create`` compiles its INSERT anew for every row: on a waited trigger that
compilation cost more than the round trip to the database. ``PlainInsert`` writes the same row
(every concrete field, each prepared by its own ``pre_save`` and then as its ``get_db_prep_save``
prepares it, through ``core.db_values``, so ``auto_now_add`` and JSON fields behave the same) with a statement
built once per database vendor, and reads back the new primary key. It sends no model signals,
so it is only for models no receiver listens to (``tests/core/test_plain_insert.py`` checks that
for the models that use it). On PostgreSQL the values travel apart from the statement, which is
prepared once per connection (``core.bound_statements``): quoting two dozen values into the text in
Python costs more than psycopg's dumpers.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from core import bound_statements
from core.db_values import Preparer


class PlainInsert:
    def __init__(self, model: type[Model]):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.prepare = Preparer(self.fields)
        self.statements: dict[str, str] = {}

    def statement(self, db) -> str:
        if db.vendor not in self.statements:
            quote = db.ops.quote_name
            columns = ", ".join(quote(f.column) for f in self.fields)
            marks = ", ".join(["%s"] * len(self.fields))
            table, pk = quote(self.model._meta.db_table), quote(self.model._meta.pk.column)
            self.statements[db.vendor] = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608
        return self.statements[db.vendor]

    def __call__(self, instance: Model, using: str = DEFAULT_DB_ALIAS) -> Model:
        """Insert ``instance`` and set its primary key; returns it, saved as ``save()`` leaves it."""
        db = connections[using]
        params = self.prepare([f.pre_save(instance, True) for f in self.fields], db)
        sql = self.statement(db)
        with bound_statements.cursor(db) as cursor:
            cursor.execute(sql, params)
            instance.pk = cursor.fetchone()[0]
        instance._state.adding, instance._state.db = False, using
        return instance
