"""How a trigger with ``wait`` learns that its execution finished (``flows.notify``), on the real Redis.

One subscription per process serves every waiter; a waiter wakes for its own execution only, and
the database stays the truth: a finish whose message never arrives is still seen.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from config import redis_client
from flows import notify
from flows.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_notify(settings, redis_url, monkeypatch):
    settings.REDIS_URL = redis_url
    monkeypatch.setattr(redis_client, "_client", None)
    yield
    if notify._listener is not None:
        notify._listener.stopped.set()


def finish(execution: Execution, *, publish: bool = True) -> None:
    Execution.objects.filter(pk=execution.pk).update(status="succeeded", finished=timezone.now())
    if publish:
        notify.publish_finished(execution.pk)


def wait_in_thread(execution: Execution, timeout: float) -> tuple[threading.Thread, list]:
    result: list = []

    def run() -> None:
        try:
            result.append(notify.wait_finished(execution.pk, timeout))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_each_waiter_wakes_for_its_own_execution_only(redis_notify, deployed, execution_of):
    first, second = execution_of(deployed), execution_of(deployed)
    waiting_first, first_result = wait_in_thread(first, 20)
    waiting_second, second_result = wait_in_thread(second, 20)
    finish(first)
    waiting_first.join(20)
    assert first_result == [True]
    assert waiting_second.is_alive(), "the other execution is still running, so its waiter still waits"
    finish(second)
    waiting_second.join(20)
    assert second_result == [True]


def test_waiters_share_the_process_subscription(redis_notify, deployed, execution_of):
    executions = [execution_of(deployed) for _ in range(5)]
    threads = [wait_in_thread(execution, 20) for execution in executions]
    listener = notify._listening()
    for execution in executions:
        finish(execution)
    for thread, result in threads:
        thread.join(20)
        assert result == [True]
    assert notify._listening() is listener
    assert listener.ready.is_set()


def test_a_finish_whose_message_is_lost_is_still_seen_in_the_database(redis_notify, deployed, execution_of):
    execution = execution_of(deployed)
    waiting, result = wait_in_thread(execution, 10)
    finish(execution, publish=False)
    waiting.join(10)
    assert result == [True]


def test_a_waiter_whose_execution_does_not_finish_gives_up_with_false(redis_notify, deployed, execution_of):
    assert notify.wait_finished(execution_of(deployed).pk, 1) is False


def test_without_redis_the_waiter_polls_the_database(settings, monkeypatch, deployed, execution_of):
    settings.REDIS_URL = None
    monkeypatch.setattr(redis_client, "_client", None)
    execution = execution_of(deployed)
    waiting, result = wait_in_thread(execution, 10)
    finish(execution)
    waiting.join(10)
    assert result == [True]
