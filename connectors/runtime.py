"""Using connectors: a flow step's call, and the connection test of saved or unsaved settings.

``call`` is what ``flows.engine`` runs for a connector step:

1. take the live pool of the connector in the execution's environment (``connectors.pools``:
   opened, with its settings resolved, on first use and after every edit);
2. take a slot under the connector's concurrency limit (``connectors.concurrency``), waiting
   inside the deadline;
3. borrow a connection, waiting inside the same deadline;
4. run the statement with the driver's own time limit set to what is left of the deadline, so a
   timed-out statement is stopped on the server, not abandoned.

``call_many`` is the same for a SQL step with ``for_each_row``: one statement, one set of bound
values per row (``instructions.render.render_rows``), all in one transaction on one connection.

Every error leaves as ``ConnectorError`` (``StepTimeout`` when the deadline passed) with the
settings' secrets masked and its ``failure`` (what a retry policy reads) kept; an unexpected
exception becomes a ConnectorError without one (read as "other"). ``test`` and ``test_connector`` never
raise: a failed test is an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone

from connectors import catalog, concurrency, pools, values
from connectors.catalog.base import ConnectorError, ConnectorType, Deadline, Stage, TestResult
from connectors.catalog.database import BATCH_ROWS
from connectors.models import ConnectorSettings
from core.masking import Masker

logger = logging.getLogger("erpflow.connectors")


def call(connector, environment, text: str, params: dict, deadline: Deadline, options: dict | None = None) -> Any:
    """``options``: the step's options for this type (see ``ConnectorType.step_option_values``)."""
    return _on_connection(
        connector,
        environment,
        deadline,
        options,
        lambda kind, client, checked: kind.execute(client, text, params, deadline, checked),
    )


def call_many(
    connector,
    environment,
    text: str,
    rows: list[dict],
    deadline: Deadline,
    options: dict | None = None,
    *,
    batch_size: int = BATCH_ROWS,
) -> dict:
    """Run ``text`` once per dict of bound values in ``rows``, in one transaction, ``batch_size`` rows per
    round trip: ``{"rows_affected": N, "batches": k}``. An error rolls every row back (and names the
    row where the driver tells); the deadline covers the whole list. No rows: nothing is sent."""
    if not rows:
        return {"rows_affected": 0, "batches": 0}
    return _on_connection(
        connector,
        environment,
        deadline,
        options,
        lambda kind, client, checked: kind.execute_many(client, text, rows, deadline, checked, batch_size),
    )


def _on_connection(
    connector, environment, deadline: Deadline, options: dict | None, work: Callable[[ConnectorType, Any, dict], Any]
) -> Any:
    """``work(type, connection, options)`` on a connection of the live pool, under the concurrency limit."""
    with borrowed(connector, environment, deadline) as (live, client):
        checked, _ = live.connector_type.step_option_values(options)
        return work(live.connector_type, client, checked)


@contextmanager
def borrowed(connector, environment, deadline: Deadline, live=None) -> Iterator[tuple[Any, Any]]:
    """``(live pool, connection)`` under the connector's concurrency limit, both waited for inside the
    deadline; whatever fails inside leaves as a ``ConnectorError`` with the settings' secrets masked."""
    live = live or pools.get(connector, environment)
    try:
        with concurrency.slot(connector, environment, deadline), live.pool.connection(deadline) as client:
            yield live, client
    except ConnectorError as exc:
        exc.args = (live.masker.text(str(exc)),)
        raise exc from None
    except Exception as exc:
        logger.warning("connector %s: unexpected %s", connector.pk, type(exc).__name__)
        raise ConnectorError(live.masker.text(f"{type(exc).__name__}: {exc}")) from None


def test(type_key: str, stored_values: dict, environment) -> TestResult:
    """Test settings in their stored form (as ``connectors.values.clean`` made them), saved or not."""
    try:
        connector_type = catalog.connector_type(type_key)
    except KeyError:
        return TestResult(False, f"Unknown connector type '{type_key}'.", [])
    try:
        resolved = values.resolve(type(connector_type), stored_values, environment)
    except values.SettingsInvalid as invalid:
        problems = "; ".join(f"{name}: {message}" for name, message in invalid.errors.items())
        return TestResult(
            False, f"resolve settings failed: {problems}", [Stage("resolve settings", False, 0.0, problems)]
        )
    except Exception as exc:
        logger.warning("resolving settings for a test failed: %s", type(exc).__name__)
        return TestResult(False, "resolve settings failed: the stored settings cannot be read", [])
    secrets = values.secret_values(type(connector_type), resolved)
    secrets += environment.secret_values() if environment is not None else []
    try:
        outcome = connector_type.test(resolved)
    except Exception as exc:  # a type's test must not raise; if it does, it is still an answer
        logger.warning("connector type %s: test raised %s", type_key, type(exc).__name__)
        outcome = TestResult(False, f"the test could not run: {type(exc).__name__}: {exc}", [])
    return _masked(outcome, Masker(secrets))


def _masked(outcome: TestResult, masker: Masker) -> TestResult:
    return TestResult(
        outcome.ok,
        masker.text(outcome.message),
        [Stage(stage.name, stage.ok, stage.duration_ms, masker.text(stage.message)) for stage in outcome.stages],
    )


def test_connector(connector, environment) -> TestResult:
    """Test a saved connector in one environment and remember the answer on its settings row."""
    row = ConnectorSettings.objects.filter(connector=connector, environment=environment).first()
    if row is None:
        return TestResult(False, f"Connector '{connector.name}' is not configured for '{environment.name}'.", [])
    outcome = test(connector.type_key, row.values, environment)
    ConnectorSettings.objects.filter(pk=row.pk).update(last_test=outcome.as_dict(), last_tested=timezone.now())
    return outcome
