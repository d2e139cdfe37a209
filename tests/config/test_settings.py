"""Start-up configuration: a bad or missing production variable stops the process, naming it."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = base64.b64encode(os.urandom(32)).decode()
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
    "ERPFLOW_ENCRYPTION_KEYS": KEY,
    "ALLOWED_HOSTS": "erp.example.com",
}


def django_check(tmp_path, env: dict, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("ERPFLOW")}
    base.update({"ERPFLOW_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ERPFLOW_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_required_variable(tmp_path, missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = django_check(tmp_path, env)
    assert result.returncode != 0
    assert f"{missing} is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("ERPFLOW_WORKER_CONCURRENCY", "many", "ERPFLOW_WORKER_CONCURRENCY must be an integer"),
        ("ERPFLOW_WORKER_CONCURRENCY", "0", "ERPFLOW_WORKER_CONCURRENCY must be at least 1"),
        ("DATABASE_URL", "mongodb://localhost/db", "DATABASE_URL has an unsupported scheme"),
        ("ERPFLOW_ENCRYPTION_KEYS", "not-base64!", "key 1 is not valid base64"),
    ],
)
def test_a_bad_value_fails_at_start_up_naming_the_variable(tmp_path, name, value, expected):
    result = django_check(tmp_path, {**PRODUCTION, name: value})
    assert result.returncode != 0
    assert expected in result.stderr


def test_a_secret_can_be_read_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = django_check(tmp_path, {**env, "SECRET_KEY_FILE": str(secret_file)}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_check_deploy_reports_no_warnings_with_production_variables(tmp_path):
    result = django_check(tmp_path, PRODUCTION, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_development_defaults_are_generated_once_into_var(tmp_path):
    first = django_check(tmp_path, {"DEBUG": "1"})
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "secret.key").read_text()
    encryption = (tmp_path / "encryption.key").read_text()
    assert django_check(tmp_path, {"DEBUG": "1"}).returncode == 0
    assert (tmp_path / "secret.key").read_text() == key
    assert (tmp_path / "encryption.key").read_text() == encryption
    assert len(base64.b64decode(encryption)) == 32
