"""A small in-process cache whose entries live a short time: what a hot path reads on every request
and may see at most ``seconds`` late from another process.

Changes made in this process drop their entries at once (``forget``, wired to model signals by the
apps that use a cache); another process sees them when the entry expires. With a TTL of one second
that is the promise the trigger path makes: a revoked token, a new role or a new deployment takes
effect everywhere within a second, at the cost of one read per key per process per second.

When an entry expires under load, one thread reads it again while the others keep answering with
the expired value for the few milliseconds that takes: otherwise every thread of the process would
miss at the same instant and read the same row (a stampede, several reads per key each second).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

MISSING = object()


class TTLCache:
    def __init__(self, seconds: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self.lock = threading.Lock()
        self.entries: dict[Hashable, tuple[float, Any]] = {}
        self.loading: set[Hashable] = set()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``load()``'s (cached, None included) when absent or expired;
        the expired value while another thread is reading it again."""
        now = self.clock()
        found = self.entries.get(key, MISSING)
        if found is not MISSING and found[0] > now:
            return found[1]
        with self.lock:
            if found is not MISSING and key in self.loading:
                return found[1]
            self.loading.add(key)
        try:
            value = load()
        finally:
            with self.lock:
                self.loading.discard(key)
        with self.lock:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[key] = (now + self.seconds, value)
        return value

    def forget(self, key: Hashable | None = None) -> None:
        """Drop ``key``'s entry, or every entry."""
        with self.lock:
            if key is None:
                self.entries.clear()
            else:
                self.entries.pop(key, None)
