"""Thread pools whose threads live as long as the process and keep their database connections.

The for-each's helpers and the web process's eager runs use one each: creating threads (and
database connections) per loop or per request would cost more than the work. A thread checks its
connection before each task, as Django does per request, and ``close_connections`` closes them
all (a process shutting down, a test run about to drop its database).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connections

from config.celery import between_tasks

_pools: list[KeptThreads] = []


class KeptThreads:
    def __init__(self, size: int, name: str):
        self.size = size
        self.name = name
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None
        _pools.append(self)

    def submit(self, function, *args) -> Future:
        with self.lock:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix=self.name)
        return self.executor.submit(_checked, function, *args)

    def close_connections(self) -> None:
        """Close every thread's connection; a barrier makes each thread take exactly one of the tasks."""
        with self.lock:
            executor = self.executor
        if executor is None:
            return
        barrier = threading.Barrier(self.size, timeout=5)

        def close() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
            connections.close_all()

        for future in [executor.submit(close) for _ in range(self.size)]:
            future.result()


def _checked(function, *args):
    between_tasks()  # as a request's start: the DEBUG query log forgotten, a broken or aged connection replaced
    return function(*args)


def close_all_connections() -> None:
    for pool in _pools:
        pool.close_connections()
