"""On-failure handlers: end to end on a real Celery worker, and the cases that must not start one."""

from __future__ import annotations

import json

import pytest

from alerts import handlers
from alerts.choices import Channel, Condition, Outcome
from alerts.models import AlertDelivery
from flows import triggers
from flows.models import Execution
from tests.api.conftest import FAILING
from tests.flows.builders import graph, mapping
from tests.flows.workers import wait_until

ECHO = graph([mapping("echo", "trigger.payload", name="Echo")])
BROKEN_HANDLER = graph([mapping("page", '$error("the pager is down")', name="Page on call")])


def final(flow, count: int = 1):
    def check():
        found = list(Execution.objects.filter(flow=flow, status__in=Execution.FINAL).order_by("pk"))
        return found if len(found) >= count else None

    return check


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_failed_execution_starts_its_handler_with_the_summary(make_flow, sandbox, workers):
    handler = make_flow(ECHO, slug="notify", name="Notify", deploy=[sandbox])
    orders = make_flow(FAILING, slug="orders", name="Orders", deploy=[sandbox], on_failure=handler)
    request = triggers.TriggerRequest(payload={"order": 7}, correlation_id="order-7")
    failed, _ = triggers.start(orders, sandbox, request, trigger=Execution.Trigger.API)

    [run] = wait_until(final(handler), 60, message="the handler execution")
    failed.refresh_from_db()
    assert failed.status == Execution.Status.FAILED
    assert run.trigger == Execution.Trigger.HANDLER and run.status == Execution.Status.SUCCEEDED
    assert run.correlation_id == "order-7" and run.environment == sandbox
    summary = run.input["payload"]
    assert summary == {
        "flow": {"id": orders.pk, "slug": "orders", "name": "Orders"},
        "version": 1,
        "environment": "sandbox",
        "status": "failed",
        "failing_step": {"id": "boom", "name": "Check order", "error": "The mapping failed: the order is incomplete"},
        "error": failed.error,
        "correlation_id": "order-7",
        "execution_id": failed.pk,
        "trigger": "api",
        "finished": failed.finished.isoformat(),
        "link": f"/executions/{failed.pk}/",
    }
    assert run.output == summary  # what the handler flow read as trigger.payload
    record = AlertDelivery.objects.get(channel=Channel.HANDLER)
    assert (record.outcome, record.recipient, record.summary["handler_execution_id"]) == (
        Outcome.SENT,
        "flow notify",
        run.pk,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_starts_no_handler_itself(make_flow, sandbox, workers, make_rule, receiver):
    second = make_flow(ECHO, slug="second", name="Second handler", deploy=[sandbox])
    handler = make_flow(BROKEN_HANDLER, slug="pager", name="Pager", deploy=[sandbox], on_failure=second)
    orders = make_flow(FAILING, slug="orders", name="Orders", deploy=[sandbox], on_failure=handler)
    # The alert on the handler's failure is sent after its (refused) handler start: the sign the worker is done.
    make_rule(condition=Condition.EVERY_FAILURE, flow=handler, webhook_url=receiver.url)
    triggers.start(orders, sandbox, triggers.TriggerRequest(payload={}), trigger=Execution.Trigger.API)

    [run] = wait_until(final(handler), 60, message="the handler execution")
    assert run.status == Execution.Status.FAILED
    wait_until(lambda: receiver.received, 60, message="the alert on the handler's failure")
    alert = json.loads(receiver.received[0]["body"])
    assert alert["execution"]["execution_id"] == run.pk
    assert not Execution.objects.filter(flow=second).exists()
    assert Execution.objects.filter(flow=handler).count() == 1
    assert AlertDelivery.objects.filter(channel=Channel.HANDLER).count() == 1


@pytest.mark.django_db
def test_a_handler_execution_never_starts_its_own_handler(make_flow, sandbox, execution_of):
    loop = make_flow(BROKEN_HANDLER, slug="loop", deploy=[sandbox])
    loop.on_failure = loop
    loop.save()
    run = execution_of(loop, status=Execution.Status.FAILED, trigger=Execution.Trigger.HANDLER)
    assert handlers.start_handler(run) is None
    assert Execution.objects.filter(flow=loop).count() == 1


@pytest.mark.django_db
def test_a_handler_not_deployed_in_the_environment_is_recorded_and_nothing_fails(
    make_flow, sandbox, production, execution_of, caplog
):
    handler = make_flow(ECHO, slug="notify", name="Notify", deploy=[sandbox])
    orders = make_flow(FAILING, slug="orders", deploy=[sandbox, production], on_failure=handler)
    failed = execution_of(orders, status=Execution.Status.FAILED, environment=production)

    assert handlers.start_handler(failed) is None
    record = AlertDelivery.objects.get()
    assert (record.channel, record.outcome, record.recipient) == (Channel.HANDLER, Outcome.FAILED, "flow notify")
    assert "has no version deployed to Production" in record.error
    assert record.summary["execution_id"] == failed.pk
    assert "on-failure handler 'notify' did not start" in caplog.text
    assert not Execution.objects.filter(flow=handler).exists()


@pytest.mark.django_db
def test_succeeded_executions_and_flows_without_a_handler_start_nothing(make_flow, sandbox, execution_of):
    handler = make_flow(ECHO, slug="notify", deploy=[sandbox])
    orders = make_flow(FAILING, slug="orders", deploy=[sandbox], on_failure=handler)
    lonely = make_flow(FAILING, slug="lonely", deploy=[sandbox])
    assert handlers.start_handler(execution_of(orders, status=Execution.Status.SUCCEEDED)) is None
    assert handlers.start_handler(execution_of(lonely, status=Execution.Status.FAILED)) is None
    assert not Execution.objects.filter(flow=handler).exists()
