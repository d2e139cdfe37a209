"""Bad input that once answered 500 (issue 13): each is a clear 4xx saying what is wrong and where.

Every request goes through HTTP as a client would send it; the database is PostgreSQL, so what it
cannot store (NUL, a number JSON has no spelling for) is really tried.
"""

from __future__ import annotations

import html

import pytest

from connectors.models import Connector
from flows.models import Execution
from managed.models import ManagedCall

pytestmark = pytest.mark.django_db

TRIGGER = "/api/v1/flows/add-field/executions/"
DEEP = b"[" * 100_000 + b"]" * 100_000
LIMIT_WORDS = "more than 200 levels deep"


@pytest.fixture
def connector(org, sandbox):
    return Connector.objects.create(organization=org, type_key="http", name="Partner API")


@pytest.fixture
def managed_call(org, sandbox, connector):
    return ManagedCall.objects.create(
        organization=org, name="Ping", slug="ping", connector=connector, environment=sandbox, request="GET /ping"
    )


@pytest.fixture
def hook(api, deployed):
    response = api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["url"].split("testserver", 1)[1]


def detail(response) -> str:
    return response.json()["detail"]


# -- 1. one depth limit for every JSON body --------------------------------------------------------------


BODY_URLS = [
    "/api/v1/connectors/",
    "/api/v1/connectors/test/",
    "/api/v1/connectors/{connector}/test/",
    "/api/v1/managed-calls/",
    "/api/v1/managed-calls/ping/execute",
    "/api/v1/flows/",
    "/api/v1/flows/add-field/run/",
    "/api/v1/variables/",
    TRIGGER,
]


@pytest.mark.parametrize("url", BODY_URLS)
@pytest.mark.parametrize("body", [DEEP, b"[" * 201 + b"]" * 201], ids=["100000-levels", "201-levels"])
def test_json_nested_past_the_limit_is_a_400_on_every_api(api, deployed, managed_call, connector, url, body):
    response = api.post(url.format(connector=connector.pk), data=body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert LIMIT_WORDS in detail(response)
    assert "body" in detail(response)


def test_json_nested_past_the_limit_is_a_400_on_the_webhook(client, hook):
    response = client.post(hook, data=DEEP, content_type="application/json")
    assert response.status_code == 400
    assert LIMIT_WORDS in detail(response)
    assert not Execution.objects.exists()


def test_json_nested_up_to_the_limit_is_read(api, deployed):
    payload = b"[" * 199 + b"]" * 199
    response = api.post(
        TRIGGER, data=b'{"environment": "sandbox", "payload": ' + payload + b"}", content_type="application/json"
    )
    assert response.status_code == 202, response.content


# -- 2. dates in the audit log's filters ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["2025-13-45", "2025-02-30", "2025-02-30T08:00:00Z", "yesterday"])
def test_an_impossible_date_in_the_audit_api_is_a_400_naming_the_parameter_and_the_format(api, name, value):
    response = api.get("/api/v1/audit/", {name: value})
    assert response.status_code == 400, response.content
    message = response.json()["errors"][name][0]
    assert value in message
    assert "ISO 8601" in message and "2025-01-31" in message
    assert detail(response).startswith(f"{name}: ")


def test_a_date_alone_is_accepted_by_the_audit_api(api):
    assert api.get("/api/v1/audit/", {"since": "2025-01-31", "until": "2025-02-28"}).status_code == 200


def test_the_audit_page_shows_an_impossible_date_and_keeps_working(session_client):
    response = session_client.get("/audit/", {"since": "2025-02-30T08:00:00Z", "actor": "olivia"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page and "since: " in page and "2025-02-30T08:00:00Z" in page
    assert 'name="actor" value="olivia"' in page  # the form still holds what was typed
    assert session_client.get("/audit/", {"since": "2025-02-01"}).status_code == 200


# -- 3. NUL characters in query parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path,name",
    [
        ("/api/v1/audit/?actor=a%00b", "actor"),
        ("/api/v1/audit/?object_id=7%00", "object_id"),
        ("/api/v1/audit/?action=%00", "action"),
        ("/api/v1/connectors/?q=x%00", "q"),
        ("/api/v1/connectors/?type=%00", "type"),
        ("/api/v1/connectors/?tag=%00", "tag"),
        ("/api/v1/variables/?environment=sand%00box", "environment"),
        ("/api/v1/executions/?flow=a%00", "flow"),
        ("/api/v1/managed-calls/?page=%00", "page"),
        ("/api/v1/environments/?x%00y=1", "x\x00y"),
    ],
)
def test_a_nul_character_in_any_api_query_parameter_is_a_400_naming_it(api, path, name):
    response = api.get(path)
    assert response.status_code == 400, response.content
    assert "NUL character" in response.json()["errors"][name][0]
    assert "NUL character" in detail(response)


def test_a_nul_character_in_a_webhook_query_is_a_400_logged_without_the_token(client, hook, caplog):
    response = client.post(hook + "?source=a%00b", data=b"{}", content_type="application/json")
    assert response.status_code == 400
    assert "The query parameter 'source' contains a NUL character" in detail(response)
    assert hook.rsplit("/", 1)[1] not in caplog.text
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "path", ["/audit/?actor=a%00b", "/connectors/?q=%00", "/flows/?q=%00", "/executions/?flow=%00"]
)
def test_a_nul_character_in_a_page_filter_is_a_400_naming_it(session_client, path):
    response = session_client.get(path)
    assert response.status_code == 400
    name = path.split("?", 1)[1].split("=", 1)[0]
    page = html.unescape(response.content.decode())
    assert f"The query parameter '{name}' contains a NUL character" in page


# -- 4. numbers PostgreSQL's JSON cannot store --------------------------------------------------------------


OUT_OF_RANGE = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"]


@pytest.mark.parametrize("number", OUT_OF_RANGE)
def test_an_out_of_range_number_in_a_rest_trigger_is_a_400_saying_where(api, deployed, number):
    body = '{"environment": "sandbox", "payload": {"order": {"amount": NUMBER}}}'.replace("NUMBER", number)
    response = api.post(TRIGGER, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert f"body.payload.order.amount holds {number}, a number out of range" in detail(response)
    assert not Execution.objects.exists()


@pytest.mark.parametrize("number", OUT_OF_RANGE)
def test_an_out_of_range_number_in_a_webhook_is_a_400_saying_where(client, hook, number):
    response = client.post(
        hook, data='{"lines": [1, NUMBER]}'.replace("NUMBER", number), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert f"payload.lines[1] holds {number}, a number out of range" in detail(response)
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "url", ["/api/v1/flows/add-field/run/", "/api/v1/managed-calls/ping/execute", "/api/v1/flows/add-field/draft/"]
)
def test_an_out_of_range_number_in_any_api_body_is_a_400(api, deployed, managed_call, url):
    method = api.put if url.endswith("draft/") else api.post
    response = method(url, data='{"payload": {"x": 1e400}}', content_type="application/json")
    assert response.status_code == 400, response.content
    assert "body.payload.x holds 1e400, a number out of range" in detail(response)


@pytest.mark.parametrize("number", ["1e400", "NaN"])
def test_an_out_of_range_number_in_the_run_page_payload_is_shown_not_a_500(session_client, deployed, number):
    response = session_client.post("/flows/add-field/run/", {"payload": '{"x": [NUMBER]}'.replace("NUMBER", number)})
    assert response.status_code == 200
    assert "payload.x[0] holds NaN or an infinity, a number out of range" in html.unescape(response.content.decode())
    assert not Execution.objects.exists()


def test_large_finite_numbers_are_stored(api, deployed):
    body = '{"environment": "sandbox", "payload": {"big": 1e308, "small": -1.5e-320}}'
    response = api.post(TRIGGER, data=body, content_type="application/json")
    assert response.status_code == 202, response.content
    assert float(Execution.objects.get().input["payload"]["big"]) == 1e308


# -- 5. the draft takes the shape GET answers, and nothing it does not know ---------------------------------


DRAFT = "/api/v1/flows/add-field/draft/"


def test_putting_back_what_get_answered_saves_that_graph(api, deployed):
    got = api.get(DRAFT).json()
    got["graph"]["steps"][0]["name"] = "Renamed"
    response = api.put(DRAFT, got, format="json")
    assert response.status_code == 200, response.json()
    saved = api.get(DRAFT).json()["graph"]
    assert set(saved) == {"steps", "edges"}
    assert saved["steps"][0]["name"] == "Renamed"


@pytest.mark.parametrize(
    "body,key",
    [
        ({"steps": [], "edges": [], "stray": 1}, "stray"),
        ({"graph": {"steps": []}, "steps": []}, "steps"),
        ({"graph": {"steps": []}, "note": "x"}, "note"),
        ({"graph": {"steps": [], "stray": 1}}, "stray"),
        ({"Steps": []}, "Steps"),
    ],
)
def test_an_unknown_top_level_key_is_a_400_and_the_draft_stays(api, deployed, body, key):
    before = api.get(DRAFT).json()
    for method in (api.put, api.patch):
        response = method(DRAFT, body, format="json")
        assert response.status_code == 400, response.json()
        assert f"'{key}'" in response.json()["errors"][key][0]
        assert "steps, edges" in detail(response)
    assert api.get(DRAFT).json() == before


def test_a_graph_that_is_not_an_object_is_a_400(api, deployed):
    response = api.put(DRAFT, {"graph": [1]}, format="json")
    assert response.status_code == 400
    assert "graph" in response.json()["errors"]


# -- 6. unknown API paths answer JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug (make run)"])
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/nothing", "/api/", "/api/v1/flows/x/y/z/"])
def test_an_unknown_api_path_is_a_json_404(api, path, debug, settings):
    settings.DEBUG = debug
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert path in detail(response) and "/api/docs/" in detail(response)


def test_an_unknown_page_is_still_an_html_404(session_client):
    response = session_client.get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# -- 7. XML with a DTD, in any encoding ---------------------------------------------------------------------


LAUGHS = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<lolz>&lol3;</lolz>'
)
EXTERNAL = '<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
ENCODINGS = {
    "utf-16-bom": ("UTF-16", lambda text: text.encode("utf-16")),
    "utf-16be": ("UTF-16BE", lambda text: text.encode("utf-16-be")),
    "utf-32-bom": ("UTF-32", lambda text: text.encode("utf-32")),
    "utf-32le": ("UTF-32LE", lambda text: text.encode("utf-32-le")),
}


@pytest.mark.parametrize("document", [LAUGHS, EXTERNAL], ids=["billion-laughs", "external-entity"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_xml_with_a_dtd_is_refused_in_any_encoding(api, client, hook, document, encoding):
    name, encode = ENCODINGS[encoding]
    body = encode(document.format(encoding=name))
    for url, sender in ((TRIGGER + "?environment=sandbox", api), (hook, client)):
        response = sender.post(url, data=body, content_type="application/xml")
        assert response.status_code == 400, response.content
        assert "DOCTYPE" in detail(response)
    assert not Execution.objects.exists()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_xml_without_a_dtd_is_read_in_utf_16_and_32(api, deployed, encoding):
    name, encode = ENCODINGS[encoding]
    body = encode(f'<?xml version="1.0" encoding="{name}"?><order id="7"><sku>Å-1</sku></order>')
    response = api.post(TRIGGER + "?environment=sandbox", data=body, content_type="application/xml")
    assert response.status_code == 202, response.content
    assert Execution.objects.get().input["payload"] == {"order": {"@id": "7", "sku": "Å-1"}}


# -- 5. text PostgreSQL cannot store: a lone surrogate ------------------------------------------------------


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff"])
def test_a_lone_surrogate_in_a_rest_trigger_is_a_400_saying_where(api, deployed, escape):
    body = '{"environment": "sandbox", "payload": {"order": {"note": "a ESCAPE b"}}}'.replace("ESCAPE", escape)
    response = api.post(TRIGGER, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "payload.order.note contains a lone surrogate" in detail(response)
    assert not Execution.objects.exists()


def test_a_lone_surrogate_in_a_webhook_key_is_a_400(client, hook):
    response = client.post(hook, data='{"\\udc00": 1}', content_type="application/json")
    assert response.status_code == 400, response.content
    assert "lone surrogate" in detail(response)
    assert not Execution.objects.exists()
