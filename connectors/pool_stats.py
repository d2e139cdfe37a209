"""Pool figures across processes: the API process answers for pools that live in the workers.

Each process publishes the stats of its pools to Redis every ``ERPFLOW_POOL_STATS_SECONDS`` (with
a short expiry, so a process that died drops out), and ``stats(connector, environment)`` sums
them. Without Redis only this process's pools count.

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

from django.conf import settings

from config.redis_client import client as redis_client
from connectors import pools

logger = logging.getLogger("erpflow.pools")

STATS_KEY = "erpflow:pool-stats:{connector}:{environment}"
PROCESS = f"{socket.gethostname()}:{os.getpid()}"
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
        for live in pools.live_pools():
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
    """A daemon thread per process publishing pool stats once it has pools."""

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the thread if it is not running, and publish now: a pool just opened shows at once."""
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


pools.when_opened(_Publisher().ensure_running)
