"""``/connectors/{id}/sap-functions/``: function names and parameters for completing BAPI instructions.

SOAP has no metadata call, so a SOAP connector answers from erpflow's shipped list; an RFC connector
asks the system (the pyrfc double of ``test_rfc_double``) and its pool keeps what it read for the
function's first call.
"""

from __future__ import annotations

import pytest

from accounts.choices import Scope
from connectors import pools
from connectors.models import Connector
from connectors.sap.known_functions import KNOWN
from tests.conftest import token_client
from tests.sap.test_rfc_double import SETTINGS, FunctionDescription, TypeDescription
from tests.sap.test_rfc_double import pyrfc as pyrfc  # noqa: F401 - the double's fixture

pytestmark = pytest.mark.django_db


def url(connector, name: str = "") -> str:
    return f"/api/v1/connectors/{connector.pk}/sap-functions/" + (f"{name}/" if name else "")


@pytest.fixture
def soap_connector(sap_connector, sandbox):
    return sap_connector(
        {"transport": "soap", "soap_url": "http://127.0.0.1:9/sap", "client": "100", "user": "U", "passwd": "p"},
        [sandbox],
    )


def test_names_containing_the_query_come_back_with_what_they_do(api, soap_connector):
    response = api.get(url(soap_connector), {"q": "bapi_sales"})
    assert response.status_code == 200
    names = [f["name"] for f in response.json()["results"]]
    assert names == ["BAPI_SALESORDER_CREATEFROMDAT2", "BAPI_SALESORDER_GETLIST"]
    assert response.json()["results"][1]["description"].startswith("List a customer's sales orders")
    prefix_first = [f["name"] for f in api.get(url(soap_connector), {"q": "GET"}).json()["results"]]
    assert "BAPI_CUSTOMER_GETLIST" in prefix_first and len(prefix_first) >= 6
    assert len(api.get(url(soap_connector)).json()["results"]) == len(KNOWN)


def test_a_soap_connector_describes_a_known_function_from_the_shipped_list(api, soap_connector):
    response = api.get(url(soap_connector, "bapi_salesorder_getlist"), {"environment": "sandbox"})
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["source"]) == ("BAPI_SALESORDER_GETLIST", "known")
    customer = body["parameters"][0]
    assert customer == {
        "name": "CUSTOMER_NUMBER",
        "direction": "import",
        "type": "CHAR",
        "length": 10,
        "optional": False,
        "description": "Sold-to customer (KUNNR)",
    }
    assert {p["direction"] for p in body["parameters"]} == {"import", "export", "tables"}


def test_every_known_function_has_well_formed_parameters():
    for name, (description, parameters) in KNOWN.items():
        assert description and parameters, name
        names = [p[0] for p in parameters]
        assert len(names) == len(set(names)), name
        for _, direction, abap_type, length, optional, text in parameters:
            assert direction in ("import", "export", "changing", "tables") and text, name
            assert abap_type.split()[0] in ("CHAR", "NUMC", "INT4", "DATS", "STRUCTURE", "TABLE"), name
            assert isinstance(length, int) and isinstance(optional, bool)


def test_an_unknown_function_over_soap_is_a_404_saying_why(api, soap_connector):
    response = api.get(url(soap_connector, "Z_MINE"))
    assert response.status_code == 404
    assert (
        response.json()["detail"] == "Z_MINE is not among the functions erpflow knows, and SOAP has no metadata call."
    )


def test_an_environment_without_settings_or_unknown_is_a_400(api, soap_connector):
    response = api.get(url(soap_connector, "STFC_CONNECTION"), {"environment": "production"})
    assert response.status_code == 400
    assert "not configured for the 'production' environment" in str(response.json())
    assert "There is no environment 'nowhere'" in str(
        api.get(url(soap_connector, "STFC_CONNECTION"), {"environment": "nowhere"}).json()
    )


def test_a_non_sap_connector_is_a_400_and_another_organizations_a_404(api, org, other_org):
    http = Connector.objects.create(organization=org, type_key="http", name="Shop")
    response = api.get(url(http), {"q": "BAPI"})
    assert response.status_code == 400
    assert "only SAP connectors have functions" in str(response.json())
    assert api.get(url(http, "STFC_CONNECTION")).status_code == 400
    foreign = Connector.objects.create(organization=other_org, type_key="sap", name="Theirs")
    assert api.get(url(foreign), {"q": "BAPI"}).status_code == 404
    assert api.get(url(foreign, "STFC_CONNECTION")).status_code == 404


def test_reading_needs_the_connectors_read_scope_and_a_share_of_the_connector(org, owner, viewer, soap_connector):
    without = token_client(org, owner, scopes=[Scope.FLOWS_READ])
    assert without.get(url(soap_connector), {"q": "BAPI"}).status_code == 403
    soap_connector.scope = Connector.Scope.CHOSEN
    soap_connector.save()
    viewer_api = token_client(org, viewer)
    assert viewer_api.get(url(soap_connector, "STFC_CONNECTION")).status_code == 404
    soap_connector.allowed_users.add(viewer)
    assert viewer_api.get(url(soap_connector, "STFC_CONNECTION")).status_code == 200


def sales_order_description() -> FunctionDescription:
    header = TypeDescription("BAPISDHD1", 20, 40)
    header.add_field("DOC_TYPE", "RFCTYPE_CHAR", 4, 8, 0, 0)
    described = FunctionDescription("Z_ORDER")
    described.add_parameter("CUSTOMER", "RFCTYPE_NUM", "RFC_IMPORT", 10, 20, parameter_text="Customer")
    described.add_parameter("HEADER", "RFCTYPE_STRUCTURE", "RFC_IMPORT", 20, 40, optional=True, type_description=header)
    described.add_parameter("AMOUNT", "RFCTYPE_BCD", "RFC_EXPORT", 7, 7, decimals=2)
    described.add_parameter("ITEMS", "RFCTYPE_TABLE", "RFC_TABLES", 20, 40, optional=True, type_description=header)
    return described


def test_an_rfc_connector_asks_the_system_and_its_pool_keeps_the_interface(api, sap_connector, sandbox, pyrfc):
    pyrfc.descriptions["Z_ORDER"] = sales_order_description()
    connector = sap_connector(SETTINGS, [sandbox])
    response = api.get(url(connector, "z_order"), {"environment": "sandbox"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["source"] == "system"
    assert body["parameters"] == [
        {
            "name": "CUSTOMER",
            "direction": "import",
            "type": "NUMC",
            "length": 10,
            "optional": False,
            "description": "Customer",
        },
        {
            "name": "HEADER",
            "direction": "import",
            "type": "STRUCTURE BAPISDHD1",
            "length": 20,
            "optional": True,
            "description": "",
        },
        {"name": "AMOUNT", "direction": "export", "type": "DEC", "length": 7, "optional": False, "description": ""},
        {
            "name": "ITEMS",
            "direction": "tables",
            "type": "TABLE BAPISDHD1",
            "length": 20,
            "optional": True,
            "description": "",
        },
    ]
    pyrfc.functions["Z_ORDER"] = lambda conn, params: {"AMOUNT": "1.00"}
    from connectors import runtime
    from connectors.catalog.base import Deadline

    runtime.call(
        connector,
        sandbox,
        "CALL FUNCTION Z_ORDER: [(CUSTOMER: 42)]",
        {"calls": [{"function": "Z_ORDER", "parameters": {"CUSTOMER": "42"}, "alias": None}]},
        Deadline(5000),
    )
    assert pyrfc.described == ["Z_ORDER"], "the call reused what the editor's question read"
    assert pyrfc.calls[-1] == ("Z_ORDER", {"CUSTOMER": "0000000042"})
    pools.close_all()


def test_over_rfc_a_function_sap_lacks_is_a_404_and_one_it_will_not_describe_comes_from_the_list(
    api, sap_connector, sandbox, pyrfc
):
    connector = sap_connector(SETTINGS, [sandbox])
    response = api.get(url(connector, "Z_NOWHERE"))
    assert response.status_code == 404
    assert response.json()["detail"] == "The SAP system has no function module Z_NOWHERE."

    class Refusing:
        def __init__(self, name):
            from tests.sap.test_rfc_double import RFCError

            raise RFCError("no authorization for S_RFC", key="RFC_NO_AUTHORITY")

    pyrfc.descriptions = type(
        "Refused", (dict,), {"__contains__": lambda self, k: True, "__getitem__": lambda self, k: Refusing(k)}
    )()
    response = api.get(url(connector, "STFC_CONNECTION"))
    assert response.status_code == 200
    assert response.json()["source"] == "known"


def test_over_rfc_a_system_that_cannot_be_reached_is_a_502(api, sap_connector, sandbox, pyrfc):
    connector = sap_connector({**SETTINGS, "passwd": "wrong"}, [sandbox])
    response = api.get(url(connector, "STFC_CONNECTION"))
    assert response.status_code == 502
    assert "the SAP logon failed" in response.json()["detail"]
    assert "wrong" not in response.json()["detail"]
