"""Fixtures of the audit log tests: the security tests' organization with one of everything, whose
creation fills the audit log the tests read."""

from __future__ import annotations

from tests.security.conftest import world  # noqa: F401 - shared with the security tests
