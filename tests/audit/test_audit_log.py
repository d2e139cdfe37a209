"""The audit log: who changed what and when, secrets masked, values never kept, filterable, pruned."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from audit.models import AuditEvent
from audit.tasks import prune_audit_log
from flows.models import Execution

pytestmark = pytest.mark.django_db

PASSWORD = "canary-pw-7f3a9c"
VALUE = "canary-var-51be02"


def events(org, **lookup):
    return list(AuditEvent.objects.filter(organization=org, **lookup).order_by("pk"))


def dump(org) -> str:
    return json.dumps(list(AuditEvent.objects.filter(organization=org).values()), default=str)


def test_a_connector_change_is_recorded_with_its_secret_masked(api, org, pg_settings):
    body = {"name": "Warehouse", "type": "postgres", "settings": {"sandbox": {**pg_settings, "password": PASSWORD}}}
    created = api.post("/api/v1/connectors/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = api.patch(
        f"/api/v1/connectors/{pk}/",
        {"description": "nightly loads", "settings": {"sandbox": {"password": PASSWORD + "2"}}},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    recorded = events(org, object_type="connector", object_id=str(pk))
    assert [e.action for e in recorded][:1] == ["create"]
    assert all(e.actor_label == "olivia (token test)" for e in recorded)
    settings_changes = [e.changes for e in recorded if any(k.startswith("sandbox.") for k in e.changes)]
    assert settings_changes[0]["sandbox.password"] == [None, "••••••••"]
    assert settings_changes[-1]["sandbox.password"] == ["••••••••", "••••••••"]
    update = next(e for e in recorded if e.action == "update" and "description" in e.changes)
    assert update.changes["description"] == ["", "nightly loads"]
    assert PASSWORD not in dump(org)


def test_who_may_use_a_connector_is_recorded_as_users_are_added_and_removed(api, org, pg_settings, editor, viewer):
    body = {"name": "Payroll", "type": "postgres", "settings": {"sandbox": pg_settings}, "scope": "chosen"}
    pk = api.post("/api/v1/connectors/", {**body, "allowed_users": [editor.pk, viewer.pk]}, format="json").json()["id"]
    assert api.patch(f"/api/v1/connectors/{pk}/", {"allowed_users": [editor.pk]}, format="json").status_code == 200
    scope = [e.changes for e in events(org, object_type="connector", object_id=str(pk)) if "allowed_users" in e.changes]
    assert scope == [
        {"allowed_users": {"added": sorted([str(editor), str(viewer)])}},
        {"allowed_users": {"removed": [str(viewer)]}},
    ]


def test_a_variable_value_is_never_recorded_only_that_it_changed(api, org):
    created = api.post("/api/v1/variables/", {"environment": "sandbox", "key": "TOKEN", "value": VALUE}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert api.patch(f"/api/v1/variables/{pk}/", {"value": VALUE + "x"}, format="json").status_code == 200
    assert api.delete(f"/api/v1/variables/{pk}/").status_code == 204
    recorded = events(org, object_type="variable", object_id=str(pk))
    assert [e.action for e in recorded] == ["create", "update", "delete"]
    assert recorded[1].changes == {"value": "(changed)"}
    assert VALUE not in dump(org)


def test_replay_and_cancel_are_recorded_with_their_actor(world, editor_api):
    replayed = editor_api.post(f"/api/v1/executions/{world.execution.pk}/replay/")
    assert replayed.status_code == 201, replayed.content
    replay = events(world.org, action="replay")
    assert [(e.object_type, e.object_id, e.actor_label) for e in replay] == [
        ("execution", str(world.execution.pk), "edith (token test)")
    ]
    queued = replayed.json()["id"]
    Execution.objects.filter(pk=queued).update(status=Execution.Status.QUEUED)
    assert editor_api.post(f"/api/v1/executions/{queued}/cancel/").status_code == 200
    cancel = events(world.org, action="cancel")
    assert [(e.object_id, e.actor.username) for e in cancel] == [(str(queued), "edith")]


def test_tokens_memberships_deployments_and_webhook_rotation_are_recorded(world, session_client):
    assert world.members  # the fixture's memberships
    assert {e.object_repr for e in events(world.org, object_type="membership", action="create")} >= {
        "admin-member (admin)",
        "viewer-member (viewer)",
    }
    assert events(world.org, object_type="flow", action="deploy")
    assert session_client.post(f"/api/v1/webhooks/{world.webhook.pk}/rotate/").status_code == 200
    assert [e.actor_label for e in events(world.org, object_type="webhook", action="rotate")] == ["olivia"]
    assert session_client.post(f"/tokens/{world.token.pk}/revoke/").status_code == 302
    revoked = events(world.org, object_type="token", action="revoke")
    assert [(e.object_id, e.actor_label) for e in revoked] == [(str(world.token.pk), "olivia")]
    assert "key_hash" not in dump(world.org)


def test_the_api_filters_by_actor_object_and_time_and_shows_only_the_organizations_events(
    world, api, editor_api, outsider_api, other_org
):
    editor_api.post(f"/api/v1/executions/{world.execution.pk}/replay/")
    by_editor = api.get("/api/v1/audit/", {"actor": "edith"}).json()
    assert by_editor["count"] == 1 and by_editor["results"][0]["action"] == "replay"
    by_object = api.get("/api/v1/audit/", {"object_type": "flow", "object_id": world.flow.pk}).json()["results"]
    assert {e["action"] for e in by_object} >= {"create", "publish", "deploy"}
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get("/api/v1/audit/", {"since": later}).json()["count"] == 0
    assert (
        api.get("/api/v1/audit/", {"until": later}).json()["count"]
        == AuditEvent.objects.filter(organization=world.org).count()
    )
    bad = api.get("/api/v1/audit/", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["errors"]
    theirs = {e["id"] for e in outsider_api.get("/api/v1/audit/", {"limit": 500}).json()["results"]}
    assert theirs == set(AuditEvent.objects.filter(organization=other_org).values_list("pk", flat=True))
    assert outsider_api.get(f"/api/v1/audit/{by_object[0]['id']}/").status_code == 404


def test_the_page_lists_and_filters_for_admins(world, session_client):
    page = session_client.get("/audit/", {"object_type": "webhook"}).content.decode()
    assert "webhook #" in page and "connector #" not in page
    assert session_client.get("/audit/", {"until": "never"}).status_code == 400


def test_events_older_than_the_retention_period_are_pruned_by_a_beat_task(world, settings):
    settings.ERPFLOW_AUDIT_RETENTION_DAYS = 30
    old = events(world.org)[:3]
    AuditEvent.objects.filter(pk__in=[e.pk for e in old]).update(created=timezone.now() - timedelta(days=31))
    kept = AuditEvent.objects.count() - 3
    assert prune_audit_log() == 3
    assert AuditEvent.objects.count() == kept
    beat = django_settings.CELERY_BEAT_SCHEDULE
    assert any(entry["task"] == "audit.tasks.prune_audit_log" for entry in beat.values())
