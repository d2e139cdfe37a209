"""The draft, publishing, version history, diffs, deployment, export/import and the property picker."""

from __future__ import annotations

import pytest

from flows import versions
from flows.models import Deployment, Flow, FlowVersion
from tests.api.conftest import ADD_FIELD, TWO_STEPS
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(make_flow):
    return make_flow(TWO_STEPS, slug="orders", name="Orders")


def test_the_draft_is_read_back_with_defaults_applied(api, orders):
    response = api.get("/api/v1/flows/orders/draft/")
    assert response.status_code == 200
    steps = response.json()["graph"]["steps"]
    assert [s["id"] for s in steps] == ["greet", "total"]
    assert steps[0]["timeout_ms"] == 3000


def test_putting_a_valid_draft_saves_it(editor_api, orders):
    response = editor_api.put("/api/v1/flows/orders/draft/", ADD_FIELD, format="json")
    assert response.status_code == 200, response.json()
    orders.refresh_from_db()
    assert [s["id"] for s in orders.draft["steps"]] == ["add"]


def test_an_invalid_draft_answers_one_problem_per_step_and_loses_nothing(editor_api, orders):
    before = Flow.objects.get(pk=orders.pk).draft
    bad = graph(
        [
            mapping("a", '{"x": 1}', name="Same", timeout_ms=0),
            mapping("b", "(", name="Same", timeout_ms=70000),
        ],
        [{"source": "a", "target": "ghost"}],
    )
    response = editor_api.put("/api/v1/flows/orders/draft/", bad, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was saved" in body["detail"]
    by_step = {(p["step"], p["field"]) for p in body["problems"]}
    assert ("a", "timeout_ms") in by_step
    assert ("b", "timeout_ms") in by_step
    assert ("b", "name") in by_step
    assert ("a", "edges") in by_step
    assert all(p["message"] for p in body["problems"])
    assert set(body["errors"]) == {"a", "b"}
    assert Flow.objects.get(pk=orders.pk).draft == before


def test_a_draft_that_is_not_an_object_is_refused(editor_api, orders):
    response = editor_api.put("/api/v1/flows/orders/draft/", [1, 2], format="json")
    assert response.status_code == 400
    assert "graph" in response.json()["errors"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_draft_holding_a_nul_character_is_refused_naming_where(editor_api, orders, method):
    before = Flow.objects.get(pk=orders.pk).draft
    bad = {"steps": [{"id": "greet", "instruction": '{"a": "x\u0000"}'}]}
    response = getattr(editor_api, method)("/api/v1/flows/orders/draft/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["graph"] == [
        "graph.steps[0].instruction contains a NUL character (\\u0000), which erpflow cannot store; encode binary "
        "data (for example as base64)."
    ]
    assert Flow.objects.get(pk=orders.pk).draft == before


@pytest.mark.parametrize("depth", [201, 100_000])
def test_a_draft_nested_too_deep_is_refused_and_saves_nothing(editor_api, orders, depth):
    before = Flow.objects.get(pk=orders.pk).draft
    body = b'{"steps": [], "edges": ' + b"[" * depth + b"]" * depth + b"}"
    response = editor_api.put("/api/v1/flows/orders/draft/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "The body nests objects or lists more than 200 levels deep" in response.json()["detail"]
    assert Flow.objects.get(pk=orders.pk).draft == before


def test_a_draft_over_the_request_limit_is_413_in_json_and_saves_nothing(editor_api, orders, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    before = Flow.objects.get(pk=orders.pk).draft
    big = graph([mapping("a", '{"x": "' + "y" * 5000 + '"}', name="Big")])
    response = editor_api.put("/api/v1/flows/orders/draft/", big, format="json")
    assert response.status_code == 413
    assert "the limit is 4,096 bytes" in response.json()["detail"]
    assert Flow.objects.get(pk=orders.pk).draft == before


def test_patching_the_draft_changes_one_step_field_by_field_and_keeps_the_rest(editor_api, orders):
    response = editor_api.patch(
        "/api/v1/flows/orders/draft/", {"steps": [{"id": "total", "timeout_ms": 5000}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    orders.refresh_from_db()
    total = next(s for s in orders.draft["steps"] if s["id"] == "total")
    assert total["timeout_ms"] == 5000
    assert total["instruction"].startswith('{"text"')
    assert orders.draft["edges"] == [{"source": "greet", "target": "total"}]


def test_patching_adds_steps_with_new_ids(editor_api, orders):
    new = mapping("tag", '{"tag": "x"}', name="Tag", y=3)
    response = editor_api.patch(
        "/api/v1/flows/orders/draft/",
        {"steps": [new], "edges": [{"source": "greet", "target": "total"}, {"source": "total", "target": "tag"}]},
        format="json",
    )
    assert response.status_code == 200
    orders.refresh_from_db()
    assert [s["id"] for s in orders.draft["steps"]] == ["greet", "total", "tag"]


def test_publishing_creates_numbered_versions_listed_with_author_and_time(api, editor_api, orders):
    first = api.post("/api/v1/flows/orders/publish/", {"message": "first"}, format="json")
    assert first.status_code == 201, first.json()
    assert (first.json()["number"], first.json()["author"]) == (1, "olivia")
    editor_api.patch("/api/v1/flows/orders/draft/", {"steps": [{"id": "total", "timeout_ms": 9000}]}, format="json")
    second = editor_api.post("/api/v1/flows/orders/publish/", {"message": "slower total"}, format="json")
    assert second.json()["number"] == 2
    listing = api.get("/api/v1/flows/orders/versions/").json()
    assert [(v["number"], v["author"], v["message"]) for v in listing["results"]] == [
        (2, "edith", "slower total"),
        (1, "olivia", "first"),
    ]
    assert all(v["created"] for v in listing["results"])
    detail = api.get("/api/v1/flows/orders/versions/1/").json()
    assert detail["graph"]["steps"][1]["timeout_ms"] == 3000
    assert api.get("/api/v1/flows/orders/versions/9/").status_code == 404


def test_publishing_an_empty_draft_is_refused_with_the_reason(api, make_flow):
    make_flow(slug="empty")
    response = api.post("/api/v1/flows/empty/publish/", {}, format="json")
    assert response.status_code == 400
    assert "no steps" in response.json()["detail"]
    assert not FlowVersion.objects.exists()


def test_the_diff_lists_steps_added_removed_and_changed_field_by_field(api, orders, owner):
    versions.publish(orders, owner, "one")
    changed = graph(
        [
            mapping("greet", '{"greeting": "Hi " & trigger.payload.customer}', name="Greet", timeout_ms=100),
            mapping("extra", '{"x": 1}', name="Extra", y=5),
        ]
    )
    assert versions.save_draft(orders, changed, owner) == []
    versions.publish(orders, owner, "two")
    body = api.get("/api/v1/flows/orders/diff/?from=1&to=2").json()
    assert [s["id"] for s in body["added"]] == ["extra"]
    assert [s["id"] for s in body["removed"]] == ["total"]
    [greet] = body["changed"]
    assert set(greet["fields"]) == {"instruction", "timeout_ms"}
    assert greet["fields"]["timeout_ms"] == {"from": 3000, "to": 100}
    assert body["edges"]["removed"] == [{"source": "greet", "target": "total"}]
    assert (body["from"]["number"], body["to"]["number"]) == (1, 2)
    default = api.get("/api/v1/flows/orders/diff/").json()
    assert default["from"]["number"] == 1 and default["to"]["number"] == 2


def test_the_diff_compares_the_draft_and_names_bad_versions(api, orders, owner):
    versions.publish(orders, owner, "one")
    assert api.get("/api/v1/flows/orders/diff/?to=draft").json()["changed"] == []
    response = api.get("/api/v1/flows/orders/diff/?from=7&to=1")
    assert response.status_code == 400
    assert response.json()["errors"]["from"] == ["Flow 'Orders' has no version 7."]


def test_deploying_points_an_environment_at_a_version(api, orders, owner, production):
    versions.publish(orders, owner, "one")
    versions.publish(orders, owner, "two")
    response = api.post("/api/v1/flows/orders/deploy/", {"environment": "production", "version": 1}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {**response.json(), "environment": "production", "version": 1, "deployed_by": "olivia"}
    assert Deployment.objects.get(flow=orders, environment=production).version.number == 1
    latest = api.post("/api/v1/flows/orders/deploy/", {"environment": "production"}, format="json")
    assert latest.json()["version"] == 2


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"environment": "moon"}, 400, "environment"),
        ({"environment": "sandbox", "version": 42}, 400, "version"),
        ({}, 400, "environment"),
    ],
)
def test_deploying_with_bad_input_says_what_is_wrong(api, orders, owner, body, status, field):
    versions.publish(orders, owner)
    response = api.post("/api/v1/flows/orders/deploy/", body, format="json")
    assert response.status_code == status
    assert field in response.json()["errors"]
    assert not Deployment.objects.exists()


def test_deploying_before_publishing_is_a_conflict(api, orders):
    response = api.post("/api/v1/flows/orders/deploy/", {"environment": "sandbox"}, format="json")
    assert response.status_code == 409
    assert "publish" in response.json()["detail"]


def test_export_then_import_recreates_the_flow_under_another_slug(api, orders):
    exported = api.get("/api/v1/flows/orders/export/")
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == 'attachment; filename="orders.erpflow.json"'
    data = exported.json()
    data["slug"] = "orders-copy"
    created = api.post("/api/v1/flows/import/", data, format="json")
    assert created.status_code == 201, created.json()
    copy = Flow.objects.get(slug="orders-copy")
    assert copy.draft == Flow.objects.get(slug="orders").draft
    data["description"] = "changed"
    replaced = api.post("/api/v1/flows/import/", data, format="json")
    assert replaced.status_code == 200
    assert Flow.objects.get(slug="orders-copy").description == "changed"


def test_importing_a_file_that_is_not_an_export_creates_nothing(api):
    response = api.post("/api/v1/flows/import/", {"name": "x", "graph": {}}, format="json")
    assert response.status_code == 400
    assert "format" in response.json()["errors"]
    assert not Flow.objects.exists()


@pytest.mark.parametrize(
    "change,field,words",
    [
        ({"slug": "import"}, "slug", "'import' is reserved"),
        ({"slug": "", "name": "New"}, "slug", "'new' is reserved"),
        ({"description": "a\u0000b"}, "file", "file.description contains a NUL character"),
    ],
)
def test_an_import_that_cannot_be_stored_as_given_creates_nothing(api, orders, change, field, words):
    data = api.get("/api/v1/flows/orders/export/").json() | change
    response = api.post("/api/v1/flows/import/", data, format="json")
    assert response.status_code == 400
    assert words in response.json()["errors"][field][0]
    assert list(Flow.objects.values_list("slug", flat=True)) == ["orders"]


def test_importing_a_slug_written_loosely_replaces_the_flow_it_names(api, orders):
    data = api.get("/api/v1/flows/orders/export/").json() | {"slug": "Orders", "description": "again"}
    response = api.post("/api/v1/flows/import/", data, format="json")
    assert response.status_code == 200, response.json()
    assert Flow.objects.get().description == "again"


def test_an_editor_cannot_replace_a_protected_flow_by_importing_it(api, editor_api, orders):
    data = api.get("/api/v1/flows/orders/export/").json() | {"description": "hijacked"}
    Flow.objects.filter(pk=orders.pk).update(protected=True)
    response = editor_api.post("/api/v1/flows/import/", data, format="json")
    assert response.status_code == 403
    assert Flow.objects.get(pk=orders.pk).description == ""


def test_an_editor_cannot_deploy_a_protected_flow(api, editor_api, orders, owner):
    versions.publish(orders, owner)
    Flow.objects.filter(pk=orders.pk).update(protected=True)
    response = editor_api.post("/api/v1/flows/orders/deploy/", {"environment": "sandbox"}, format="json")
    assert response.status_code == 403
    assert not Deployment.objects.exists()
    assert api.post("/api/v1/flows/orders/deploy/", {"environment": "sandbox"}, format="json").status_code == 200


def test_a_viewer_cannot_import(viewer_api, api, orders):
    data = api.get("/api/v1/flows/orders/export/").json() | {"slug": "other"}
    assert viewer_api.post("/api/v1/flows/import/", data, format="json").status_code == 403


def test_the_property_picker_lists_env_keys_trigger_fields_and_upstream_steps(api, orders, sandbox, org):
    from accounts.models import Variable

    Variable.objects.create(organization=org, environment=sandbox, key="COMPANY", value="1000")
    body = api.get("/api/v1/flows/orders/properties/?step=total&environment=sandbox").json()
    assert {"expression": "env.COMPANY", "secret": False, "example": "1000"} in body["env"]
    assert [s["expression"] for s in body["steps"]] == ["steps.greet"]
    assert api.get("/api/v1/flows/orders/properties/?step=nope").status_code == 400
    assert api.get("/api/v1/flows/orders/properties/?environment=moon").status_code == 400
