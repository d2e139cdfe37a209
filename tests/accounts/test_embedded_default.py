"""The app started exactly as `make run` starts it: temp var/, SQLite, filesystem broker, real worker."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "ERPFLOW_ENCRYPTION_KEYS")
    }
    env.update({"ERPFLOW_VAR_DIR": str(tmp_path), "PORT": str(port), "PYTHON": sys.executable, "WEB_WORKERS": "1"})
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115 - closed in teardown
    process = subprocess.Popen(
        ["bin/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield port, tmp_path, log
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def read_log(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def test_make_run_serves_the_login_and_the_dashboard(served):
    port, var_dir, log = served
    base = f"http://127.0.0.1:{port}"
    password = wait_for(
        lambda: (m := re.search(r"Password: (\S+)", read_log(log))) and m.group(1), 120, "demo credentials"
    )
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(path):
        try:
            return opener.open(base + path, timeout=5)
        except OSError:
            return None

    login = wait_for(lambda: get("/login/"), 60, "the web server")
    page = login.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrfmiddlewaretoken": csrf})
    dashboard = opener.open(urllib.request.Request(base + "/login/", data=form.encode(), headers={"Referer": base}))
    body = dashboard.read().decode()
    assert dashboard.url.rstrip("/") == base
    assert "Demo Company" in body and "Getting started" in body

    health = wait_for(lambda: _healthy(opener, base), 60, "a worker heartbeat")
    assert health["checks"]["database"]["detail"] == "sqlite"
    assert health["checks"]["broker"]["ok"]
    assert (var_dir / "erpflow.sqlite3").exists()
    assert (var_dir / "encryption.key").exists()


def _healthy(opener, base):
    import json

    try:
        data = json.loads(opener.open(base + "/healthz", timeout=5).read())
    except OSError:
        return None
    return data if data["ok"] else None
