"""Step options: the switches a connector type declares for its steps, checked like its settings."""

from __future__ import annotations

import pytest

from connectors.catalog.base import ConnectorType, Field
from flows import graph as graphs
from tests.flows.builders import graph, sql


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


class Switched(ConnectorType):
    key = "switched"
    label = "Switched"
    step_options = (
        Field("commit", "Commit", kind="bool", default=False),
        Field("retries", "Retries", kind="int", default=1, min=0, max=5),
        Field("mode", "Mode", kind="choice", default="fast", choices=(("fast", "Fast"), ("safe", "Safe"))),
    )


def test_defaults_fill_in_missing_options():
    values, errors = Switched.step_option_values({"commit": True})
    assert errors == {}
    assert values == {"commit": True, "retries": 1, "mode": "fast"}


@pytest.mark.parametrize(
    ("given", "name", "message"),
    [
        ({"commit": "yes"}, "commit", "must be true or false"),
        ({"retries": 9}, "retries", "must be at most 5"),
        ({"retries": True}, "retries", "must be a whole number"),
        ({"mode": "slow"}, "mode", "must be one of fast, safe"),
        ({"colour": "red"}, "colour", "unknown option for a Switched step (options: commit, retries, mode)"),
        ([1], "options", "the options must be an object of option name to value"),
    ],
)
def test_wrong_options_are_named_with_what_is_wrong(given, name, message):
    _, errors = Switched.step_option_values(given)
    assert errors == {name: message}


def test_graph_validation_reports_wrong_options_on_their_step(org, pg, monkeypatch):
    monkeypatch.setattr(type(pg.connector_type), "step_options", Switched.step_options)
    step = sql("a", pg, "SELECT 1", options={"retries": -1, "colour": "red"})
    problems = graphs.validate(graph([step]), org)
    found = {(p.step, p.field, p.message) for p in problems}
    assert found == {
        ("a", "options", "Step 'a': option 'retries': must be at least 0."),
        (
            "a",
            "options",
            "Step 'a': option 'colour': unknown option for a PostgreSQL step (options: commit, retries, mode).",
        ),
    }


def test_a_type_without_options_refuses_any(org, pg):
    step = sql("a", pg, "SELECT 1", options={"commit": True})
    problems = graphs.validate(graph([step]), org)
    assert [p.field for p in problems] == ["options"]
