"""The filesystem broker of `make run` with several processes at once: producers (the web server, beat)
writing messages while the worker takes them, and processes binding queues to one exchange together.

kombu's own transport creates a message file (and an exchange table) under its final name before it
writes it, so a reader could take an empty or partial file: the worker then died with "Unrecoverable
error: JSONDecodeError" and the message was lost. These tests race real processes against each other.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from queue import Empty

import pytest
from kombu import Connection

from tests.accounts.embedded import ROOT


def folders(tmp_path) -> dict[str, str]:
    for sub in ("in", "processed", "control"):
        (tmp_path / sub).mkdir()
    return {
        "data_folder_in": str(tmp_path / "in"),
        "data_folder_out": str(tmp_path / "in"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
    }


def connect(options):
    """A connection to ``filesystem://`` as the app's processes make it (they all load config.celery)."""
    return Connection("filesystem://", transport_options=options)


def produce(options, producer: int, count: int) -> None:
    with connect(options) as conn:
        channel = conn.default_channel
        for i in range(count):
            channel._put("q", {"producer": producer, "i": i, "body": "x" * 1000})
            time.sleep(0.001)  # a pace the consumer keeps up with: it meets each file as it appears


def bind(options, i: int, barrier) -> None:
    with connect(options) as conn:
        channel = conn.default_channel
        barrier.wait()
        channel._queue_bind("ex", f"key{i}", None, f"q{i}")


def test_every_message_is_taken_whole_and_once_while_two_processes_write(tmp_path):
    options = folders(tmp_path)
    producers = [multiprocessing.Process(target=produce, args=(options, p, 1000)) for p in range(2)]
    for process in producers:
        process.start()
    taken, errors = [], []
    with connect(options) as conn:
        channel = conn.default_channel
        deadline = time.monotonic() + 60
        while (any(p.is_alive() for p in producers) or channel._size("q")) and time.monotonic() < deadline:
            try:
                message = channel._get("q")
            except Empty:
                continue
            except ValueError as exc:  # JSONDecodeError: the file was read before it was written
                errors.append(exc)
                continue
            taken.append((message["producer"], message["i"]))
    for process in producers:
        process.join(10)
    assert not errors, f"{len(errors)} of 2000 messages were read half-written: {errors[0]!r}"
    assert sorted(taken) == [(p, i) for p in range(2) for i in range(1000)]
    assert not os.listdir(tmp_path / "in"), "nothing is left behind in the queue folder"


@pytest.mark.slow
def test_processes_binding_queues_to_a_new_exchange_together_all_get_bound(tmp_path):
    options = folders(tmp_path)
    context = multiprocessing.get_context("fork")
    for attempt in range(40):
        control = tmp_path / "control"
        for table in control.iterdir():
            table.unlink()
        barrier = context.Barrier(6)
        binders = [context.Process(target=bind, args=(options, i, barrier)) for i in range(6)]
        for process in binders:
            process.start()
        for process in binders:
            process.join(20)
        assert [p.exitcode for p in binders] == [0] * 6, f"a binder failed (attempt {attempt})"
        with connect(options) as conn:
            table = conn.default_channel.get_table("ex")
        assert sorted(q.queue for q in table) == [f"q{i}" for i in range(6)], f"attempt {attempt}"


def test_the_default_broker_url_uses_erpflows_filesystem_transport_and_other_urls_keep_theirs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env["ERPFLOW_VAR_DIR"] = str(tmp_path)
    script = (
        "from config.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        "    print(type(conn.transport).__module__, type(conn.default_channel).__module__)\n"
        "print(app.connection_for_write('redis://127.0.0.1:1/0').transport_cls)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["config.broker", "config.broker", "redis"]
