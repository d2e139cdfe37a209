from __future__ import annotations

import base64
import os

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Environment, Variable
from core import crypto

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def raw_value(variable_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM accounts_variable WHERE id = %s", [variable_id])
        return cursor.fetchone()[0]


def test_a_secret_variable_holds_only_ciphertext_in_the_database(org):
    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    variable = Variable(organization=org, environment=sandbox, key="DB_PASSWORD", secret=True)
    variable.set_value("hunter2-very-secret")
    variable.save()
    stored = raw_value(variable.pk)
    assert "hunter2" not in stored
    assert stored.startswith("v1:")
    assert Variable.objects.get(pk=variable.pk).plain_value() == "hunter2-very-secret"


def test_the_same_plaintext_encrypts_differently_each_time():
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_a_tampered_ciphertext_fails_loudly():
    token = crypto.encrypt("payload")
    prefix, kid, body = token.split(":", 2)
    blob = bytearray(base64.urlsafe_b64decode(body))
    blob[-1] ^= 0x01
    tampered = f"{prefix}:{kid}:{base64.urlsafe_b64encode(bytes(blob)).decode()}"
    with pytest.raises(crypto.DecryptionError, match="altered"):
        crypto.decrypt(tampered)


def test_a_ciphertext_moved_to_another_key_id_fails(settings):
    token = crypto.encrypt("payload")
    settings.ERPFLOW_ENCRYPTION_KEYS = [new_key()]
    with pytest.raises(crypto.DecryptionError, match="not in ERPFLOW_ENCRYPTION_KEYS"):
        crypto.decrypt(token)


def test_rotation_reencrypts_and_old_ciphertexts_decrypt_meanwhile(org, settings):
    old = settings.ERPFLOW_ENCRYPTION_KEYS[0]
    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    variable = Variable(organization=org, environment=sandbox, key="TOKEN", secret=True)
    variable.set_value("s3cr3t")
    variable.save()
    before = raw_value(variable.pk)

    settings.ERPFLOW_ENCRYPTION_KEYS = [new_key(), old]
    assert Variable.objects.get(pk=variable.pk).plain_value() == "s3cr3t"
    assert crypto.needs_rotation(before)

    call_command("rotate_encryption_key", stdout=open(os.devnull, "w"))  # noqa: SIM115
    after = raw_value(variable.pk)
    assert after != before
    assert not crypto.needs_rotation(after)

    settings.ERPFLOW_ENCRYPTION_KEYS = settings.ERPFLOW_ENCRYPTION_KEYS[:1]
    assert Variable.objects.get(pk=variable.pk).plain_value() == "s3cr3t"


def test_a_key_of_the_wrong_length_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.ERPFLOW_ENCRYPTION_KEYS = [base64.b64encode(b"short").decode()]
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        crypto.encrypt("x")
