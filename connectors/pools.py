"""The per-process registry of live connection pools, one per (connector, environment, revision).

``get(connector, environment)`` answers the live pool, opening it on first use: the settings row
is read and resolved (secrets decrypted, ``{{ env.KEY }}`` replaced) only then, not per call. A
connector edited since (a higher revision) gets a fresh pool, and so does one whose settings
resolve differently when they are checked again every ``RECHECK_SECONDS`` (a variable it refers
to changed). The old pool is drained in the background: connections lent out finish their
statement and close when they come back.

Each process publishes the stats of its pools to Redis every ``ERPFLOW_POOL_STATS_SECONDS`` (with
a short expiry, so a process that died drops out), and ``stats(connector, environment)`` sums
them, so the API process shows the workers' pools. Without Redis only this process's pools count.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from config.redis_client import client as redis_client
from connectors import values
from connectors.catalog.base import ConnectorError, ConnectorType, Pool, pool_stats
from connectors.models import ConnectorSettings
from core.masking import MASK

logger = logging.getLogger("erpflow.pools")

STATS_KEY = "erpflow:pool-stats:{connector}:{environment}"
RECHECK_SECONDS = 30.0
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class LivePool:
    """One open pool with what the runtime needs next to it."""

    connector_id: int
    environment_id: int
    revision: int
    kind: ConnectorType
    pool: Pool
    secrets: list[str] = field(default_factory=list)
    fingerprint: str = ""
    recheck_at: float = field(default_factory=lambda: time.monotonic() + RECHECK_SECONDS)

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def stats(self) -> dict:
        return {**self.pool.stats(), "revision": self.revision}


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by the mask."""

    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


_live: dict[tuple[int, int], LivePool] = {}
_lock = threading.Lock()
_opening: dict[tuple[int, int], threading.Lock] = {}
_secrets_opening: list[list[str]] = []  # of pools being opened, before they are in ``_live``


class _ScrubDriverLogs(logging.Filter):
    """Drivers log their own connection errors (psycopg_pool retries in the background, with the server's
    message); a secret pasted into another field would reach the log through them, so it is masked there too."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            secrets = [s for live in _live.values() for s in live.secrets] + [s for o in _secrets_opening for s in o]
        if secrets:
            message = record.getMessage()
            scrubbed = scrub(message, secrets)
            if scrubbed != message:
                record.msg, record.args = scrubbed, ()
        return True


for _driver_logger in ("psycopg.pool", "psycopg", "oracledb", "pymysql"):
    logging.getLogger(_driver_logger).addFilter(_ScrubDriverLogs())


def application_name(connector_id: int, environment_id: int, revision: int) -> str:
    """How the pool's connections are marked on the server (PostgreSQL's application_name, ...)."""
    return f"erpflow c{connector_id} e{environment_id} r{revision}"


def get(connector, environment) -> LivePool:
    """The live pool of ``connector`` in ``environment``; ConnectorError when it cannot be opened.

    Every ``RECHECK_SECONDS`` one caller resolves a live pool's settings again (one query or two;
    callers arriving meanwhile wait for it): when a referenced variable changed, it gets a fresh pool.
    """
    key = (connector.pk, environment.pk)
    live = _live.get(key)
    if live is not None and live.revision >= connector.revision and time.monotonic() < live.recheck_at:
        return live
    _sweep()
    with _lock:
        opening = _opening.setdefault(key, threading.Lock())
    with opening:  # one thread opens or rechecks; the others wait and take its pool
        live = _live.get(key)
        current = live is not None and live.revision >= connector.revision
        if current and (time.monotonic() < live.recheck_at or _unchanged(live, connector, environment)):
            return live
        fresh = _open(environment, *_settings(connector, environment))
        with _lock:
            old = _live.get(key)
            _live[key] = fresh
            _secrets_opening.remove(fresh.secrets)
        if old is not None:
            _drain(old)
        _publisher.ensure_running()
        return fresh


def _unchanged(live: LivePool, connector, environment) -> bool:
    """Whether the settings still resolve to those ``live`` was opened with (then recheck later)."""
    live.recheck_at = time.monotonic() + RECHECK_SECONDS
    try:
        *_, resolved = _settings(connector, environment)
    except ConnectorError as problem:  # keep serving with the pool that works; the problem shows on the next open
        logger.warning("connector %s: settings no longer resolve: %s", connector.pk, live.scrub(str(problem)))
        return True
    return _fingerprint(resolved) == live.fingerprint


def _fingerprint(resolved: dict) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


def _settings(connector, environment) -> tuple:
    """(connector as stored now, its type, the revision, the resolved settings) for ``environment``."""

    row = (
        ConnectorSettings.objects.filter(connector_id=connector.pk, environment=environment)
        .select_related("connector")
        .first()
    )
    if row is None:
        raise ConnectorError(
            f"Connector '{connector.name}' is not configured for the '{environment.name}' environment."
        )
    current = row.connector
    try:
        kind = current.type
    except KeyError:
        raise ConnectorError(
            f"Connector '{current.name}' has type '{current.type_key}', which this installation does not provide."
        ) from None
    try:
        resolved = values.resolve(type(kind), row.values, environment)
    except values.SettingsInvalid as invalid:
        problems = "; ".join(f"{name}: {message}" for name, message in invalid.errors.items())
        raise ConnectorError(
            f"The settings of connector '{current.name}' for '{environment.name}' cannot be used: {problems}"
        ) from None
    return current, kind, max(current.revision, connector.revision), resolved


def _open(environment, connector, kind: ConnectorType, revision: int, resolved: dict) -> LivePool:

    secrets = values.secret_values(type(kind), resolved)
    name = application_name(connector.pk, environment.pk, revision)
    with _lock:
        _secrets_opening.append(secrets)  # until ``get`` puts the pool in ``_live``
    try:
        pool = kind.open(resolved, name=name)
    except Exception as exc:
        with _lock:
            _secrets_opening.remove(secrets)
        if isinstance(exc, ConnectorError):
            raise
        text = scrub(str(exc), secrets)
        raise ConnectorError(f"The connection pool of '{connector.name}' could not be opened: {text}") from None
    logger.info("opened pool %s (%s)", name, kind.key)
    return LivePool(connector.pk, environment.pk, revision, kind, pool, secrets, _fingerprint(resolved))


def _drain(live: LivePool) -> None:
    """Close an outdated pool without blocking the caller that replaced it."""
    threading.Thread(target=_close_quietly, args=(live,), name="erpflow-pool-drain", daemon=True).start()


def _close_quietly(live: LivePool) -> None:
    try:
        live.pool.close()
    except Exception as exc:
        logger.warning("closing pool of connector %s failed: %s", live.connector_id, type(exc).__name__)


def close_all() -> None:
    """Close every pool of this process and wait for it (tests, process shutdown)."""
    with _lock:
        gone = list(_live.values())
        _live.clear()
    for live in gone:
        _close_quietly(live)


_swept_at = time.monotonic()


def _sweep() -> None:
    """``close_orphans`` at most every ``RECHECK_SECONDS``, in a thread that uses pools (so it sees their rows)."""
    global _swept_at
    if time.monotonic() - _swept_at < RECHECK_SECONDS:
        return
    _swept_at = time.monotonic()
    try:
        close_orphans()
    except Exception as exc:
        logger.warning("could not look for pools to close: %s", type(exc).__name__)


def close_orphans() -> int:
    """Close the pools of connectors deleted, taken out of an environment or edited since they opened.

    A worker that never calls such a connector again would otherwise keep its idle connections open
    on the server until the process ends. Answers how many pools it closed.
    """

    live = live_pools()
    if not live:
        return 0
    current = {
        (connector_id, environment_id): revision
        for connector_id, environment_id, revision in ConnectorSettings.objects.filter(
            connector_id__in={pool.connector_id for pool in live}
        ).values_list("connector_id", "environment_id", "connector__revision")
    }
    closed = 0
    for pool in live:
        key = (pool.connector_id, pool.environment_id)
        if key in current and current[key] <= pool.revision:
            continue
        with _lock:
            if _live.get(key) is not pool:
                continue
            del _live[key]
        _close_quietly(pool)
        logger.info("closed the pool of connector %s: deleted or changed since it opened", pool.connector_id)
        closed += 1
    return closed


def live_pools() -> list[LivePool]:
    with _lock:
        return list(_live.values())


# -- statistics across processes ----------------------------------------------------------------

COUNTS = ("size", "idle", "in_use", "waiting", "opened", "closed", "errors")


def _key(connector_id: int, environment_id: int) -> str:
    return STATS_KEY.format(connector=connector_id, environment=environment_id)


def publish() -> None:
    """Write this process's pool stats to Redis (one hash per connector and environment)."""
    client = redis_client()
    if client is None:
        return
    interval = settings.ERPFLOW_POOL_STATS_SECONDS
    now = time.time()
    with client.pipeline(transaction=False) as pipe:
        for live in live_pools():
            key = _key(live.connector_id, live.environment_id)
            pipe.hset(key, PROCESS, json.dumps({**live.stats(), "at": now}))
            pipe.expire(key, interval * 3)
        pipe.execute()


def stats(connector, environment) -> dict:
    """Live pool statistics of a connector in an environment, summed over every process that has one.

    ``processes`` says how many processes hold a pool; ``revision`` is the newest one in use.
    """
    connector_id = getattr(connector, "pk", connector)
    environment_id = getattr(environment, "pk", environment)
    reports: dict[str, dict] = {}
    client = redis_client()
    if client is not None:
        key = _key(connector_id, environment_id)
        oldest = time.time() - settings.ERPFLOW_POOL_STATS_SECONDS * 3
        try:
            for process, raw in client.hgetall(key).items():
                report = json.loads(raw)
                if report.get("at", 0) >= oldest:
                    reports[process.decode() if isinstance(process, bytes) else process] = report
        except Exception as exc:
            logger.warning("could not read pool stats from Redis: %s", type(exc).__name__)
    local = _live.get((connector_id, environment_id))
    if local is not None:
        reports[PROCESS] = local.stats()
    else:
        reports.pop(PROCESS, None)
    total = pool_stats()
    total.pop("min_idle"), total.pop("max_size")
    for report in reports.values():
        for name in COUNTS:
            total[name] += int(report.get(name, 0))
    newest = max(reports.values(), key=lambda r: r.get("revision", 0), default={})
    return {
        **total,
        "processes": len(reports),
        "revision": newest.get("revision"),
        "min_idle": newest.get("min_idle"),
        "max_size": newest.get("max_size"),
    }


class _Publisher:
    """A daemon thread per process publishing pool stats while it has pools."""

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        if not getattr(settings, "REDIS_URL", None):
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="erpflow-pool-stats", daemon=True)
                self.thread.start()
        try:
            publish()
        except Exception as exc:
            logger.warning("could not publish pool stats: %s", type(exc).__name__)

    def loop(self) -> None:
        while True:
            time.sleep(settings.ERPFLOW_POOL_STATS_SECONDS)
            try:
                publish()
            except Exception as exc:
                logger.warning("could not publish pool stats: %s", type(exc).__name__)


_publisher = _Publisher()
