"""Fixtures of the configuration tests."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def second_connection():
    """A connection of the test database of its own, open as a web or worker thread's would be, with
    nothing an earlier test ran on it."""
    other = connection.copy()
    other.ensure_connection()
    yield other
    other.close()
