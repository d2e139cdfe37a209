"""Schedules: cron per flow and environment, kept in django-celery-beat PeriodicTasks; ticks start executions."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from flows import schedules
from flows.models import Execution, Schedule

pytestmark = pytest.mark.django_db


def create(client, **fields):
    body = {"flow": "add-field", "environment": "sandbox", "cron": "*/15 6-18 * * mon-fri", **fields}
    return client.post("/api/v1/schedules/", body, format="json")


def test_creating_a_schedule_creates_its_periodic_task(api, deployed, settings):
    response = create(api, payload={"source": "beat"})
    assert response.status_code == 201, response.json()
    body = response.json()
    schedule = Schedule.objects.get()
    task = PeriodicTask.objects.get(name=schedules.task_name(schedule.pk))
    assert schedule.periodic_task == task
    assert (task.task, json.loads(task.args), task.enabled) == ("flows.schedules.fire", [schedule.pk], True)
    tab = task.crontab
    assert (tab.minute, tab.hour, tab.day_of_month, tab.month_of_year, tab.day_of_week) == (
        "*/15",
        "6-18",
        "*",
        "*",
        "mon-fri",
    )
    assert str(tab.timezone) == settings.CELERY_TIMEZONE
    assert body["payload"] == {"source": "beat"}
    assert body["next_run"] is not None
    assert body["description"].startswith("Every 15 minutes")


def test_a_macro_is_stored_expanded_so_it_clashes_with_its_expansion(api, deployed):
    response = create(api, cron="@hourly")
    assert response.status_code == 201, response.json()
    assert response.json()["cron"] == "0 * * * *"
    tab = PeriodicTask.objects.get().crontab
    assert (tab.minute, tab.hour) == ("0", "*")
    assert create(api, cron="0 * * * *").status_code == 400


@pytest.mark.parametrize(
    "cron,words",
    [
        ("* * *", "has 3 fields"),
        ("61 * * * *", "minute field '61'"),
        ("* 24 * * *", "hour field '24'"),
        ("* * 0 * *", "day of month field '0'"),
        ("* * * 13 *", "month field '13'"),
        ("* * * * funday", "day of week field 'funday'"),
        ("", "Give a cron expression"),
    ],
)
def test_a_bad_cron_expression_is_refused_naming_the_field(api, deployed, cron, words):
    response = create(api, cron=cron)
    assert response.status_code == 400
    [message] = response.json()["errors"]["cron"]
    assert words in message
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="flows.schedules.fire").exists()


def test_a_payload_holding_a_nul_character_is_refused(api, deployed):
    response = create(api, payload={"note": "a\u0000b"})
    assert response.status_code == 400
    assert "payload.note contains a NUL character" in response.json()["errors"]["payload"][0]
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="flows.schedules.fire").exists()


def test_a_payload_nested_too_deep_is_refused(api, deployed):
    payload: dict = {}
    for _ in range(200):
        payload = {"a": payload}
    response = create(api, payload=payload)
    assert response.status_code == 400
    assert "The body nests objects or lists more than 200 levels deep" in response.json()["detail"]
    assert not Schedule.objects.exists()


def test_an_unknown_environment_is_named(api, deployed):
    response = create(api, environment="moon")
    assert response.status_code == 400
    assert response.json()["errors"]["environment"] == ["Nothing with slug 'moon' exists in this organization."]


def test_the_same_cron_twice_in_one_environment_is_refused(api, deployed):
    create(api)
    response = create(api)
    assert response.status_code == 400
    assert "already runs" in response.json()["errors"]["cron"][0]
    assert PeriodicTask.objects.filter(task="flows.schedules.fire").count() == 1


def test_changing_a_schedule_changes_its_periodic_task(api, deployed):
    schedule_id = create(api).json()["id"]
    response = api.patch(f"/api/v1/schedules/{schedule_id}/", {"cron": "0 2 * * *", "enabled": False}, format="json")
    assert response.status_code == 200, response.json()
    task = PeriodicTask.objects.get()
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == ("0", "2", False)
    assert response.json()["next_run"] is None
    moved = api.patch(f"/api/v1/schedules/{schedule_id}/", {"environment": "production"}, format="json")
    assert moved.status_code == 400


def test_deleting_a_schedule_deletes_its_periodic_task(api, deployed):
    schedule_id = create(api).json()["id"]
    assert api.delete(f"/api/v1/schedules/{schedule_id}/").status_code == 204
    assert not PeriodicTask.objects.filter(task="flows.schedules.fire").exists()


def test_deleting_the_flow_deletes_the_periodic_tasks_of_its_schedules(api, deployed):
    create(api)
    create(api, cron="0 * * * *")
    assert api.delete("/api/v1/flows/add-field/").status_code == 204
    assert not PeriodicTask.objects.filter(task="flows.schedules.fire").exists()


def test_a_tick_starts_the_deployed_version_with_the_schedule_payload_once_per_minute(api, deployed):
    schedule_id = create(api, payload={"source": "beat"}).json()["id"]
    first = schedules.fire(schedule_id)
    second = schedules.fire(schedule_id)
    execution = Execution.objects.get()
    assert first == second == str(execution.pk)
    assert (execution.trigger, execution.environment.slug) == ("schedule", "sandbox")
    assert execution.input["payload"] == {"source": "beat"}
    assert execution.correlation_id.startswith(f"schedule-{schedule_id}-")


def test_a_tick_skips_when_nothing_is_deployed_or_the_schedule_is_off(api, deployed, caplog):
    production = create(api, environment="production").json()["id"]
    assert schedules.fire(production) == "skipped"
    assert "no version deployed" in caplog.text
    off = create(api, enabled=False).json()["id"]
    assert schedules.fire(off) == "disabled"
    assert not Execution.objects.exists()


def test_a_tick_of_a_vanished_schedule_removes_its_periodic_task(api, deployed):
    schedule_id = create(api).json()["id"]
    Schedule.objects.filter(pk=schedule_id).delete()
    assert schedules.fire(schedule_id) == "missing"
    assert not PeriodicTask.objects.filter(name=schedules.task_name(schedule_id)).exists()


def test_a_viewer_cannot_schedule(viewer_api, deployed):
    assert create(viewer_api).status_code == 403
    assert not Schedule.objects.exists()


def test_an_outsider_cannot_see_change_or_schedule_another_organizations_flow(api, outsider_api, deployed):
    schedule_id = create(api).json()["id"]
    for method in ("get", "patch", "put", "delete"):
        response = getattr(outsider_api, method)(f"/api/v1/schedules/{schedule_id}/", {}, format="json")
        assert response.status_code == 404, method
    assert create(outsider_api).status_code == 400
    assert outsider_api.get("/api/v1/schedules/").json()["results"] == []
    assert Schedule.objects.count() == 1
