"""The per-process registry of live connection pools, one per (connector, environment, revision).

``get(connector, environment)`` answers the live pool, opening it on first use: the settings row
is read and resolved (secrets decrypted, ``{{ env.KEY }}`` replaced) only then, not per call. A
connector edited since (a higher revision) gets a fresh pool, and so does one whose settings
resolve differently when they are checked again every ``RECHECK_SECONDS`` (a variable it refers
to changed). The old pool is drained in the background: connections lent out finish their
statement and close when they come back.

The figures of these pools reach other processes through ``connectors.pool_stats``, which is told
of every pool opened here (``when_opened``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors import values
from connectors.catalog.base import ConnectorError, ConnectorType, Pool
from connectors.models import ConnectorSettings
from core.masking import Masker

logger = logging.getLogger("erpflow.pools")

RECHECK_SECONDS = 30.0


@dataclass
class LivePool:
    """One open pool with what the runtime needs next to it."""

    connector_id: int
    environment_id: int
    revision: int
    connector_type: ConnectorType
    pool: Pool
    secrets: list[str] = field(default_factory=list)
    fingerprint: str = ""
    recheck_at: float = field(default_factory=lambda: time.monotonic() + RECHECK_SECONDS)
    masker: Masker = field(init=False)

    def __post_init__(self):
        self.masker = Masker(self.secrets)  # built once: every error of a call through this pool passes it

    def stats(self) -> dict:
        return {**self.pool.stats(), "revision": self.revision}


_live: dict[tuple[int, int], LivePool] = {}
_lock = threading.Lock()
_opening: dict[tuple[int, int], threading.Lock] = {}
_secrets_opening: list[list[str]] = []  # of pools being opened, before they are in ``_live``
_opened_listeners: list[Callable[[], None]] = []


class _MaskDriverLogs(logging.Filter):
    """Drivers log their own connection errors (psycopg_pool retries in the background, with the server's
    message); a secret pasted into another field would reach the log through them, so it is masked there too."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            secrets = [s for live in _live.values() for s in live.secrets] + [s for o in _secrets_opening for s in o]
        if secrets:
            message = record.getMessage()
            masked = Masker(secrets).text(message)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


for _driver_logger in ("psycopg.pool", "psycopg", "oracledb", "pymysql"):
    logging.getLogger(_driver_logger).addFilter(_MaskDriverLogs())


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
        for listener in _opened_listeners:
            listener()
        return fresh


def when_opened(listener: Callable[[], None]) -> None:
    """Call ``listener`` after every pool this process opens (``connectors.pool_stats`` publishes then)."""
    _opened_listeners.append(listener)


def _unchanged(live: LivePool, connector, environment) -> bool:
    """Whether the settings still resolve to those ``live`` was opened with (then recheck later)."""
    live.recheck_at = time.monotonic() + RECHECK_SECONDS
    try:
        *_, resolved = _settings(connector, environment)
    except ConnectorError as problem:  # keep serving with the pool that works; the problem shows on the next open
        logger.warning("connector %s: settings no longer resolve: %s", connector.pk, live.masker.text(str(problem)))
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
        connector_type = current.connector_type
    except KeyError:
        raise ConnectorError(
            f"Connector '{current.name}' has type '{current.type_key}', which this installation does not provide."
        ) from None
    try:
        resolved = values.resolve(type(connector_type), row.values, environment)
    except values.SettingsInvalid as invalid:
        problems = "; ".join(f"{name}: {message}" for name, message in invalid.errors.items())
        raise ConnectorError(
            f"The settings of connector '{current.name}' for '{environment.name}' cannot be used: {problems}"
        ) from None
    return current, connector_type, max(current.revision, connector.revision), resolved


def _open(environment, connector, connector_type: ConnectorType, revision: int, resolved: dict) -> LivePool:
    secrets = values.secret_values(type(connector_type), resolved)
    name = application_name(connector.pk, environment.pk, revision)
    with _lock:
        _secrets_opening.append(secrets)  # until ``get`` puts the pool in ``_live``
    try:
        pool = connector_type.open(resolved, name=name)
    except Exception as exc:
        with _lock:
            _secrets_opening.remove(secrets)
        if isinstance(exc, ConnectorError):
            raise
        text = Masker(secrets).text(str(exc))
        raise ConnectorError(f"The connection pool of '{connector.name}' could not be opened: {text}") from None
    logger.info("opened pool %s (%s)", name, connector_type.key)
    return LivePool(connector.pk, environment.pk, revision, connector_type, pool, secrets, _fingerprint(resolved))


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
