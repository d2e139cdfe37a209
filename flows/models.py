from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from accounts.tenancy import OrganizationScoped

EVENT_TYPES = ("CREATE", "UPDATE", "DELETE")
USE_CASE_SLUG = r"^[a-z0-9][a-z0-9_-]*$"


def all_event_types() -> list[str]:
    return list(EVENT_TYPES)


class Flow(OrganizationScoped):
    """An integration: a graph of steps, drafted on the canvas and run as published versions."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    protected = models.BooleanField(default=False, help_text="Cannot be deleted; only admins may change it.")
    draft = models.JSONField(default=dict)
    # An inbound use case: ``POST /api/v1/events`` names it by this slug (blank: the flow takes no events).
    use_case_slug = models.CharField(
        max_length=255,
        blank=True,
        validators=[
            RegexValidator(
                USE_CASE_SLUG, "Use lowercase letters, digits, '-' and '_', starting with one of the first two."
            )
        ],
    )
    use_case_enabled = models.BooleanField(default=False)
    event_types = models.JSONField(default=all_event_types, help_text="the event types the use case accepts")
    # Use cases whose events for one entity must run one at a time: a JSONata expression over the
    # event (``payload.customerId``) giving the key; blank runs events in parallel.
    ordered_by = models.CharField(max_length=500, blank=True)
    on_failure = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handles_failures_of",
        help_text="a flow that receives the summary of each failed execution of this one",
    )
    # A waited trigger runs the flow in the web process that received it (``flows.eager``); off, it
    # always goes through the workers (a long-running flow that should never hold a web thread).
    run_in_web = models.BooleanField(
        default=True, help_text="waited triggers run this flow in the web process instead of on a worker"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="unique_flow_slug"),
            models.UniqueConstraint(
                fields=["organization", "use_case_slug"],
                condition=~models.Q(use_case_slug=""),
                name="unique_use_case_slug",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """An immutable snapshot of a flow's graph; executions always run one of these."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    message = models.CharField(max_length=500, blank=True)
    snapshot = models.BooleanField(
        default=False, help_text="A copy of the draft for a test run: not in the history, never deployed."
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number", "-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "number"], condition=models.Q(snapshot=False), name="unique_version_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow} draft snapshot" if self.snapshot else f"{self.flow} v{self.number}"

    def save(self, *args, **kwargs):
        """A version is what executions ran: changing it afterwards would rewrite history."""
        if self.pk is not None:
            raise ValidationError("A flow version is immutable; publish a new version instead.")
        super().save(*args, **kwargs)


class Deployment(models.Model):
    """Which version of a flow runs in an environment."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="deployments")
    environment = models.ForeignKey("accounts.Environment", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="deployments")
    deployed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    deployed = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "environment"], name="one_deployment_per_env")]

    def __str__(self) -> str:
        return f"{self.version} in {self.environment}"


class ConnectorUse(models.Model):
    """A flow (draft or any version) references a connector: what blocks deleting the connector."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="connector_uses")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT, related_name="uses")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "connector"], name="unique_connector_use")]

    def __str__(self) -> str:
        return f"{self.flow} uses {self.connector}"


class Execution(OrganizationScoped):
    """One run of a flow version in an environment, from trigger to final status."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        WAITING = "waiting"  # parked by a delay or a retry's long wait; runs again at ``resume_at``
        SUCCEEDED = "succeeded"
        COMPLETED_WITH_ERRORS = "completed_with_errors"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Trigger(models.TextChoices):
        API = "api"
        WEBHOOK = "webhook"
        SCHEDULE = "schedule"
        MANUAL = "manual"
        REPLAY = "replay"
        EVENT = "event"
        CALL = "call"  # a call-flow step of its parent execution
        HANDLER = "handler"  # the on-failure handler of a failed execution

    FINAL = (Status.SUCCEEDED, Status.COMPLETED_WITH_ERRORS, Status.FAILED, Status.CANCELLED)
    UNFINISHED = (Status.QUEUED, Status.RUNNING, Status.WAITING)

    # An execution's row is written at least twice after its INSERT (claimed, finished), and an update
    # that changes an indexed column (or one an index's condition reads) writes an entry in EVERY index.
    # So no index reads what a claim changes (status, lease, heartbeat, attempts, started): a claim is
    # a HOT update, which touches no index while its page has room (``fillfactor``, migration 0009).
    # The sweeps find unfinished executions by ``finished IS NULL`` instead, which only the finish
    # changes. Columns that are mostly empty (a replay's original, a caller, correlation, deduplication
    # and ordering keys) are indexed only where they hold a value, so most rows add nothing to those
    # indexes. Columns that lead one of the ``Meta.indexes`` (organization, flow) get no index of their
    # own, and no index is built for LIKE on a column only ever compared whole.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="executions", db_index=False)
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="executions")
    environment = models.ForeignKey("accounts.Environment", on_delete=models.PROTECT, related_name="+")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.QUEUED)
    input = models.JSONField(default=dict, help_text="payload, headers and query of the trigger")
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    correlation_id = models.CharField(max_length=200, blank=True)
    deduplication_key = models.CharField(max_length=200, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays", db_index=False
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="the caller",
        db_index=False,
    )
    parent_step = models.CharField(
        max_length=300, blank=True, help_text="the scope and id of the parent's step that started it"
    )
    depth = models.PositiveSmallIntegerField(default=0, help_text="how many calls deep: 0 for a triggered one")
    resume_at = models.DateTimeField(null=True, blank=True, help_text="when a waiting execution runs again")
    response = models.JSONField(
        null=True, blank=True, help_text="what a respond step set for a waiting caller: status, headers, body"
    )
    ordering_key = models.CharField(
        max_length=200, blank=True, help_text="executions with the same key for one flow run one at a time"
    )
    progress = models.JSONField(
        default=dict, blank=True, help_text="per for-each step: how many items (batches) its list gave"
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="deliveries to a worker so far")
    cancel_requested = models.BooleanField(default=False)
    lease = models.CharField(max_length=32, blank=True, help_text="token of the delivery that runs it now")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    resent = models.DateTimeField(
        null=True, blank=True, help_text="when the stranded-execution sweep last sent it to the workers again"
    )

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["organization", "flow", "-created"]),
            models.Index(fields=["created"], condition=models.Q(finished__isnull=True), name="execution_unfinished"),
            models.Index(
                fields=["resume_at"],
                condition=models.Q(finished__isnull=True, resume_at__isnull=False),
                name="execution_resuming",
            ),
            models.Index(
                fields=["organization", "deduplication_key", "created"],
                condition=~models.Q(deduplication_key=""),
                name="execution_deduplication",
            ),
            models.Index(
                fields=["flow", "ordering_key", "created"],
                condition=~models.Q(ordering_key=""),
                name="execution_ordering",
            ),
            models.Index(
                fields=["correlation_id"], condition=~models.Q(correlation_id=""), name="execution_correlation"
            ),
            models.Index(fields=["replay_of"], condition=models.Q(replay_of__isnull=False), name="execution_replays"),
            models.Index(fields=["parent"], condition=models.Q(parent__isnull=False), name="execution_children"),
            models.Index(fields=["started_by"], condition=models.Q(started_by__isnull=False), name="execution_starter"),
        ]

    def __str__(self) -> str:
        return f"{self.flow} #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def duration_ms(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started).total_seconds() * 1000

    def finish(self, status: str, *, output=None, error: str = "", lease: str | None = None) -> bool:
        """Move a running (or queued) execution to a final status; False when another writer got there first.

        With ``lease`` only the delivery holding that lease may finish it, so a worker that lost
        its lease to a redelivery cannot overwrite the newer run's outcome.
        """
        if status not in self.FINAL:
            raise ValueError(f"{status!r} is not a final status")
        rows = Execution.objects.filter(pk=self.pk, status__in=self.UNFINISHED)
        if lease is not None:
            rows = rows.filter(lease=lease)
        now = timezone.now()
        changed = rows.update(status=status, output=output, error=error, finished=now, heartbeat=now) == 1
        if changed:
            self.finished_as(status, output, error, now)
        return changed

    def finished_as(self, status: str, output, error: str, moment) -> None:
        """This instance as a finish that succeeded left the row (``flows.records`` finishes with the
        last step records in one statement)."""
        self.status, self.output, self.error, self.finished = status, output, error, moment


class StepRun(models.Model):
    """The record of one step of one execution, stored as soon as the step finishes."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        TIMED_OUT = "timed_out"
        ERROR_IGNORED = "error_ignored"
        SKIPPED = "skipped"
        RETRYING = "retrying"  # an attempt that failed and is tried again after ``wait_ms``
        WAITING = "waiting"  # a delay step that parked the execution until ``output.until``

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.TIMED_OUT, Status.ERROR_IGNORED, Status.SKIPPED)

    # The unique constraint (execution, scope, step_id, attempt) is the index that finds an execution's steps.
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="steps", db_index=False)
    position = models.PositiveIntegerField()
    scope = models.CharField(
        max_length=300, blank=True, default="", help_text="where it ran: blank at the top, 'loop[3]' in a for-each item"
    )
    item = models.PositiveIntegerField(null=True, blank=True, help_text="the for-each item index, inside a body")
    step_id = models.CharField(max_length=64)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, blank=True)
    delivery = models.PositiveSmallIntegerField(default=1, help_text="the delivery of the execution that ran it")
    attempt = models.PositiveSmallIntegerField(default=1, help_text="the try of the step under its retry policy")
    wait_ms = models.FloatField(null=True, blank=True, help_text="the wait before the next attempt")
    status = models.CharField(max_length=16, choices=Status.choices)
    instruction = models.TextField(blank=True, help_text="rendered, with secrets masked")
    params = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    output_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    started = models.DateTimeField()
    finished = models.DateTimeField()
    duration_ms = models.FloatField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "scope", "step_id", "attempt"], name="one_run_per_attempt")
        ]

    def __str__(self) -> str:
        return f"{self.execution} {self.name}"


class Webhook(models.Model):
    """A secret URL (``/hooks/<token>``) that triggers a flow's deployed version in one environment.

    The token is looked up by its SHA-256 and kept encrypted so editors can copy the URL again.
    """

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="webhooks")
    environment = models.ForeignKey("accounts.Environment", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    token_encrypted = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    rotated = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "environment"], name="one_webhook_per_env")]

    def __str__(self) -> str:
        return f"webhook of {self.flow} in {self.environment}"


class Schedule(models.Model):
    """A cron expression that triggers a flow's deployed version in one environment (via celery beat)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="schedules")
    environment = models.ForeignKey("accounts.Environment", on_delete=models.CASCADE, related_name="+")
    cron = models.CharField(max_length=120, help_text="minute hour day-of-month month day-of-week")
    payload = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "environment", "cron"], name="unique_schedule")]

    def __str__(self) -> str:
        return f"{self.flow} at {self.cron}"
