"""The app started exactly as `make run` starts it (bin/run: temp var/, SQLite, filesystem broker, real
worker, beat, gunicorn and mock-sap), and what the tests of that set-up do with it over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRICE_ORDER = {"customer": "Ada", "lines": [{"sku": "A-1", "qty": 2, "price": 9.5}]}


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


class App:
    """One `bin/run` in its own process group, its output in ``var_dir/run.log``."""

    def __init__(self, var_dir: Path, env: dict[str, str]):
        self.var_dir = var_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "ERPFLOW_ENCRYPTION_KEYS")
        }
        self.env.update(
            {
                "ERPFLOW_VAR_DIR": str(var_dir),
                "PORT": str(self.port),
                # mock-sap's default port may be another test's (or a developer's `make run`).
                "ERPFLOW_DEMO_SAP_PORT": str(free_port()),
                "PYTHON": sys.executable,
                "WEB_WORKERS": "1",
                **env,
            }
        )
        self.log = open(var_dir / "run.log", "w+")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            ["bin/run"], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def read_log(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def ctrl_c(self, within: float = 10) -> list[int]:
        """Press Ctrl-C as a terminal does (SIGINT to the whole process group) and wait up to ``within``
        seconds for every process of the session to end; return those still alive then (none is the answer
        a test asserts). Nothing is killed here: a shutdown that hangs is a failure, not something to hide."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
        end = time.monotonic() + within
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.1)
            left = session_members(self.process.pid)
            if (self.process.poll() is not None and not left) or time.monotonic() >= end:
                return left

    def stop(self) -> None:
        """The test's clean-up, whatever happened: Ctrl-C, then SIGKILL for whatever outlived it (a bug the
        tests that assert the shutdown report) so that nothing outlives the test."""
        try:
            self.ctrl_c()
            for pid in session_members(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        finally:
            self.log.close()

    def password(self) -> str:
        return wait_for(
            lambda: (m := re.search(r"Password: (\S+)", self.read_log())) and m.group(1), 120, "demo credentials"
        )

    def healthy(self, timeout: float = 90) -> dict:
        def health():
            try:
                data = json.loads(urllib.request.urlopen(self.base + "/healthz", timeout=5).read())
            except (OSError, ValueError):
                return None
            return data if data["ok"] else None

        return wait_for(health, timeout, "/healthz to answer ok (web server, broker and a worker heartbeat)")

    def token(self) -> str:
        """A new API token of the demo admin that may run flows, issued through the app's manage.py."""
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from accounts.models import ApiToken, Organization\n"
            "org = Organization.objects.get(slug='demo')\n"
            "user = get_user_model().objects.get(username='admin')\n"
            "print(ApiToken.issue(organization=org, user=user, name='test', scopes=['executions:run'])[1])\n"
        )
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def trigger(self, token: str, wait: int = 30) -> tuple[int, dict]:
        """Trigger the demo "price an order" flow through the REST API and wait for its outcome."""
        body = json.dumps({"environment": "sandbox", "payload": PRICE_ORDER, "wait": wait}).encode()
        request = urllib.request.Request(
            self.base + "/api/v1/flows/demo-price-order/executions",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=wait + 15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {"error": exc.read().decode(errors="replace")}
        except OSError as exc:  # refused or timed out: the web server is down or stuck
            return 0, {"error": repr(exc)}


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of a session, from /proc: the tests start bin/run (and bin/supervise.py)
    in a session of its own, which every process it starts stays in, whatever its process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which is in parentheses and may hold spaces: state ppid pgrp session
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            members.append(int(entry.name))
    return members


@contextmanager
def running_app(var_dir: Path, **env: str):
    app = App(var_dir, env)
    try:
        yield app
    finally:
        app.stop()
