"""mock-sap (PyPI) as a real server process on 127.0.0.1, for the tests and the benchmark (``make run``
starts the same mock itself, in ``bin/run``).

mock-sap speaks BAPI/RFC over SOAP and JSON with BAPIRET2 returns, failure injection and latency;
it stands in for an SAP system wherever none is at hand. ``start`` runs it on a free port (or the
one given), waits until ``/_mock/health`` answers, and returns a handle that stops it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SOAP_PATH = "/sap/bc/srt/rfc/sap/erpflow"


def executable() -> list[str]:
    """How to run mock-sap: its console script next to this Python, or ``python -m mocksap``."""
    script = Path(sys.executable).with_name("mock-sap")
    if script.exists():
        return [str(script)]
    found = shutil.which("mock-sap")
    return [found] if found else [sys.executable, "-m", "mocksap"]


@dataclass
class MockSap:
    process: subprocess.Popen
    port: int
    user: str
    password: str
    log: Path | None = None
    client: str = "100"
    extra: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def soap_url(self) -> str:
        return self.base_url + SOAP_PATH

    def control(self, method: str, path: str, json: dict | None = None) -> httpx.Response:
        """A request to the mock's control plane (``/_mock/...``): faults, BAPI behaviour, reset."""
        response = httpx.request(method, self.base_url + path, json=json, timeout=10)
        response.raise_for_status()
        return response

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    *,
    port: int | None = None,
    user: str = "ERPFLOW",
    password: str = "mock-sap-password",  # noqa: S107 - the mock's own throwaway credentials
    args: tuple[str, ...] = (),
    log: Path | None = None,
    wait_seconds: float = 20.0,
) -> MockSap:
    """Start mock-sap requiring basic auth as ``user``; RuntimeError with its output when it does not come up."""
    port = port or free_port()
    command = [*executable(), "--host", "127.0.0.1", "--port", str(port), "--auth", f"{user}:{password}", "-q", *args]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the process owns it until it ends
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - fixed argv
    mock = MockSap(process, port, user, password, log, extra=list(args))
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{mock.base_url}/_mock/health", timeout=1).status_code == 200:
                return mock
        time.sleep(0.1)
    mock.stop()
    detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else "(no log)"
    raise RuntimeError(f"mock-sap did not start on port {port}: {detail}")
