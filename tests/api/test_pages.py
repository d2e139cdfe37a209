"""The flow and execution pages: content with data, empty states, changes through forms, roles and tenancy."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from flows import versions
from flows.models import Deployment, Execution, Flow, FlowVersion, Schedule, Webhook
from tests.api.conftest import FAILING, TWO_STEPS
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_session(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def editor_session(editor):
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def orders(make_flow, sandbox):
    return make_flow(TWO_STEPS, slug="orders", name="Orders", deploy=[sandbox])


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class TestFlowList:
    def test_an_empty_organization_is_told_what_to_do(self, session_client):
        page = html(session_client.get("/flows/"))
        assert "No flows yet" in page
        assert "Create your first flow" in page

    def test_flows_are_listed_with_versions_and_deployments(self, session_client, orders):
        page = html(session_client.get("/flows/"))
        assert "Orders" in page
        assert "v1" in page
        assert "sandbox: v1" in page

    def test_a_viewer_gets_no_buttons_to_create_or_import(self, viewer_session, orders):
        page = html(viewer_session.get("/flows/"))
        assert "New flow" not in page
        assert "Import a flow" not in page

    def test_the_nav_links_to_flows_and_executions(self, session_client):
        page = html(session_client.get("/"))
        assert 'href="/flows/"' in page
        assert 'href="/executions/"' in page


class TestFlowForms:
    def test_an_editor_creates_a_flow_and_lands_on_its_page(self, editor_session, org):
        response = editor_session.post("/flows/new/", {"name": "Invoices", "description": "to SAP", "enabled": "on"})
        flow = Flow.objects.get(organization=org)
        assert response.status_code == 302
        assert response["Location"] == f"/flows/{flow.slug}/"
        assert (flow.slug, flow.enabled, flow.protected) == ("invoices", True, False)

    def test_a_duplicate_slug_is_shown_on_the_form(self, editor_session, orders):
        page = html(editor_session.post("/flows/new/", {"name": "Orders"}))
        assert "A flow with slug &#x27;orders&#x27; already exists" in page

    def test_only_admins_see_the_protected_checkbox(self, editor_session, session_client):
        assert 'name="protected"' not in html(editor_session.get("/flows/new/"))
        assert 'name="protected"' in html(session_client.get("/flows/new/"))

    def test_a_viewer_cannot_open_the_new_flow_form(self, viewer_session):
        assert viewer_session.get("/flows/new/").status_code == 403

    def test_editing_renames_the_flow(self, editor_session, orders):
        response = editor_session.post("/flows/orders/edit/", {"name": "Orders EU", "slug": "orders"})
        assert response.status_code == 302
        orders.refresh_from_db()
        assert orders.name == "Orders EU"

    def test_deleting_from_the_page_removes_the_flow(self, editor_session, orders, execution_of):
        execution_of(orders)
        assert editor_session.post("/flows/orders/delete/")["Location"] == "/flows/"
        assert not Flow.objects.filter(pk=orders.pk).exists()


class TestFlowPage:
    def test_a_new_flow_shows_empty_states_for_steps_versions_schedules_and_executions(self, session_client, make_flow):
        make_flow(slug="fresh", name="Fresh")
        page = html(session_client.get("/flows/fresh/"))
        assert "The draft has no steps yet" in page
        assert "No versions yet" in page
        assert "No schedules" in page
        assert "This flow has not run yet" in page
        assert "nothing deployed" in page

    def test_the_page_shows_the_draft_as_a_readable_step_list_and_json(self, session_client, orders, execution_of):
        execution_of(orders)
        page = html(session_client.get("/flows/orders/"))
        assert page.index(">Greet<") < page.index(">Total<"), "steps in run order"
        assert "after Greet" in page
        assert "timeout 3000 ms" in page
        assert "&quot;Hello &quot; &amp; trigger.payload.customer" in page
        assert 'name="graph"' in page
        assert "v1" in page and "olivia" in page
        assert "Sandbox" in page

    def test_the_json_editor_shows_steps_first_with_keys_in_the_order_of_the_step_form(self, session_client, orders):
        from flows.pages.flow_page import draft_text

        text = draft_text(Flow.objects.get(pk=orders.pk).draft)
        assert text.index('"steps"') < text.index('"edges"')
        assert text.index('"id": "greet"') < text.index('"kind"') < text.index('"name": "Greet"')
        assert json.loads(text) == Flow.objects.get(pk=orders.pk).draft
        assert text.replace('"', "&quot;")[:30] in html(session_client.get("/flows/orders/"))

    def test_deploying_a_version_that_does_not_exist_says_so(self, editor_session, orders):
        for version in ("abc", "7", ""):
            response = editor_session.post(
                "/flows/orders/deploy/", {"environment": "production", "version": version}, follow=True
            )
            assert "Choose a published version to deploy." in html(response)
        assert not Deployment.objects.filter(flow=orders, environment__slug="production").exists()

    def test_saving_a_draft_with_problems_lists_them_per_step_and_keeps_the_text(self, editor_session, orders):
        before = Flow.objects.get(pk=orders.pk).draft
        bad = graph([mapping("a", '{"x": 1}', name="Same"), mapping("b", "(", name="Same", timeout_ms=0)])
        text = json.dumps(bad)
        page = html(editor_session.post("/flows/orders/draft/", {"graph": text}))
        assert "Problems: nothing was saved" in page
        assert "Step &#x27;Same&#x27; (b)" in page
        assert "timeout is 0 ms" in page
        assert json.dumps(bad).replace('"', "&quot;")[:40] in page
        assert Flow.objects.get(pk=orders.pk).draft == before

    def test_saving_json_that_does_not_parse_says_where(self, editor_session, orders):
        page = html(editor_session.post("/flows/orders/draft/", {"graph": '{"steps": ['}))
        assert "not valid JSON" in page
        assert "line 1" in page

    def test_saving_a_valid_draft_redirects_with_a_message(self, editor_session, orders):
        text = json.dumps(graph([mapping("only", '{"x": 1}', name="Only")]))
        response = editor_session.post("/flows/orders/draft/", {"graph": text}, follow=True)
        assert "Saved the draft." in html(response)
        orders.refresh_from_db()
        assert [s["id"] for s in orders.draft["steps"]] == ["only"]

    def test_publishing_and_deploying_from_the_page(self, editor_session, orders, production):
        response = editor_session.post("/flows/orders/publish/", {"message": "second"}, follow=True)
        assert "Published version 2" in html(response)
        assert FlowVersion.objects.get(flow=orders, number=2).message == "second"
        response = editor_session.post(
            "/flows/orders/deploy/", {"environment": "production", "version": "2"}, follow=True
        )
        assert "Version 2 now runs in Production" in html(response)
        assert Deployment.objects.get(flow=orders, environment=production).version.number == 2

    def test_publishing_an_empty_draft_shows_the_problem(self, editor_session, make_flow):
        make_flow(slug="empty")
        page = html(editor_session.post("/flows/empty/publish/", {"message": ""}))
        assert "no steps yet" in page
        assert not FlowVersion.objects.exists()

    def test_webhooks_are_created_shown_to_editors_and_rotated(self, editor_session, viewer_session, orders):
        editor_session.post("/flows/orders/webhooks/", {"environment": "sandbox", "action": "create"})
        hook = Webhook.objects.get()
        from flows import webhooks

        path = webhooks.path_of(hook)
        assert path in html(editor_session.get("/flows/orders/"))
        viewer_page = html(viewer_session.get("/flows/orders/"))
        assert path not in viewer_page
        assert "editors see its URL" in viewer_page
        editor_session.post("/flows/orders/webhooks/", {"environment": "sandbox", "action": "rotate"})
        assert webhooks.path_of(Webhook.objects.get()) != path

    def test_schedules_are_added_toggled_and_deleted(self, editor_session, orders):
        page = html(editor_session.post("/flows/orders/schedules/", {"environment": "sandbox", "cron": "99 * * * *"}))
        assert "minute field &#x27;99&#x27;" in page
        assert not Schedule.objects.exists()
        response = editor_session.post(
            "/flows/orders/schedules/",
            {"environment": "sandbox", "cron": "0 6 * * *", "payload": "{}", "enabled": "on"},
        )
        assert response.status_code == 302
        schedule = Schedule.objects.get()
        page = html(editor_session.get("/flows/orders/"))
        assert "0 6 * * *" in page and "At 06:00" in page
        editor_session.post(f"/flows/orders/schedules/{schedule.pk}/", {"action": "disable"})
        assert not PeriodicTask.objects.get(name=f"erpflow schedule {schedule.pk}").enabled
        editor_session.post(f"/flows/orders/schedules/{schedule.pk}/", {"action": "delete"})
        assert not Schedule.objects.exists()
        assert not PeriodicTask.objects.filter(task="flows.schedules.fire").exists()

    def test_run_starts_a_test_run_and_opens_the_execution(self, editor_session, orders):
        response = editor_session.post("/flows/orders/run/", {"payload": '{"customer": "Ada", "qty": [1]}'})
        execution = Execution.objects.get()
        assert response["Location"] == f"/executions/{execution.pk}/"
        assert (execution.trigger, execution.version.snapshot) == ("manual", True)
        assert execution.input["payload"] == {"customer": "Ada", "qty": [1]}

    @pytest.mark.parametrize(
        "payload,words",
        [
            ("{customer", "The payload is not valid JSON"),
            ('{"a": "\\u0000"}', "payload.a contains a NUL character"),
            ("[" * 201 + "]" * 201, "more than 200 levels deep"),
            ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ],
    )
    def test_a_run_payload_that_cannot_run_is_shown_as_an_error(self, editor_session, orders, payload, words):
        page = html(editor_session.post("/flows/orders/run/", {"payload": payload}))
        assert words in page
        assert not Execution.objects.exists()

    def test_a_protected_flow_cannot_be_deleted_from_its_page_even_by_the_owner(self, session_client, orders):
        orders.protected = True
        orders.save()
        page = html(session_client.post("/flows/orders/delete/", follow=True))
        assert "is protected and cannot be deleted" in page
        assert Flow.objects.filter(pk=orders.pk).exists()

    def test_importing_a_file_with_a_reserved_slug_says_so_and_creates_nothing(self, editor_session, orders):
        data = json.loads(editor_session.get("/flows/orders/export/").content) | {"slug": "new"}
        upload = io.BytesIO(json.dumps(data).encode())
        upload.name = "orders.json"
        page = html(editor_session.post("/flows/import/", {"file": upload}, follow=True))
        assert "&#x27;new&#x27; is reserved" in page
        assert list(Flow.objects.values_list("slug", flat=True)) == ["orders"]

    def test_the_diff_page_shows_what_changed(self, session_client, orders, owner):
        changed = graph([mapping("greet", '{"greeting": "Hi"}', name="Greet")])
        assert versions.save_draft(orders, changed, owner) == []
        versions.publish(orders, owner, "shorter")
        page = html(session_client.get("/flows/orders/diff/?from=1&to=2"))
        assert "Steps removed" in page and "Total" in page
        assert "Steps changed" in page and "instruction" in page

    def test_export_downloads_json_and_import_creates_the_flow(self, editor_session, orders):
        exported = editor_session.get("/flows/orders/export/")
        assert exported["Content-Disposition"] == 'attachment; filename="orders.erpflow.json"'
        data = json.loads(exported.content) | {"slug": "orders-copy"}
        upload = io.BytesIO(json.dumps(data).encode())
        upload.name = "orders.json"
        response = editor_session.post("/flows/import/", {"file": upload})
        assert response["Location"] == "/flows/orders-copy/"

    def test_an_editor_cannot_change_a_protected_flow_and_is_told_why(self, editor_session, orders):
        orders.protected = True
        orders.save()
        before = Flow.objects.get(pk=orders.pk).draft
        response = editor_session.post("/flows/orders/draft/", {"graph": json.dumps(graph([]))}, follow=True)
        assert "only admins may change it" in html(response)
        assert Flow.objects.get(pk=orders.pk).draft == before


class TestExecutionPages:
    def test_an_empty_list_tells_how_executions_appear(self, session_client):
        page = html(session_client.get("/executions/"))
        assert "No executions yet" in page

    def test_the_list_filters_and_says_when_nothing_matches(
        self, session_client, orders, make_flow, sandbox, execution_of, run_now
    ):
        checks = make_flow(FAILING, slug="checks", name="Checks", deploy=[sandbox])
        failed = run_now(execution_of(checks))
        done = run_now(execution_of(orders, {"customer": "Ada", "qty": [1]}))
        page = html(session_client.get("/executions/?status=failed"))
        assert f"#{failed.pk}<" in page and f"#{done.pk}<" not in page
        assert "No executions match these filters" in html(session_client.get("/executions/?trigger=schedule"))
        bad = html(session_client.get("/executions/?since=not-a-date"))
        assert "Enter a valid date/time" in bad

    def test_the_detail_shows_each_step_and_makes_the_failing_one_easy_to_find(
        self, session_client, make_flow, sandbox, execution_of, run_now
    ):
        checks = make_flow(FAILING, slug="checks", name="Checks", deploy=[sandbox])
        failed = run_now(execution_of(checks, {"order": 1}))
        page = html(session_client.get(f"/executions/{failed.pk}/"))
        assert 'Failed at step <a href="#step-1">Check order</a>' in page
        assert 'class="run run-failed" id="step-1"' in page
        assert page.index("<strong>Fine</strong>") < page.index("<strong>Check order</strong>")
        assert "the order is incomplete" in page
        assert "$error(&quot;the order is incomplete&quot;)" in page
        assert "&quot;order&quot;: 1" in page
        assert "<strong>After</strong>" not in page, "steps after a failing step did not run"
        not_run = page[page.index('id="not-run"') :]
        assert "Not run, because the execution stopped at Check order" in not_run
        assert '<span class="pill">After</span>' in not_run
        created = timezone.localtime(failed.created).strftime("%Y-%m-%d %H:%M:%S.%f")
        assert created in page, "times to the microsecond, as in the API"

    def test_replay_and_cancel_from_the_page(self, editor_session, orders, execution_of, run_now):
        done = run_now(execution_of(orders, {"customer": "Ada", "qty": [1]}))
        response = editor_session.post(f"/executions/{done.pk}/replay/")
        replay = Execution.objects.get(replay_of=done)
        assert response["Location"] == f"/executions/{replay.pk}/"
        editor_session.post(f"/executions/{replay.pk}/cancel/")
        replay.refresh_from_db()
        assert replay.status == "cancelled"

    def test_a_viewer_sees_executions_but_cannot_replay_or_cancel(self, viewer_session, orders, execution_of):
        queued = execution_of(orders)
        page = html(viewer_session.get(f"/executions/{queued.pk}/"))
        assert "Cancel</button>" not in page
        assert viewer_session.post(f"/executions/{queued.pk}/cancel/").status_code == 403
        assert viewer_session.post(f"/executions/{queued.pk}/replay/").status_code == 403
        queued.refresh_from_db()
        assert queued.status == "queued"


VIEWER_REFUSED = [
    "/flows/orders/edit/",
    "/flows/orders/delete/",
    "/flows/orders/draft/",
    "/flows/orders/publish/",
    "/flows/orders/deploy/",
    "/flows/orders/run/",
    "/flows/orders/webhooks/",
    "/flows/orders/schedules/",
    "/flows/import/",
]


@pytest.mark.parametrize("url", VIEWER_REFUSED)
def test_a_viewer_cannot_post_to_any_flow_form(viewer_session, orders, url):
    assert viewer_session.post(url, {"graph": "{}", "environment": "sandbox", "action": "create"}).status_code == 403
    assert Flow.objects.filter(pk=orders.pk).exists()
    assert not Webhook.objects.exists()
    assert not Execution.objects.exists()


OUTSIDER_PAGES = [
    ("get", "/flows/orders/"),
    ("get", "/flows/orders/edit/"),
    ("get", "/flows/orders/diff/"),
    ("get", "/flows/orders/export/"),
    ("post", "/flows/orders/delete/"),
    ("post", "/flows/orders/draft/"),
    ("post", "/flows/orders/publish/"),
    ("post", "/flows/orders/deploy/"),
    ("post", "/flows/orders/run/"),
    ("post", "/flows/orders/webhooks/"),
    ("post", "/flows/orders/schedules/"),
    ("get", "/executions/{execution}/"),
    ("post", "/executions/{execution}/replay/"),
    ("post", "/executions/{execution}/cancel/"),
]


@pytest.mark.parametrize("method,template", OUTSIDER_PAGES)
def test_an_outsider_gets_404_on_every_page(outsider_session, orders, execution_of, method, template):
    execution = execution_of(orders)
    url = template.format(execution=execution.pk)
    response = getattr(outsider_session, method)(url, {"graph": "{}", "environment": "sandbox", "action": "create"})
    assert response.status_code == 404, url
    assert Flow.objects.filter(pk=orders.pk).exists()
    assert Execution.objects.count() == 1
    assert Execution.objects.get().status == "queued"


def test_an_outsider_cannot_change_another_organizations_schedule(outsider_session, editor_session, orders):
    editor_session.post("/flows/orders/schedules/", {"environment": "sandbox", "cron": "0 6 * * *", "enabled": "on"})
    schedule = Schedule.objects.get()
    for action in ("disable", "delete"):
        response = outsider_session.post(f"/flows/orders/schedules/{schedule.pk}/", {"action": action})
        assert response.status_code == 404
    assert Schedule.objects.get().enabled


def test_an_outsider_sees_none_of_another_organizations_flows_or_executions(outsider_session, orders, execution_of):
    execution_of(orders)
    assert "Orders" not in html(outsider_session.get("/flows/"))
    assert "No executions yet" in html(outsider_session.get("/executions/"))
