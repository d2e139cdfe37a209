"""The embedded SQLite database (``config.database``): two transactions that each read and then write
wait for each other instead of one failing with "database is locked"."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

from config.database import database_from_url

ALIAS = "embedded-under-test"


def wrapper(settings_dict: dict) -> DatabaseWrapper:
    defaults = {"TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True}
    return DatabaseWrapper({**defaults, "ATOMIC_REQUESTS": False, "TEST": {}, **settings_dict}, ALIAS)


@pytest.fixture
def own_database(django_db_blocker):
    """Connections to a database file of the test's own, not to the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.mark.usefixtures("own_database")
def test_two_transactions_that_read_then_write_both_commit(tmp_path):
    settings_dict = database_from_url(None, tmp_path / "erpflow.sqlite3")
    setup = wrapper(settings_dict)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (n integer)")
        cursor.execute("INSERT INTO counter VALUES (0)")
    setup.close()
    first_read = threading.Event()
    errors: list[Exception] = []

    def add_one(read_first: bool) -> None:
        connections[ALIAS] = db = wrapper(settings_dict)  # this thread's own connection under the alias
        try:
            with transaction.atomic(using=ALIAS), db.cursor() as cursor:
                cursor.execute("SELECT n FROM counter")
                if read_first:
                    first_read.set()
                    threading.Event().wait(0.3)  # the other transaction reads and tries to write meanwhile
                else:
                    first_read.wait(5)
                cursor.execute("UPDATE counter SET n = n + 1")
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close()
            del connections[ALIAS]

    threads = [threading.Thread(target=add_one, args=(read_first,)) for read_first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    check = wrapper(settings_dict)
    with check.cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        assert cursor.fetchone() == (2,)
    check.close()
