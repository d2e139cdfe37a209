"""Without the suite's PostgreSQL, a test that needs the database skips with how to start the server,
and fails under CI=true, like every other service the suite uses (README, "Tests")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_a_database_test(ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{closed_port()}/erpflow"
    if ci:
        env["CI"] = "true"
    test = "tests/accounts/test_tokens.py"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test, "-k", "scope", "-x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["outside CI", "CI"])
def test_a_missing_suite_database_skips_with_advice_outside_ci_and_fails_in_ci(ci):
    done = run_a_database_test(ci)
    assert "pg_ctlcluster" in done.stdout, done.stdout[-2000:]
    if ci:
        assert done.returncode != 0 and "error" in done.stdout.splitlines()[-1], done.stdout[-2000:]
    else:
        assert done.returncode == 0 and "skipped" in done.stdout.splitlines()[-1], done.stdout[-2000:]
