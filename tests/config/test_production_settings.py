"""Production start-up: `check --deploy` silent with production variables, a weak or shared key refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.config.test_settings import PRODUCTION, ROOT, django_check


def test_check_deploy_gives_no_warning_with_production_variables(tmp_path):
    result = django_check(tmp_path, PRODUCTION, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "key,reason",
    [
        ("django-insecure-" + "k" * 60, "well-known placeholder"),
        ("change-me-" + "abcdefghij" * 6, "well-known placeholder"),
        ("short-but-random-Q2x9", "too weak"),
        ("ab" * 40, "too weak"),
    ],
)
def test_production_refuses_a_weak_or_placeholder_secret_key(tmp_path, key, reason):
    result = django_check(tmp_path, {**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert f"SECRET_KEY is {'a ' if 'placeholder' in reason else ''}{reason}" in result.stderr


def test_development_accepts_any_key(tmp_path):
    assert django_check(tmp_path, {"DEBUG": "1", "SECRET_KEY": "dev"}).returncode == 0


def test_production_sets_strict_transport_and_secure_cookies(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("ERPFLOW")}
    env.update({"ERPFLOW_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **PRODUCTION})
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "True", "True", "True"], result.stderr
