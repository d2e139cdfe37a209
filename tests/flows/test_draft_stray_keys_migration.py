"""Drafts that the old draft PUT saved with stray keys are unwrapped, so the canvas can save them again."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from flows.models import Flow

pytestmark = pytest.mark.django_db

migration = importlib.import_module("flows.migrations.0003_draft_stray_keys")

SENT = {"steps": [{"id": "m", "kind": "mapping", "name": "Answer", "instruction": "{'ok': true}"}], "edges": []}


def test_a_draft_saved_as_the_get_envelope_gets_back_the_graph_that_was_sent(org, api):
    broken = Flow.objects.create(
        organization=org,
        name="Broken",
        slug="broken",
        draft={"steps": [], "edges": [], "graph": SENT, "updated": "2026-12-01T10:00:00Z"},
    )
    fine = Flow.objects.create(organization=org, name="Fine", slug="fine", draft=SENT)
    stray = Flow.objects.create(organization=org, name="Stray", slug="stray", draft={**SENT, "note": "x"})
    shown = api.get("/api/v1/flows/broken/draft/").json()
    assert api.put("/api/v1/flows/broken/draft/", shown, format="json").status_code == 400, "stuck before"

    migration.forward(apps, None)

    for flow in (broken, fine, stray):
        flow.refresh_from_db()
        assert flow.draft == SENT, flow.slug
    shown = api.get("/api/v1/flows/broken/draft/").json()
    saved = api.put("/api/v1/flows/broken/draft/", shown, format="json")
    assert saved.status_code == 200, saved.content
