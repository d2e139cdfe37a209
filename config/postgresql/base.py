"""Django's PostgreSQL backend with a health check that costs no round trip while the connection is sound.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before its first query of each request
(and of each task, ``config.celery.between_tasks``) by sending ``SELECT 1``: one round trip per
request, a tenth of a short waited trigger's database work. Between requests a connection is idle
and the server sends it nothing, unless it is going away: a server that shuts down or restarts, or
a backend terminated by an administrator, writes its goodbye (or closes the socket) first. So the
socket is polled without waiting: nothing to read means the connection is as it was left, and only
a readable one (or one not idle) gets Django's ``SELECT 1`` to tell a goodbye from a stray notice.
A connection whose peer vanished without a word (a cut network) is caught by the first query's
error, as it would be right after a ``SELECT 1`` that passed.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        poller = select.poll()
        try:
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            pending = poller.poll(0)
        except (OSError, ValueError):
            return False
        return not pending or super().is_usable()
