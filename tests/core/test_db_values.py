"""``core.db_values.Preparer`` prepares every value as the field's own ``get_db_prep_save`` does: the
same value of the same type, whether the value took the short way or not."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import partial

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.utils.functional import lazy
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Int2

from core.db_values import NONE_ONLY, Preparer, rule
from flows.models import Execution, StepRun

pytestmark = pytest.mark.django_db

lazy_text = lazy(lambda: "lazy", str)

# Values of every type a row may carry, the ones prepared as they are and the ones converted.
SAMPLES = [
    None,
    "",
    "text \u2603",
    lazy_text(),
    0,
    7,
    -3,
    True,
    False,
    1.5,
    float("inf"),
    Decimal("2.5"),
    "12",
    datetime(2026, 12, 7, 23, 0, tzinfo=UTC),
    datetime(2026, 12, 7, 23, 0, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 12, 7, 23, 0),  # naive: Django makes it aware, with a warning
    {"a": [1, 2]},
    [1, "x"],
]


def comparable(value):
    """A value with its type, so that ``1`` and ``True`` or ``1`` and ``1.0`` differ."""
    if isinstance(value, Jsonb):
        return ("Jsonb", comparable(value.obj))
    if isinstance(value, dict):
        return ("dict", sorted((key, comparable(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("list", [comparable(item) for item in value])
    if isinstance(value, Jsonb | dict | list | datetime) or value is None:
        pass
    else:
        return (type(value).__name__, value)
    if isinstance(value, datetime):
        return ("datetime", value, value.utcoffset())
    return (type(value).__name__, value)


def sqlite():
    """A SQLite connection's wrapper (never connected: preparing values does not need the server), for
    what ``make run``'s embedded database is given."""
    return SQLiteWrapper({**connection.settings_dict, "NAME": ":memory:"}, alias="sqlite-values")


def prepared(prepare, index: int | None = None):
    """What ``prepare()`` answers (its item ``index``), or the kind of error it raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            answer = prepare()
            return comparable(answer if index is None else answer[index])
    except Exception as exc:
        return ("raised", type(exc).__name__)


@pytest.mark.parametrize("model", [Execution, StepRun])
@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_every_field_and_value_is_prepared_as_get_db_prep_save_prepares_it(model, database):
    db = connection if database == "postgresql" else sqlite()
    assert db.vendor == database
    fields = list(model._meta.concrete_fields)
    preparer = Preparer(fields)
    compared = 0
    for index, field in enumerate(fields):
        for value in SAMPLES:
            row = [None] * len(fields)
            row[index] = value
            expected = prepared(partial(field.get_db_prep_save, value, db))
            got = prepared(partial(preparer, row, db), index)
            assert got == expected, f"{database}: {model.__name__}.{field.name} with {value!r}"
            compared += 1
    assert compared == len(fields) * len(SAMPLES)


def test_values_of_the_exact_type_take_the_short_way():
    fields = [Execution._meta.get_field(name) for name in ("status", "attempts", "flow", "started", "input")]
    preparer = Preparer(fields)
    preparer([None] * len(fields), connection)  # its rules are made with a probe the long way: first
    moment = datetime(2026, 12, 7, tzinfo=UTC)
    called = []
    for field in fields:
        original = field.get_db_prep_save
        field.get_db_prep_save = lambda value, db, original=original, name=field.name: (
            called.append(name) or original(value, db)
        )
    try:
        preparer(["queued", 1, 5, moment, None], connection)
        assert called == []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the naive moment
            preparer([lazy_text(), True, "5", moment.replace(tzinfo=None), {"a": 1}], connection)
        assert called == ["status", "attempts", "flow", "started", "input"]
    finally:
        for field in fields:
            del field.get_db_prep_save


def test_the_short_way_follows_what_the_backend_does_with_a_type():
    started, depth = Execution._meta.get_field("started"), Execution._meta.get_field("depth")
    assert rule(started, connection) == (datetime, None)  # PostgreSQL takes an aware moment as it is
    assert rule(started, sqlite()) == (NONE_ONLY, None)  # SQLite's is turned into text
    assert rule(depth, connection) == (int, Int2)  # psycopg's small integer: the parameter's type stays
    assert rule(depth, sqlite()) == (int, None)
    assert rule(Execution._meta.get_field("flow"), sqlite()) == (int, None)  # the key's target: an integer
    assert rule(Execution._meta.get_field("input"), connection) == (NONE_ONLY, None)
