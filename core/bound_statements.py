"""Statements of the hot paths with their values bound on the server, and prepared once per connection.

Django's PostgreSQL cursors bind on the client: the values are quoted into the text in Python and
PostgreSQL parses and plans every statement anew. For the few statements every execution runs (its
INSERT, the claim, a step record, the finish), ``cursor`` gives a psycopg cursor that sends the
values apart from the text, wrapped in Django's cursor wrapper (the query log, the translation of
errors). psycopg prepares a statement on a connection once it has run ``prepare_threshold`` times
there (``config.database``: 5 unless ``DATABASE_URL`` says otherwise), so from then on the server
neither parses nor plans it: that was as much of the database's time as running the claim. Django's
own queries are never prepared (its cursors bind on the client), whatever the threshold.

A connection pooler in transaction mode that cannot keep prepared statements (PgBouncer before
1.21, or without ``max_prepared_statements``) needs ``?prepare_threshold=none`` in ``DATABASE_URL``;
then the values are still bound on the server, and nothing is prepared. On SQLite the ordinary cursor
is used.
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg


@contextmanager
def cursor(db):
    """A cursor of ``db`` (a Django connection) that binds on the server on PostgreSQL."""
    with db.cursor() as ordinary:
        if db.vendor != "postgresql":
            yield ordinary
            return
        with psycopg.Cursor(ordinary.cursor.connection) as bound:
            yield type(ordinary)(bound, ordinary.db)
