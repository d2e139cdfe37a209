"""Several hosts (``ERPFLOW_MULTI_HOST=1``): the defaults that keep state on one host are refused at start-up."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from config.hosts import one_host_pieces
from tests.config.test_settings import ROOT

SHARED = {
    "DATABASE_URL": "postgresql://erpflow@db.internal:5432/erpflow",
    "CELERY_BROKER_URL": "redis://queue.internal:6379/0",
    "REDIS_URL": "redis://queue.internal:6379/1",
    "SECRET_KEY": "a-secret-key-every-host-is-given-the-same-0123456789-abcdefghij",
    "ERPFLOW_ENCRYPTION_KEYS": base64.b64encode(os.urandom(32)).decode(),
    "ERPFLOW_DATA_DIR": "/mnt/shared/erpflow-data",
}


def test_a_configuration_of_shared_services_assumes_nothing_of_one_host():
    assert one_host_pieces(SHARED.get) == []


@pytest.mark.parametrize(
    "name,value,named",
    [
        ("DATABASE_URL", None, "the database is a SQLite file on this host's disk"),
        ("DATABASE_URL", "sqlite:////srv/erpflow.sqlite3", "set DATABASE_URL to the PostgreSQL"),
        ("CELERY_BROKER_URL", None, "the Celery broker is the filesystem transport"),
        ("CELERY_BROKER_URL", "filesystem://", "set CELERY_BROKER_URL to a Redis"),
        ("REDIS_URL", None, "the connector concurrency slots"),
        ("SECRET_KEY", None, "give every host the same SECRET_KEY"),
        ("ERPFLOW_ENCRYPTION_KEYS", None, "give every host the same ERPFLOW_ENCRYPTION_KEYS"),
        ("ERPFLOW_DATA_DIR", None, "set ERPFLOW_DATA_DIR to the same folder on storage every host mounts"),
    ],
)
def test_each_one_host_piece_is_named_with_its_fix(name, value, named):
    env = {**SHARED, name: value}
    problems = one_host_pieces(env.get)
    assert len(problems) == 1
    assert named in problems[0]


def run_check(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SHARED and not k.startswith("ERPFLOW")}
    base.update({"ERPFLOW_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def test_the_make_run_defaults_on_several_hosts_stop_the_process_before_writing_to_var(tmp_path):
    result = run_check(tmp_path, {"ERPFLOW_MULTI_HOST": "1"})
    assert result.returncode != 0
    assert "ERPFLOW_MULTI_HOST is on, but this configuration assumes one host" in result.stderr
    assert result.stderr.count("\n  - ") == 6, result.stderr
    assert not (tmp_path / "var").exists(), "no secret, broker folder or database was created under var/"


def test_secrets_given_as_files_count_as_given(tmp_path):
    (tmp_path / "secret").write_text(SHARED["SECRET_KEY"])
    env = {k: v for k, v in SHARED.items() if k != "SECRET_KEY"}
    result = run_check(tmp_path, {**env, "SECRET_KEY_FILE": str(tmp_path / "secret"), "ERPFLOW_MULTI_HOST": "1"})
    assert result.returncode == 0, result.stderr


def test_the_same_defaults_on_one_host_still_start(tmp_path):
    result = run_check(tmp_path, {"ERPFLOW_MULTI_HOST": "0"})
    assert result.returncode == 0, result.stderr
