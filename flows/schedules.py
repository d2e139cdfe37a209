"""Schedules: cron expressions that start a flow's deployed version in one environment.

Each ``Schedule`` owns one django-celery-beat ``PeriodicTask`` (with a ``CrontabSchedule`` in
``CELERY_TIMEZONE``) that calls ``fire`` with the schedule's id; beat's database scheduler picks
up every change without a restart. ``fire`` starts the execution through ``flows.triggers`` with a
deduplication id of the schedule and the minute, so a tick delivered twice runs once. A schedule
whose flow is disabled or not deployed in its environment skips its ticks (and logs why) until
that changes.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from celery import shared_task
from celery.schedules import crontab, crontab_parser
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from flows.models import Execution, Flow, Schedule
from flows.triggers import TriggerError, TriggerRequest, start

logger = logging.getLogger("erpflow.schedules")

TASK = "flows.schedules.fire"
# (field of CrontabSchedule, what a person calls it, crontab_parser's range, its first value)
FIELDS = (
    ("minute", "minute", 60, 0),
    ("hour", "hour", 24, 0),
    ("day_of_month", "day of month", 31, 1),
    ("month_of_year", "month", 12, 1),
    ("day_of_week", "day of week", 7, 0),
)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def parse_cron(text: str) -> dict[str, str]:
    """The five fields of a cron expression; raises ``ValidationError`` on ``cron`` naming the bad field."""
    expression = MACROS.get((text or "").strip().lower(), (text or "").strip())
    parts = expression.split()
    if len(parts) != 5:
        raise ValidationError(
            {
                "cron": f"'{text}' has {len(parts)} field{'s' if len(parts) != 1 else ''}; a cron expression has 5: "
                "minute hour day-of-month month day-of-week (for example '*/15 6-18 * * mon-fri'), or a macro "
                "such as @hourly or @daily."
            }
        )
    fields = {}
    for (name, label, size, first), part in zip(FIELDS, parts, strict=True):
        try:
            crontab_parser(size, first).parse(part)
        except ValueError as exc:
            last = first + size - 1
            raise ValidationError(
                {"cron": f"The {label} field '{part}' is not valid ({exc}); it takes values {first}-{last}."}
            ) from None
        fields[name] = part
    return fields


def next_run(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    """When the schedule fires next (in ``CELERY_TIMEZONE``), or None while it is disabled."""
    if not schedule.enabled:
        return None
    fields = parse_cron(schedule.cron)
    now = now or timezone.now()
    tab = crontab(**fields, nowfun=lambda: now.astimezone(timezone.get_default_timezone()))
    return now + tab.remaining_estimate(now.astimezone(timezone.get_default_timezone()))


def task_name(schedule_id: int) -> str:
    return f"erpflow schedule {schedule_id}"


def _crontab(fields: dict[str, str]) -> CrontabSchedule:
    tab = CrontabSchedule.objects.filter(timezone=settings.CELERY_TIMEZONE, **fields).first()
    return tab or CrontabSchedule.objects.create(timezone=settings.CELERY_TIMEZONE, **fields)


def _clash(flow: Flow, environment, cron: str) -> ValidationError:
    return ValidationError({"cron": f"Flow '{flow.name}' already runs at '{cron}' in {environment.name}."})


@transaction.atomic
def create(flow: Flow, environment, cron: str, payload=None, enabled: bool = True) -> Schedule:
    """A schedule and its beat task; raises ``ValidationError`` for a bad expression or a duplicate."""
    if environment.organization_id != flow.organization_id:
        raise ValidationError({"environment": "That environment does not belong to this flow's organization."})
    fields = parse_cron(cron)
    cron = " ".join(fields.values())  # macros are stored expanded, so '@hourly' and '0 * * * *' are one schedule
    try:
        with transaction.atomic():
            schedule = Schedule.objects.create(
                flow=flow, environment=environment, cron=cron, payload=payload or {}, enabled=enabled
            )
    except IntegrityError:
        raise _clash(flow, environment, cron) from None
    schedule.periodic_task = PeriodicTask.objects.create(
        name=task_name(schedule.pk),
        task=TASK,
        args=json.dumps([schedule.pk]),
        crontab=_crontab(fields),
        enabled=enabled,
        description=f"Runs flow '{flow.name}' ({flow.slug}) in {environment.name}",
    )
    schedule.save(update_fields=["periodic_task"])
    return schedule


@transaction.atomic
def update(schedule: Schedule, *, cron: str | None = None, payload=None, enabled: bool | None = None) -> Schedule:
    """Change a schedule; its beat task follows (saved through the model so beat notices)."""
    if cron is not None:
        fields = parse_cron(cron)
        normalized = " ".join(fields.values())
        clash = Schedule.objects.filter(flow=schedule.flow, environment=schedule.environment, cron=normalized)
        if clash.exclude(pk=schedule.pk).exists():
            raise _clash(schedule.flow, schedule.environment, normalized)
        schedule.cron = normalized
    if payload is not None:
        schedule.payload = payload
    if enabled is not None:
        schedule.enabled = enabled
    schedule.save(update_fields=["cron", "payload", "enabled"])
    task = schedule.periodic_task
    if task is None:
        task = PeriodicTask(name=task_name(schedule.pk), task=TASK, args=json.dumps([schedule.pk]))
    task.crontab = _crontab(parse_cron(schedule.cron))
    task.enabled = schedule.enabled
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    return schedule


@transaction.atomic
def delete(schedule: Schedule) -> None:
    PeriodicTask.objects.filter(name=task_name(schedule.pk)).delete()
    schedule.delete()


def delete_for_flow(flow: Flow) -> None:
    """Remove the beat tasks of every schedule of ``flow`` (before the flow itself is deleted)."""
    names = [task_name(pk) for pk in Schedule.objects.filter(flow=flow).values_list("pk", flat=True)]
    PeriodicTask.objects.filter(name__in=names).delete()


@shared_task(name=TASK, ignore_result=True)
def fire(schedule_id: int) -> str:
    """One tick of a schedule: start the deployed version, at most once per schedule and minute."""

    schedule = Schedule.objects.select_related("flow", "environment").filter(pk=schedule_id).first()
    if schedule is None:
        # The schedule went away without its task (its flow was deleted elsewhere): stop ticking.
        PeriodicTask.objects.filter(name=task_name(schedule_id)).delete()
        return "missing"
    if not schedule.enabled:
        return "disabled"
    minute = timezone.now().replace(second=0, microsecond=0)
    try:
        tick = TriggerRequest(
            payload=schedule.payload,
            correlation_id=f"schedule-{schedule.pk}-{minute:%Y%m%dT%H%MZ}",
            deduplication_id=f"schedule:{schedule.pk}:{minute.isoformat()}",
        )
        execution, _ = start(schedule.flow, schedule.environment, tick, trigger=Execution.Trigger.SCHEDULE)
    except TriggerError as exc:
        logger.warning("schedule %s (%s) did not start: %s", schedule.pk, schedule.flow.slug, exc.message)
        return "skipped"
    return str(execution.pk)
