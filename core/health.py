"""/healthz: the database answers, the broker accepts a connection, a worker beats (each worker
records its beat from ``worker_ready`` on)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from celery.signals import worker_ready
from django.conf import settings
from django.db import close_old_connections, connection
from django.http import JsonResponse
from django.utils import timezone

from config.celery import app
from core.models import WorkerHeartbeat


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:
        return False, type(exc).__name__


def check_broker() -> tuple[bool, str]:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "connected"
    except Exception as exc:
        return False, type(exc).__name__


def check_worker() -> tuple[bool, str]:
    horizon = timezone.now() - timedelta(seconds=settings.ERPFLOW_WORKER_HEARTBEAT_SECONDS * 3)
    alive = WorkerHeartbeat.objects.filter(seen__gte=horizon).count()
    return alive > 0, f"{alive} alive"


def report() -> dict:
    checks = {"database": check_database(), "broker": check_broker(), "worker": check_worker()}
    return {
        "ok": all(ok for ok, _ in checks.values()),
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
    }


def healthz(request):
    result = report()
    response = JsonResponse(result, status=200 if result["ok"] else 503)
    # A 503 here is the answer asked for (a worker still starting, say), not a failure of the server:
    # Django would log it as an ERROR line, which a monitor polling this URL would repeat forever.
    response._has_been_logged = True
    return response


@worker_ready.connect
def _start_heartbeat(sender=None, **_):
    start_heartbeat(getattr(sender, "hostname", None) or "worker")


def start_heartbeat(hostname: str) -> threading.Thread:
    """Runs inside a worker process: records that it is alive until the process ends."""

    def loop():
        while True:
            try:
                WorkerHeartbeat.beat(hostname)
            except Exception:  # noqa: S110 - a missed beat is what the health check is for
                pass
            finally:
                close_old_connections()
            time.sleep(settings.ERPFLOW_WORKER_HEARTBEAT_SECONDS)

    thread = threading.Thread(target=loop, name="erpflow-heartbeat", daemon=True)
    thread.start()
    return thread
