"""Drafts saved with keys a graph does not have go back to the graph their sender meant.

Before ``flows.serializers.sent_graph``, ``PUT .../draft/`` with the shape GET answers
(``{"graph": {...}, "updated": ...}``) saved that envelope as the graph: no steps, and the sent graph
under a stray ``graph`` key. The editor sends a draft back with the keys it holds, which the API now
refuses, so such a draft could no longer be saved from the canvas. Each one is unwrapped (when its own
steps are empty and the stray ``graph`` is an object) and left with the graph's keys only.
"""

from __future__ import annotations

from django.db import migrations

GRAPH_KEYS = ("steps", "edges")


def forward(apps, schema_editor) -> None:
    Flow = apps.get_model("flows", "Flow")
    for flow in Flow.objects.only("pk", "draft").iterator():
        draft = flow.draft if isinstance(flow.draft, dict) else {}
        if all(key in GRAPH_KEYS for key in draft):
            continue
        sent = draft.get("graph")
        if isinstance(sent, dict) and not draft.get("steps"):
            draft = sent
        flow.draft = {key: value for key, value in draft.items() if key in GRAPH_KEYS}
        Flow.objects.filter(pk=flow.pk).update(draft=flow.draft)


class Migration(migrations.Migration):
    dependencies = [("flows", "0002_execution_resent")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
