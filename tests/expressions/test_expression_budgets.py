"""CPU and memory bombs in expressions stop at their budget, as a step error, within the step's timeout.

Each bomb runs for seconds (or builds hundreds of megabytes) without a budget; with one, a step with
a 1000 ms timeout fails in well under the unbounded time and says which budget it exceeded. The
flows are run as a user runs them: the draft's Run button (``POST /api/v1/flows/{slug}/run/``),
then the engine as a worker would.
"""

from __future__ import annotations

import time

import pytest

from expressions.mapping import evaluate_mapping
from expressions.properties import properties
from expressions.sandbox import ExpressionError, evaluate
from flows import engine
from flows.models import Execution, Flow, StepRun
from tests.flows.builders import graph, mapping, sql

pytestmark = pytest.mark.django_db

# Without budgets each of these takes seconds or builds 100 MB or more (measured on this machine).
JINJA_BOMBS = {
    "nested powers": "(9**999)**999",
    "ljust": "'a'.ljust(10**8)",
    "format width": "'{:100000000}'.format(1)",
    "percent width": "'%100000000d' % 1",
    "join filter past the repeat cap": "('a' * 1000000)|list|join('x' * 100)",
    "str.join past the repeat cap": "('x' * 100).join('a' * 1000000)",
    "replace": "('a' * 1000000).replace('a', 'bbbbbbbbbb' * 100)",
    "center": "'a'.center(10**8)",
    "zfill": "'1'.zfill(10**8)",
    "expandtabs": "('\\t' * 1000).expandtabs(10**6)",
    "format filter width": "'%100000000s'|format('a')",
    "pure-Python loop over filters": (
        "((range(100000)|list) * 9)|map('string')|map('int')|map('string')|map('int')|list|length"
    ),
}
MAPPING_BOMBS = {
    "range length": "$sum([1..10000000])",
    "catastrophic regex": '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a|a)+$/)',
    "catastrophic regex in replace": '$replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a|a)+$/, "x")',
    "catastrophic regex in split": '$split("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a|a)+$/)',
    "padding": '$pad("", 100000000)',
}


@pytest.fixture
def context():
    return properties(env={}, trigger={"payload": {"name": "x"}}, steps={}, execution_id=1)


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


def run_draft(api, org, steps: list[dict]) -> tuple[Execution, float]:
    """Save ``steps`` as a draft, press Run through the API and run the execution; with the seconds it took."""
    flow = Flow.objects.create(organization=org, name="Bombs", slug="bombs")
    response = api.put(f"/api/v1/flows/{flow.slug}/draft/", graph(steps), format="json")
    assert response.status_code == 200, response.json()
    response = api.post(f"/api/v1/flows/{flow.slug}/run/", {"payload": {"name": "x"}}, format="json")
    assert response.status_code == 202, response.json()
    started = time.monotonic()
    execution = engine.run(response.json()["id"])
    return execution, time.monotonic() - started


@pytest.mark.parametrize("expression", JINJA_BOMBS.values(), ids=JINJA_BOMBS.keys())
def test_a_jinja_bomb_in_a_sql_step_fails_the_step_with_the_budget_error(api, org, pg, expression):
    execution, seconds = run_draft(api, org, [sql("q", pg, "SELECT {{ " + expression + " }} AS v", timeout_ms=1000)])
    record = StepRun.objects.get(execution=execution)
    assert execution.status == Execution.Status.FAILED
    assert record.status in (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT)
    assert "exceeded its" in record.error and "budget" in record.error, record.error
    assert seconds < 5, f"stopped after {seconds:.1f} s"


@pytest.mark.parametrize("expression", MAPPING_BOMBS.values(), ids=MAPPING_BOMBS.keys())
def test_a_jsonata_bomb_in_a_mapping_step_fails_the_step_with_the_budget_error(api, org, expression):
    execution, seconds = run_draft(api, org, [mapping("m", expression, timeout_ms=1000)])
    record = StepRun.objects.get(execution=execution)
    assert execution.status == Execution.Status.FAILED
    assert record.status in (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT)
    assert "exceeded its" in record.error and "budget" in record.error, record.error
    assert seconds < 5, f"stopped after {seconds:.1f} s"


def test_a_regex_that_backtracked_for_minutes_with_re_now_answers_at_once(api, org):
    # Python's re backtracks on this for minutes; the regex module matches it without backtracking.
    execution, seconds = run_draft(
        api, org, [mapping("m", '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)', timeout_ms=1000)]
    )
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert seconds < 5


def test_the_budget_message_says_what_was_exceeded(context):
    from expressions import budgets

    with pytest.raises(ExpressionError, match=r"exceeded its size budget: .*integer"):
        evaluate("(9**999)**999", context)
    with pytest.raises(ExpressionError, match=r"exceeded its size budget: .*1,000,000 characters"):
        evaluate("'a'.ljust(10**8)", context)
    with pytest.raises(ExpressionError, match=r"exceeded its size budget: .*range of more than 100,000 items"):
        evaluate("range(10**7)|sum", context)
    with pytest.raises(ExpressionError, match=r"format width would build text of about 100,000,000 characters"):
        evaluate("'{:100000000}'.format(1)", context)
    with pytest.raises(ExpressionError, match=r"exceeded its time budget"), budgets.time_budget(200):
        evaluate(JINJA_BOMBS["pure-Python loop over filters"], context)


def test_a_mapping_range_over_the_cap_names_the_cap():
    with pytest.raises(ExpressionError, match=r"exceeded its size budget: .*range of more than 100,000 items"):
        evaluate_mapping("$sum([1..100001])", {}, 1000)
    assert evaluate_mapping("$sum([1..100000])", {}, 5000) == 5000050000


def test_expressions_within_the_budgets_still_work(context):
    assert evaluate("2 ** 64", context) == 18446744073709551616
    assert evaluate("'a'.ljust(5, '.')", context) == "a...."
    assert evaluate("'{:>6}'.format('ab')", context) == "    ab"
    assert evaluate("'%05d' % 42", context) == "00042"
    assert evaluate("range(1000)|map('string')|join(',')|length", context) == 3889
    assert evaluate("'a-b'.replace('-', '+')", context) == "a+b"
    assert evaluate_mapping('$match("ab12", /[0-9]+/).match', {}, 1000) == "12"
    assert evaluate_mapping('$replace("a-b", /-/, "+")', {}, 1000) == "a+b"
