"""`make run` stays up: bin/run supervises its children, restarting one that dies, and stops them all
(nothing left behind) only when told to. The first tests drive bin/supervise.py alone with small shell
children; the others start the app exactly as `make run` does."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.accounts.embedded import ROOT, running_app, session_members, wait_for

SUPERVISE = ROOT / "bin" / "supervise.py"


def load_supervise():
    spec = importlib.util.spec_from_file_location("supervise", SUPERVISE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:  # gone meanwhile
        return ""


def started_pids(log: str, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", log)]


@pytest.fixture
def supervise(tmp_path):
    """``supervise(*args)``: bin/supervise.py in its own process group, its output in a file; stopped afterwards."""
    started = []

    def start(*args: str):
        log = open(tmp_path / f"supervise-{len(started)}.log", "w+")  # noqa: SIM115 - closed below
        grace = [*args[:2]] if args[:1] == ("--grace",) else []
        process = subprocess.Popen(
            [sys.executable, str(SUPERVISE), *grace],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.stdin.write(b"".join(arg.encode() + b"\0" for arg in args[len(grace) :]))
        process.stdin.close()
        started.append((process, log))

        def read() -> str:
            log.flush()
            log.seek(0)
            return log.read()

        return process, read

    yield start
    for process, log in started:
        for pid in session_members(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.wait(5)
        log.close()


def test_back_off_doubles_from_one_second_to_thirty_and_resets_after_a_stable_run():
    next_delay = load_supervise().next_delay
    delays = [0.0]
    for _ in range(7):
        delays.append(next_delay(delays[-1], uptime=0.5))
    assert delays[1:] == [1, 2, 4, 8, 16, 30, 30]
    assert next_delay(30, uptime=120) == 1, "a child that stayed up a while starts the back-off over"


@pytest.mark.slow
def test_a_child_that_dies_is_restarted_and_the_others_keep_running(supervise):
    process, read = supervise("steady", "sleep", "60", "---", "flaky", "sh", "-c", "exit 3")
    log = wait_for(lambda: (text := read()).count("restarting it in") >= 3 and text, 20, "three restarts")
    assert re.search(r"flaky \(pid \d+\) exited with status 3 after [\d.]+ s; restarting it in 1 s", log)
    assert re.search(r"flaky \(pid \d+\) exited with status 3 after [\d.]+ s; restarting it in 2 s", log)
    assert re.search(r"flaky \(pid \d+\) exited with status 3 after [\d.]+ s; restarting it in 4 s", log)
    assert len(started_pids(log, "steady")) == 1, "the other child was left alone"
    assert process.poll() is None, "the supervisor stays up"


def test_sigterm_stops_every_child_and_kills_one_that_ignores_it_after_the_grace(supervise):
    process, read = supervise(
        "--grace", "2", "polite", "sleep", "60", "---", "stubborn", "sh", "-c", "trap '' TERM; sleep 60"
    )
    wait_for(lambda: "started stubborn" in read() and "started polite" in read(), 10, "both children")
    children = [pid for pid in session_members(process.pid) if pid != process.pid]
    assert len(children) >= 2
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert re.search(r"stubborn \(pid \d+\) did not stop within 2 s; killing it", read())
    assert not session_members(process.pid), "no child outlives the supervisor"


@pytest.mark.slow
def test_make_run_restarts_a_killed_worker_and_flows_run_again(tmp_path):
    with running_app(tmp_path) as app:
        app.healthy()
        token = app.token()
        code, execution = app.trigger(token)
        assert (code, execution["status"]) == (200, "succeeded"), execution

        log = app.read_log()
        worker, web, beat = (started_pids(log, name) for name in ("worker", "web", "beat"))
        assert len(worker) == 1, log
        # As a person would (`pkill -9 -f "celery -A config worker"`): every process whose command line
        # says so, which must be the worker alone, not the supervisor that starts it.
        matching = [pid for pid in session_members(app.process.pid) if "celery -A config worker" in command_line(pid)]
        assert matching == worker, matching
        os.kill(worker[0], signal.SIGKILL)

        log = wait_for(lambda: len(started_pids(text := app.read_log(), "worker")) == 2 and text, 30, "a new worker")
        assert re.search(rf"worker \(pid {worker[0]}\) was killed by SIGKILL after [\d.]+ s; restarting it in 1 s", log)
        assert app.process.poll() is None, "bin/run is still up"
        assert (started_pids(log, "web"), started_pids(log, "beat")) == (web, beat), "the others were left alone"

        code, execution = app.trigger(token)
        assert (code, execution["status"]) == (200, "succeeded"), execution
        assert execution["output"]["total"] == 19


@pytest.mark.slow
def test_sigterm_to_make_run_stops_every_child(tmp_path):
    with running_app(tmp_path) as app:
        app.healthy()
        members = session_members(app.process.pid)
        # bin/run (the supervisor), the worker, beat, gunicorn and its worker, mock-sap
        assert len(members) >= 6, members
        app.process.send_signal(signal.SIGTERM)
        app.process.wait(30)
        left = [pid for pid in members if pid in session_members(app.process.pid)]
        assert not left, f"processes left behind: {left}"


@pytest.mark.slow
def test_ten_clients_for_a_minute_on_the_filesystem_broker(tmp_path):
    """The load under which the worker once died with "Unrecoverable error: JSONDecodeError" (a message
    file read while it was being written): ten clients trigger the demo flow over REST for 60 s."""
    clients, seconds = 10, 60
    unlimited = {"ERPFLOW_RATE_LIMIT_ORGANIZATION": "1000000", "ERPFLOW_RATE_LIMIT_TOKEN": "1000000"}
    with running_app(tmp_path, WEB_WORKERS="2", **unlimited) as app:
        app.healthy()
        token = app.token()
        results: list[tuple[int, str, float]] = []
        lock = threading.Lock()
        end = time.monotonic() + seconds

        def client():
            while time.monotonic() < end:
                began = time.monotonic()
                code, execution = app.trigger(token)
                with lock:
                    results.append((code, execution.get("status", "?"), time.monotonic() - began))
                if code == 0:
                    time.sleep(0.5)  # the server is gone: count the failure, do not spin

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        log = app.read_log()

    failures = [(code, status) for code, status, _ in results if (code, status) != (200, "succeeded")]
    times = sorted(t for *_, t in results) or [0.0]
    print(
        f"\n[load] {clients} clients x {seconds} s on make run's filesystem broker: executions={len(results)} "
        f"failures={len(failures)} worker starts={len(started_pids(log, 'worker'))} "
        f"unrecoverable errors={log.count('Unrecoverable error')} "
        f"p50={times[len(times) // 2]:.2f} s max={times[-1]:.2f} s",
        flush=True,
    )
    assert "Unrecoverable error" not in log
    assert not failures, failures[:10]
    assert len(started_pids(log, "worker")) == 1, "the same worker process served the whole minute"
    assert len(results) >= clients * 10


def test_make_run_stops_at_once_saying_so_when_its_port_is_taken(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
        env.update({"PYTHON": sys.executable, "PORT": str(port), "ERPFLOW_VAR_DIR": str(tmp_path)})
        done = subprocess.run([str(ROOT / "bin" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "in use" in done.stderr
    assert not (tmp_path / "erpflow.sqlite3").exists(), "nothing was set up before the refusal"
