"""A small in-process cache whose entries live a short time: what a hot path reads on every request
and may see at most ``seconds`` late from another process.

Changes made in this process drop their entries at once (``forget``, wired to model signals by the
apps that use a cache); another process sees them when the entry expires. With a TTL of one second
that is the promise the trigger path makes: a revoked token, a new role or a new deployment takes
effect everywhere within a second, at the cost of one read per key per process per second.
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

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``load()``'s (cached, None included) when absent or expired."""
        now = self.clock()
        found = self.entries.get(key, MISSING)
        if found is not MISSING and found[0] > now:
            return found[1]
        value = load()
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
