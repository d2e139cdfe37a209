"""Start-up refusals for an installation spread over several hosts (``ERPFLOW_MULTI_HOST=1``).

The defaults of `make run` keep state on the local disk or in the process: the SQLite database and the
filesystem broker under ``var/``, secrets generated into ``var/`` on first start, SQLite connectors'
files under ``var/data/``, and, without Redis, the cache, the rate limits, the connector concurrency
slots and the wake-up of requests waiting for an execution kept per process. On one host they are
shared by every process; on several, each host would silently get its own copy (a worker that never
sees the web server's messages, a ciphertext one host cannot decrypt, a SQLite connector whose rows
depend on the worker that ran the step). A process told it is one of several hosts refuses to start
with any of them, naming the variable that fixes it, rather than fail in those ways later.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

# Each piece that assumes one host: (whether the variables leave it in place, why it breaks on several hosts, the fix).
_ONE_HOST_PIECES = (
    (
        lambda read: (read("DATABASE_URL") or "sqlite").startswith("sqlite"),
        "the database is a SQLite file on this host's disk",
        "set DATABASE_URL to the PostgreSQL (or MySQL) server every host reaches",
    ),
    (
        lambda read: (read("CELERY_BROKER_URL") or "filesystem").startswith("filesystem"),
        "the Celery broker is the filesystem transport, a folder of this host: workers elsewhere never see its "
        "messages",
        "set CELERY_BROKER_URL to a Redis (redis://) or RabbitMQ (amqp://) server every host reaches",
    ),
    (
        lambda read: not read("REDIS_URL"),
        "without Redis the cache, the rate limits, the connector concurrency slots and the wake-up of requests "
        "waiting for an execution are kept per process",
        "set REDIS_URL to the Redis server every host reaches",
    ),
    (
        lambda read: not read("SECRET_KEY"),
        "the secret key would be generated into this host's var/, different on each host (sessions and signed "
        "links of one host refused by the others)",
        "give every host the same SECRET_KEY",
    ),
    (
        lambda read: not read("ERPFLOW_ENCRYPTION_KEYS"),
        "the encryption key would be generated into this host's var/, different on each host (connector "
        "secrets saved by one host unreadable by the others)",
        "give every host the same ERPFLOW_ENCRYPTION_KEYS",
    ),
    (
        lambda read: not read("ERPFLOW_DATA_DIR"),
        "SQLite connectors' files would be under this host's var/data/, so a step's rows would depend on the "
        "host that ran it",
        "set ERPFLOW_DATA_DIR to the same folder on storage every host mounts (NFS, a shared volume)",
    ),
)


def one_host_pieces(read: Callable[[str], str | None]) -> list[str]:
    """What the variables ``read`` gives (config.env.env_str: ``NAME_FILE`` secrets included) leave on one
    host, each with its fix."""
    return [f"{why}: {fix}" for lacks, why, fix in _ONE_HOST_PIECES if lacks(read)]


def refuse_one_host_pieces(read: Callable[[str], str | None]) -> None:
    problems = one_host_pieces(read)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ImproperlyConfigured(
            f"ERPFLOW_MULTI_HOST is on, but this configuration assumes one host:\n{listed}\n"
            "(README, 'Production deployment: several hosts')"
        )
