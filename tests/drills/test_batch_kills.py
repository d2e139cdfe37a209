"""Fault drill: a real worker killed (SIGKILL) while it runs messages carrying several executions.

A batch of events reaches the workers several executions to a message (``flows.tasks.run_executions``),
run one after the other and acknowledged once all of them were dealt with. Killing the worker
halfway must lose none of them and run no finished step again: the message is delivered again
(or its executions sent again by the stranded sweep) and each execution resumes, or is found
finished, as for one execution per message.
"""

from __future__ import annotations

import random
import time

import pytest

from flows.batch_start import messages
from flows.models import Execution, StepRun
from flows.tasks import run_executions
from tests.drills.support import effect_flow, figures, wait_all_final
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_killing_the_worker_mid_message_loses_no_execution_of_it_and_reruns_no_finished_step(
    publish, start, workers, effects, make_connector, postgres_url, sandbox
):
    from config.celery import app

    connector = make_connector("postgres", postgres_url, [sandbox], name="Effects")
    version = effect_flow(publish, connector, effects)
    ids = [start(version, {"n": i}).pk for i in range(30)]
    sent = messages(ids)
    assert all(len(chunk) > 1 for chunk in sent), "several executions to a message"
    with app.connection_for_write(workers.broker_url) as broker:
        for chunk in sent:
            run_executions.apply_async((chunk,), queue=workers.queue, connection=broker)
    workers.start_beat()
    rng = random.Random(7)
    for _ in range(5):
        before = StepRun.objects.count()
        worker = workers.start(concurrency=2)
        wait_until(lambda before=before: StepRun.objects.count() > before, 60, message="a step to finish")
        time.sleep(rng.uniform(0.05, 0.4))
        assert Execution.objects.filter(pk__in=ids, status="running").exists(), "the kill lands mid-flow"
        workers.kill(worker)
    workers.start(concurrency=2)
    diagnose = lambda: f"worker logs:\n{workers.logs()[-4000:]}"  # noqa: E731
    drained = wait_all_final(ids, 240, diagnose)

    outcome = figures(ids, effects, postgres_url)
    outcome.print(f"SIGKILL a worker x5 while it runs {len(sent)} messages of 30 executions", recovery=drained)
    outcome.assert_clean(diagnose)
    assert outcome.resumed, "some executions were interrupted and resumed after their last finished step"
