"""Pool figures across processes: the API process answers for pools that live in the workers.

Each process publishes the stats of its pools every ``ERPFLOW_POOL_STATS_SECONDS`` (a report older
than three intervals is ignored, so a process that died drops out), and ``stats(connector,
environment)`` sums them. With Redis the reports are a hash per connector and environment; without
it (``make run``) they are rows of ``PoolReport`` in the database every process shares, so the
embedded default shows the workers' live pools too.

Publishing starts with the first pool a process opens (``connectors.pools.when_opened``, hooked up
when ``ConnectorsConfig.ready`` imports this module), not at start-up: most processes never open
one, and a thread started before a worker forks does not run in it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.redis_client import client as redis_client
from connectors import pools
from connectors.models import PoolReport

logger = logging.getLogger("erpflow.pools")

STATS_KEY = "erpflow:pool-stats:{connector}:{environment}"
PROCESS = f"{socket.gethostname()}:{os.getpid()}"
COUNTS = ("size", "idle", "in_use", "waiting", "opened", "closed", "errors")


def _key(connector_id: int, environment_id: int) -> str:
    return STATS_KEY.format(connector=connector_id, environment=environment_id)


def _expiry() -> float:
    """Seconds after which a report no longer counts: its process stopped publishing."""
    return settings.ERPFLOW_POOL_STATS_SECONDS * 3


def publish() -> None:
    """Write this process's pool stats where the other processes read them: Redis, else the database."""
    live = pools.live_pools()
    client = redis_client()
    if client is None:
        _publish_to_database(live)
        return
    now = time.time()
    with client.pipeline(transaction=False) as pipe:
        for pool in live:
            key = _key(pool.connector_id, pool.environment_id)
            pipe.hset(key, PROCESS, json.dumps({**pool.stats(), "at": now}))
            pipe.expire(key, int(_expiry()))
        pipe.execute()


def _publish_to_database(live: list[pools.LivePool]) -> None:
    """One row per live pool of this process; this process's rows of closed pools and everyone's
    expired rows (processes that ended) go."""
    now = timezone.now()
    for pool in live:
        PoolReport.objects.update_or_create(
            connector_id=pool.connector_id,
            environment_id=pool.environment_id,
            process=PROCESS,
            defaults={"figures": pool.stats(), "at": now},
        )
    PoolReport.objects.filter(process=PROCESS).exclude(at=now).delete()
    PoolReport.objects.filter(at__lt=now - timedelta(seconds=_expiry())).delete()


def _reports(connector_id: int, environment_id: int) -> dict[str, dict]:
    """The recent reports of other processes (and perhaps this one's), by process."""
    client = redis_client()
    if client is None:
        rows = PoolReport.objects.filter(
            connector_id=connector_id,
            environment_id=environment_id,
            at__gte=timezone.now() - timedelta(seconds=_expiry()),
        ).values_list("process", "figures")
        return dict(rows)
    reports = {}
    oldest = time.time() - _expiry()
    try:
        for process, raw in client.hgetall(_key(connector_id, environment_id)).items():
            report = json.loads(raw)
            if report.get("at", 0) >= oldest:
                reports[process.decode() if isinstance(process, bytes) else process] = report
    except Exception as exc:
        logger.warning("could not read pool stats from Redis: %s", type(exc).__name__)
    return reports


def stats(connector, environment) -> dict:
    """Live pool statistics of a connector in an environment, summed over every process that has one.

    ``processes`` says how many processes hold a pool; ``revision`` is the newest one in use.
    """
    connector_id = getattr(connector, "pk", connector)
    environment_id = getattr(environment, "pk", environment)
    reports = _reports(connector_id, environment_id)
    here = {(live.connector_id, live.environment_id): live for live in pools.live_pools()}
    local = here.get((connector_id, environment_id))
    if local is not None:
        reports[PROCESS] = local.stats()
    else:
        reports.pop(PROCESS, None)
    total = dict.fromkeys(COUNTS, 0)
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
    """A daemon thread per process publishing pool stats once it has pools.

    Publishing happens in this thread only, never in the caller's: the caller may be inside a
    transaction that a failed write to the database would spoil.
    """

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.wake = threading.Event()

    def ensure_running(self) -> None:
        """Start the thread if it is not running, and have it publish now: a pool just opened shows at once."""
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="erpflow-pool-stats", daemon=True)
                self.thread.start()
        self.wake.set()

    def loop(self) -> None:
        while True:
            self.wake.wait(settings.ERPFLOW_POOL_STATS_SECONDS)
            self.wake.clear()
            try:
                publish()
            except Exception as exc:
                logger.warning("could not publish pool stats: %s", type(exc).__name__)
            finally:
                connection.close()  # this thread's own connection: a new one next time, never a broken one


pools.when_opened(_Publisher().ensure_running)
