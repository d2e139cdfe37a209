"""``core.ttl_cache``: entries live their seconds, a change drops them, and an expired entry is read
again by one thread while the others keep the expired value."""

from __future__ import annotations

import threading

from core.ttl_cache import TTLCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_its_seconds_and_none_is_cached_too():
    clock, loads = Clock(), []
    cache = TTLCache(1.0, clock=clock)

    def load():
        loads.append(1)
        return None

    assert cache.get("k", load) is None and cache.get("k", load) is None
    assert len(loads) == 1
    clock.now += 1.01
    cache.get("k", load)
    assert len(loads) == 2


def test_forget_drops_one_key_or_all():
    cache = TTLCache(60.0, clock=Clock())
    cache.get("a", lambda: 1), cache.get("b", lambda: 2)
    cache.forget("a")
    assert cache.get("a", lambda: 10) == 10 and cache.get("b", lambda: 20) == 2
    cache.forget()
    assert cache.get("b", lambda: 30) == 30


def test_an_expired_entry_is_read_again_by_one_thread_while_the_others_keep_the_old_value():
    clock = Clock()
    cache = TTLCache(1.0, clock=clock)
    cache.get("k", lambda: "old")
    clock.now += 2
    reading, release, loads = threading.Event(), threading.Event(), []

    def slow_load():
        loads.append(1)
        reading.set()
        release.wait(5)
        return "new"

    loader = threading.Thread(target=lambda: cache.get("k", slow_load))
    loader.start()
    assert reading.wait(5)
    others = [cache.get("k", lambda: loads.append(1) or "also new") for _ in range(5)]
    release.set()
    loader.join(5)

    assert others == ["old"] * 5 and len(loads) == 1
    assert cache.get("k", lambda: "unused") == "new"


def test_a_key_never_loaded_is_loaded_by_every_thread_that_asks():
    """Nothing to answer with meanwhile: the first reads of a key are not held back."""
    cache = TTLCache(1.0, clock=Clock())
    release = threading.Event()
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", lambda: release.wait(5) and "v")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["v", "v", "v"]
