"""The function modules erpflow knows without asking SAP: their main parameters, for completion in the editor.

The SOAP transport has no metadata call, so these are what the editor offers there; over RFC they are
the names offered before the system is asked, and the description when the system will not give
its own. Each parameter is ``(name, direction, ABAP type, length, optional, what it holds)``; a
structure or table parameter's type is ``STRUCTURE`` or ``TABLE`` with its dictionary type. Only the
parameters a flow commonly passes or reads are listed, not every one SAP defines.
"""

from __future__ import annotations

IMP, EXP, TAB = "import", "export", "tables"

KNOWN: dict[str, tuple[str, tuple[tuple[str, str, str, int, bool, str], ...]]] = {
    "BAPI_CUSTOMER_GETDETAIL2": (
        "Read one customer's address, general and company code data",
        (
            ("CUSTOMERNO", IMP, "CHAR", 10, False, "Customer number (KUNNR), with leading zeros"),
            ("COMPANYCODE", IMP, "CHAR", 4, True, "Company code whose data is read too"),
            ("CUSTOMERADDRESS", EXP, "STRUCTURE BAPICUSTOMER_04", 0, False, "Name and address"),
            ("CUSTOMERGENERALDETAIL", EXP, "STRUCTURE BAPICUSTOMER_KNA1", 0, False, "General data (KNA1)"),
            ("CUSTOMERCOMPANYDETAIL", EXP, "STRUCTURE BAPICUSTOMER_05", 0, False, "Company code data (KNB1)"),
            ("RETURN", EXP, "STRUCTURE BAPIRET1", 0, False, "Outcome message"),
            ("CUSTOMERBANKDETAIL", TAB, "TABLE BAPICUSTOMER_02", 0, True, "Bank details"),
        ),
    ),
    "BAPI_CUSTOMER_GETLIST": (
        "List customers in number ranges, with their addresses",
        (
            ("MAXROWS", IMP, "INT4", 4, True, "At most this many customers (0: all)"),
            ("CPDONLY", IMP, "CHAR", 1, True, "X: one-time customers only"),
            ("RETURN", EXP, "STRUCTURE BAPIRETURN1", 0, False, "Outcome message"),
            (
                "IDRANGE",
                TAB,
                "TABLE BAPICUSTOMER_IDRANGE",
                0,
                False,
                "Ranges of customer numbers (SIGN, OPTION, LOW, HIGH)",
            ),
            ("ADDRESSDATA", TAB, "TABLE BAPICUSTOMER_ADDRESSDATA", 0, True, "The customers found, with addresses"),
        ),
    ),
    "BAPI_SALESORDER_GETLIST": (
        "List a customer's sales orders in a sales organization",
        (
            ("CUSTOMER_NUMBER", IMP, "CHAR", 10, False, "Sold-to customer (KUNNR)"),
            ("SALES_ORGANIZATION", IMP, "CHAR", 4, False, "Sales organization (VKORG)"),
            ("MATERIAL", IMP, "CHAR", 18, True, "Only orders with this material"),
            ("DOCUMENT_DATE", IMP, "DATS", 8, True, "Orders created on or after this date"),
            ("DOCUMENT_DATE_TO", IMP, "DATS", 8, True, "Orders created on or before this date"),
            ("PURCHASE_ORDER", IMP, "CHAR", 20, True, "The customer's purchase order number"),
            (
                "TRANSACTION_GROUP",
                IMP,
                "CHAR",
                1,
                True,
                "Document category: 0 orders (default), 1 inquiries, 2 quotations",
            ),
            ("RETURN", EXP, "STRUCTURE BAPIRETURN", 0, False, "Outcome message"),
            ("SALES_ORDERS", TAB, "TABLE BAPIORDERS", 0, True, "The orders found, one row per item"),
        ),
    ),
    "BAPI_SALESORDER_CREATEFROMDAT2": (
        "Create a sales order (commit with BAPI_TRANSACTION_COMMIT)",
        (
            (
                "ORDER_HEADER_IN",
                IMP,
                "STRUCTURE BAPISDHD1",
                0,
                False,
                "Header: DOC_TYPE, SALES_ORG, DISTR_CHAN, DIVISION, ...",
            ),
            ("ORDER_HEADER_INX", IMP, "STRUCTURE BAPISDHD1X", 0, True, "Which header fields are given (X per field)"),
            ("SALESDOCUMENTIN", IMP, "CHAR", 10, True, "The number to give the order, with external numbering"),
            ("TESTRUN", IMP, "CHAR", 1, True, "X: check only, create nothing"),
            ("SALESDOCUMENT", EXP, "CHAR", 10, False, "Number of the order created"),
            ("RETURN", TAB, "TABLE BAPIRET2", 0, True, "Messages"),
            ("ORDER_ITEMS_IN", TAB, "TABLE BAPISDITM", 0, True, "Items: ITM_NUMBER, MATERIAL, TARGET_QTY, ..."),
            ("ORDER_ITEMS_INX", TAB, "TABLE BAPISDITMX", 0, True, "Which item fields are given"),
            (
                "ORDER_PARTNERS",
                TAB,
                "TABLE BAPIPARNR",
                0,
                False,
                "Partners: PARTN_ROLE (AG sold-to, WE ship-to), PARTN_NUMB",
            ),
            ("ORDER_SCHEDULES_IN", TAB, "TABLE BAPISCHDL", 0, True, "Schedule lines: quantities and dates"),
            ("ORDER_CONDITIONS_IN", TAB, "TABLE BAPICOND", 0, True, "Prices and surcharges"),
            ("EXTENSIONIN", TAB, "TABLE BAPIPAREX", 0, True, "Customer fields"),
        ),
    ),
    "BAPI_MATERIAL_GET_DETAIL": (
        "Read one material's general, plant and valuation data",
        (
            ("MATERIAL", IMP, "CHAR", 18, False, "Material number (MATNR)"),
            ("PLANT", IMP, "CHAR", 4, True, "Plant whose data is read too"),
            ("VALUATIONAREA", IMP, "CHAR", 4, True, "Valuation area whose data is read too"),
            ("MATERIAL_LONG", IMP, "CHAR", 40, True, "Material number, for systems with long numbers"),
            ("MATERIAL_GENERAL_DATA", EXP, "STRUCTURE BAPIMATDOA", 0, False, "General data"),
            ("MATERIALPLANTDATA", EXP, "STRUCTURE BAPIMATDOC", 0, False, "Plant data"),
            ("MATERIALVALUATIONDATA", EXP, "STRUCTURE BAPIMATDOBEW", 0, False, "Valuation data"),
            ("RETURN", EXP, "STRUCTURE BAPIRETURN", 0, False, "Outcome message"),
        ),
    ),
    "BAPI_MATERIAL_GETLIST": (
        "List materials by number, description or plant",
        (
            ("MAXROWS", IMP, "INT4", 4, True, "At most this many materials (0: all)"),
            ("MATNRSELECTION", TAB, "TABLE BAPIMATRAM", 0, True, "Ranges of material numbers"),
            ("MATERIALSHORTDESCSEL", TAB, "TABLE BAPIMATRAS", 0, True, "Ranges of short descriptions"),
            ("PLANTSELECTION", TAB, "TABLE BAPIMATRAW", 0, True, "Ranges of plants"),
            ("MATNRLIST", TAB, "TABLE BAPIMATLST", 0, True, "The materials found"),
            ("RETURN", TAB, "TABLE BAPIRET2", 0, True, "Messages"),
        ),
    ),
    "BAPI_PO_CREATE1": (
        "Create a purchase order (commit with BAPI_TRANSACTION_COMMIT)",
        (
            (
                "POHEADER",
                IMP,
                "STRUCTURE BAPIMEPOHEADER",
                0,
                False,
                "Header: COMP_CODE, DOC_TYPE, VENDOR, PURCH_ORG, ...",
            ),
            ("POHEADERX", IMP, "STRUCTURE BAPIMEPOHEADERX", 0, True, "Which header fields are given (X per field)"),
            ("TESTRUN", IMP, "CHAR", 1, True, "X: check only, create nothing"),
            ("EXPPURCHASEORDER", EXP, "CHAR", 10, False, "Number of the purchase order created"),
            ("EXPHEADER", EXP, "STRUCTURE BAPIMEPOHEADER", 0, False, "The header as created"),
            ("RETURN", TAB, "TABLE BAPIRET2", 0, True, "Messages"),
            ("POITEM", TAB, "TABLE BAPIMEPOITEM", 0, True, "Items: PO_ITEM, MATERIAL, PLANT, QUANTITY, ..."),
            ("POITEMX", TAB, "TABLE BAPIMEPOITEMX", 0, True, "Which item fields are given"),
            ("POSCHEDULE", TAB, "TABLE BAPIMEPOSCHEDULE", 0, True, "Delivery schedule lines"),
            ("POACCOUNT", TAB, "TABLE BAPIMEPOACCOUNT", 0, True, "Account assignment"),
        ),
    ),
    "BAPI_PO_GETDETAIL1": (
        "Read one purchase order with its items",
        (
            ("PURCHASEORDER", IMP, "CHAR", 10, False, "Purchase order number (EBELN)"),
            ("ACCOUNT_ASSIGNMENT", IMP, "CHAR", 1, True, "X: read the account assignment too"),
            ("ITEM_TEXT", IMP, "CHAR", 1, True, "X: read item texts too"),
            ("HEADER_TEXT", IMP, "CHAR", 1, True, "X: read header texts too"),
            ("POHEADER", EXP, "STRUCTURE BAPIMEPOHEADER", 0, False, "Header"),
            ("RETURN", TAB, "TABLE BAPIRET2", 0, True, "Messages"),
            ("POITEM", TAB, "TABLE BAPIMEPOITEM", 0, True, "Items"),
            ("POSCHEDULE", TAB, "TABLE BAPIMEPOSCHEDULE", 0, True, "Delivery schedule lines"),
            ("POACCOUNT", TAB, "TABLE BAPIMEPOACCOUNT", 0, True, "Account assignment"),
        ),
    ),
    "RFC_READ_TABLE": (
        "Read rows of a database table or view (text of at most 512 characters a row)",
        (
            ("QUERY_TABLE", IMP, "CHAR", 30, False, "Table or view name, such as T001"),
            ("DELIMITER", IMP, "CHAR", 1, True, "Character between fields in each DATA row"),
            ("NO_DATA", IMP, "CHAR", 1, True, "X: return the FIELDS only, no rows"),
            ("ROWSKIPS", IMP, "INT4", 4, True, "Skip this many rows"),
            ("ROWCOUNT", IMP, "INT4", 4, True, "At most this many rows (0: all)"),
            ("OPTIONS", TAB, "TABLE RFC_DB_OPT", 0, True, "WHERE clause in lines of 72 characters (TEXT)"),
            (
                "FIELDS",
                TAB,
                "TABLE RFC_DB_FLD",
                0,
                True,
                "Fields to read (FIELDNAME); their offsets and lengths come back",
            ),
            ("DATA", TAB, "TABLE TAB512", 0, True, "The rows read (WA)"),
        ),
    ),
    "BAPI_TRANSACTION_COMMIT": (
        "Commit the changes of the BAPIs called before, on the same session",
        (
            ("WAIT", IMP, "CHAR", 1, True, "X: wait until the update has been written"),
            ("RETURN", EXP, "STRUCTURE BAPIRET2", 0, False, "Outcome message"),
        ),
    ),
    "BAPI_TRANSACTION_ROLLBACK": (
        "Roll back the changes of the BAPIs called before, on the same session",
        (("RETURN", EXP, "STRUCTURE BAPIRET2", 0, False, "Outcome message"),),
    ),
    "STFC_CONNECTION": (
        "Echo a text: tests that calls reach the system",
        (
            ("REQUTEXT", IMP, "CHAR", 255, False, "Text to echo"),
            ("ECHOTEXT", EXP, "CHAR", 255, False, "The text, echoed"),
            ("RESPTEXT", EXP, "CHAR", 255, False, "The answering system, client and user"),
        ),
    ),
}
