"""What the audit log records, from the models' own save and delete signals.

Recording from signals (not from views) means the API, the pages, imports and Celery tasks are all
covered by one mechanism. Each tracked model says which fields are recorded with their values and
which only as "changed" (variable values, flow graphs): the log must never become a copy of secrets.
Connector settings are recorded on their connector, with every secret field masked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from celery.signals import task_postrun, task_prerun
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from audit import context
from audit.models import AuditEvent
from connectors import catalog
from core.masking import MASK
from flows.signals import execution_cancelled

CHANGED = "(changed)"


@dataclass(frozen=True)
class Tracked:
    object_type: str
    fields: tuple[str, ...]
    hidden: tuple[str, ...] = ()
    organization: Callable = lambda obj: obj.organization_id
    label: Callable = str
    # (object_type, id) the event is filed under when it is not the row itself (a flow's version).
    subject: Callable | None = None
    # (obj, created, changes) -> the action; None: create or update by ``created``; False: record nothing.
    classify: Callable | None = None
    # False for rows only recorded when created or recorded as they are: saves them the look-up of the row before.
    compare: bool = True


def _flow_org(obj) -> int:
    return apps.get_model("flows", "Flow").objects.values_list("organization_id", flat=True).get(pk=obj.flow_id)


def _token_action(obj, created, changes):
    if not created and "revoked_at" in changes and changes["revoked_at"][0] is None:
        return AuditEvent.Action.REVOKE
    return None


def _webhook_action(obj, created, changes):
    return AuditEvent.Action.ROTATE if not created and "rotated" in changes else None


def _version_action(obj, created, changes):
    return AuditEvent.Action.PUBLISH if created and not obj.snapshot else False


def _deployment_action(obj, created, changes):
    return AuditEvent.Action.DEPLOY


def _execution_action(obj, created, changes):
    return AuditEvent.Action.REPLAY if created and obj.replay_of_id else False


TRACKED: dict[str, Tracked] = {
    "accounts.Membership": Tracked(
        "membership", ("user", "role"), label=lambda m: f"{m.user.get_username()} ({m.role})"
    ),
    "accounts.ApiToken": Tracked(
        "token", ("user", "name", "scopes", "expires_at", "revoked_at"), label=lambda t: t.name, classify=_token_action
    ),
    "accounts.Variable": Tracked(
        "variable", ("environment", "key", "secret"), hidden=("value",), label=lambda v: v.key
    ),
    "connectors.Connector": Tracked(
        "connector",
        ("name", "type_key", "version", "description", "tags", "scope", "concurrency_limit"),
        label=lambda c: c.name,
    ),
    "flows.Flow": Tracked(
        "flow", ("name", "slug", "description", "enabled", "protected"), hidden=("draft",), label=lambda f: f.name
    ),
    "flows.FlowVersion": Tracked(
        "flow",
        ("number", "message"),
        organization=_flow_org,
        label=lambda v: f"version {v.number}",
        subject=lambda v: ("flow", v.flow_id),
        classify=_version_action,
        compare=False,
    ),
    "flows.Deployment": Tracked(
        "flow",
        ("environment", "version"),
        organization=_flow_org,
        label=lambda d: f"deployment to environment {d.environment_id}",
        subject=lambda d: ("flow", d.flow_id),
        classify=_deployment_action,
        compare=False,
    ),
    "flows.Webhook": Tracked(
        "webhook", ("flow", "environment", "rotated"), organization=_flow_org, classify=_webhook_action
    ),
    "flows.Schedule": Tracked(
        "schedule", ("flow", "environment", "cron", "payload", "enabled"), organization=_flow_org
    ),
    "flows.Execution": Tracked(
        "execution",
        ("replay_of",),
        label=lambda e: f"execution #{e.replay_of_id}",
        subject=lambda e: ("execution", e.replay_of_id),
        classify=_execution_action,
        compare=False,
    ),
}


def _plain(value):
    """A value as JSON keeps it (dates as ISO text)."""
    encoder = DjangoJSONEncoder()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return encoder.default(value)


def _snapshot(obj, spec: Tracked) -> dict:
    values = {}
    for name in (*spec.fields, *spec.hidden):
        model_field = obj._meta.get_field(name)
        values[name] = _plain(getattr(obj, model_field.attname))
    return values


def _diff(before: dict, after: dict, spec: Tracked) -> dict:
    changes = {}
    for name in (*spec.fields, *spec.hidden):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = CHANGED if name in spec.hidden else [old, new]
    return changes


def record(*, organization_id, action, object_type, object_id, object_repr, changes=None) -> AuditEvent:
    actor = context.current()
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor=actor.user,
        actor_label=actor.label[:200],
        token=actor.token,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(object_repr)[:200],
        changes=changes or {},
    )


def _record_row(obj, spec: Tracked, action, changes) -> None:
    object_type, object_id = spec.subject(obj) if spec.subject else (spec.object_type, obj.pk)
    record(
        organization_id=spec.organization(obj),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=spec.label(obj),
        changes=changes,
    )


def _before_save(sender, instance, raw=False, **_):
    spec = _spec_of(sender)
    if raw or spec is None or not spec.compare or instance.pk is None:
        return
    previous = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _snapshot(previous, spec) if previous is not None else None


def _after_save(sender, instance, created, raw=False, **_):
    spec = _spec_of(sender)
    if raw or spec is None:
        return
    before = None if created else getattr(instance, "_audit_before", None)
    after = _snapshot(instance, spec)
    changes = _diff(before or {}, after, spec)
    action = spec.classify(instance, created, changes) if spec.classify else None
    if action is False:
        return
    if action is None:
        if not created and not changes:
            return
        action = AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE
    _record_row(instance, spec, action, changes)


def _after_delete(sender, instance, **_):
    spec = _spec_of(sender)
    if spec is None or spec.subject is not None:
        return
    _record_row(instance, spec, AuditEvent.Action.DELETE, _diff(_snapshot(instance, spec), {}, spec))


# -- connector settings: recorded on the connector, secrets masked ---------------------------------


def _secret_names(connector) -> set[str]:
    type_cls = catalog.type_class(connector.type_key)
    return {f.name for f in type_cls.fields if f.secret} if type_cls else set()


def settings_changes(connector, environment_slug: str, before: dict, after: dict) -> dict:
    """Changed settings as ``<environment>.<field>``; a secret only ever as the mask."""
    secrets = _secret_names(connector)
    changes = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in secrets:
            changes[f"{environment_slug}.{name}"] = [MASK if old else None, MASK if new else None]
        else:
            changes[f"{environment_slug}.{name}"] = [old, new]
    return changes


def _settings_before(sender, instance, raw=False, **_):
    if raw or instance.pk is None:
        return
    instance._audit_values = sender._default_manager.filter(pk=instance.pk).values_list("values", flat=True).first()


def _settings_saved(sender, instance, created, raw=False, **_):
    if raw:
        return
    before = {} if created else (getattr(instance, "_audit_values", None) or {})
    _record_settings(instance, before, instance.values or {})


def _settings_deleted(sender, instance, **_):
    _record_settings(instance, instance.values or {}, {})


def _record_settings(row, before: dict, after: dict) -> None:
    connector = apps.get_model("connectors", "Connector").objects.filter(pk=row.connector_id).first()
    if connector is None:
        return  # deleted with its connector, whose deletion is recorded
    environment_slug = (
        apps.get_model("accounts", "Environment").objects.values_list("slug", flat=True).get(pk=row.environment_id)
    )
    changes = settings_changes(connector, environment_slug, before, after)
    if changes:
        record(
            organization_id=connector.organization_id,
            action=AuditEvent.Action.UPDATE,
            object_type="connector",
            object_id=connector.pk,
            object_repr=connector.name,
            changes=changes,
        )


# -- wiring ------------------------------------------------------------------------------------------

_SPECS: dict[type, Tracked] = {}
_TASKS: dict[str, object] = {}


def _scope_changed(sender, instance, action, model, pk_set, reverse=False, **_):
    """Who may use a connector: users and groups added to or removed from its scope."""
    if reverse or action not in ("post_add", "post_remove") or not pk_set:
        return
    field = "allowed_users" if sender is instance.allowed_users.through else "allowed_groups"
    names = sorted(str(obj) for obj in model.objects.filter(pk__in=pk_set))
    verb = "added" if action == "post_add" else "removed"
    record(
        organization_id=instance.organization_id,
        action=AuditEvent.Action.UPDATE,
        object_type="connector",
        object_id=instance.pk,
        object_repr=instance.name,
        changes={field: {verb: names}},
    )


def _spec_of(model) -> Tracked | None:
    return _SPECS.get(model)


def _task_started(task_id=None, task=None, **_):
    if task_id is not None and task is not None:
        _TASKS[task_id] = context.start_task(task.name)


def _task_finished(task_id=None, **_):
    reset = _TASKS.pop(task_id, None)
    if reset is not None:
        context.end_task(reset)


def connect() -> None:
    for label, spec in TRACKED.items():
        model = apps.get_model(label)
        _SPECS[model] = spec
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"audit-pre-{label}")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"audit-post-{label}")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"audit-delete-{label}")
    settings_model = apps.get_model("connectors", "ConnectorSettings")
    pre_save.connect(_settings_before, sender=settings_model, dispatch_uid="audit-pre-settings")
    post_save.connect(_settings_saved, sender=settings_model, dispatch_uid="audit-post-settings")
    post_delete.connect(_settings_deleted, sender=settings_model, dispatch_uid="audit-delete-settings")
    connector = apps.get_model("connectors", "Connector")
    for through in (connector.allowed_users.through, connector.allowed_groups.through):
        m2m_changed.connect(_scope_changed, sender=through, dispatch_uid=f"audit-scope-{through._meta.label}")
    task_prerun.connect(_task_started, dispatch_uid="audit-task-start", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="audit-task-end", weak=False)
    execution_cancelled.connect(_cancelled, dispatch_uid="audit-cancel")


def _cancelled(sender, execution, **_) -> None:
    """Cancelling is an update in SQL, which sends no model signal; the engine sends its own."""
    record(
        organization_id=execution.organization_id,
        action=AuditEvent.Action.CANCEL,
        object_type="execution",
        object_id=execution.pk,
        object_repr=f"execution #{execution.pk}",
        changes={"status": [None, execution.status]},
    )
