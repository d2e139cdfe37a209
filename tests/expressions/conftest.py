"""Fixtures of the expression tests: the budget and nesting tests put their expressions into flow steps run
against a real database connector, made as the flow tests make it."""

from __future__ import annotations

from tests.flows.conftest import make_connector  # noqa: F401 - shared with the flow tests
