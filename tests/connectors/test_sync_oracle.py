"""The sync step on Oracle, against a DOUBLE of python-oracledb: no Oracle server can run here.

The double is the one of ``test_oracle_double`` (python-oracledb's documented pool and connection
API, parameters checked by the real driver's ``PoolParams``), with connections that hold tables in
memory and understand the statement shapes a sync step sends: MERGE from a UNION ALL of
``SELECT ... FROM DUAL``, SELECT/DELETE/UPDATE with ``"C" = :p``, ``"K" IN (...)`` and
``DECODE(a, b, 0, 1) = 1`` conditions, and the ``ALL_*`` catalog views. Anything else fails as
ORA-00900, so a statement the double does not recognise fails the test. Transactions follow the
driver: with ``autocommit`` off, work is kept until ``commit()`` and dropped by ``rollback()``.
What this proves: the statements' shapes, that every value is bound by name, the counting, the
transactions and ``call_timeout``; not how a real Oracle server parses them.
"""

from __future__ import annotations

import copy
import re
import sys

import pytest

from connectors import schema, sync, sync_check
from connectors.catalog.base import ConnectorError, Deadline
from tests.connectors.test_oracle_double import DoubleConnection, DoubleError, DoublePool, OracledbDouble, settings

pytestmark = pytest.mark.django_db

NAME = r'"([A-Z_][A-Z0-9_$]*)"'


class Database:
    """The server side: tables of rows (dicts), the committed state, and the catalog."""

    def __init__(self):
        self.tables: dict[str, list[dict]] = {"CUSTOMERS": []}
        self.columns = {"CUSTOMERS": [("CUSTOMER_NO", "N"), ("NAME", "Y"), ("SOURCE", "Y"), ("DELETED", "Y")]}
        self.unique = {"CUSTOMERS": [("SYS_C001", 1, "CUSTOMER_NO")]}


class SyncCursor:
    def __init__(self, connection: SyncConnection):
        self.connection = connection
        self.description = None
        self.rows: list[tuple] = []
        self.rowcount = 0

    def execute(self, statement: str, parameters=None):
        conn = self.connection
        conn.statements.append((statement, parameters, conn.call_timeout))
        self.description, self.rows, self.rowcount = None, [], 0
        params = parameters or {}
        tables = conn.work()
        if match := re.fullmatch(rf"MERGE INTO {NAME} d USING \((.+)\) s ON \((.+?)\)(.*)", statement):
            self.rowcount = merge(tables[match[1]], match[2], match[3], match[4], params)
        elif match := re.fullmatch(rf"SELECT COUNT\(\*\) FROM {NAME} WHERE (.+)", statement):
            self.answer(["N"], [(sum(1 for row in tables[match[1]] if where(row, match[2], params)),)])
        elif match := re.fullmatch(rf"SELECT {NAME} FROM {NAME}(?: WHERE (.+))?", statement):
            found = [(row[match[1]],) for row in tables[match[2]] if where(row, match[3], params)]
            self.answer([match[1]], found)
        elif match := re.fullmatch(rf"DELETE FROM {NAME} WHERE (.+)", statement):
            gone = [row for row in tables[match[1]] if where(row, match[2], params)]
            tables[match[1]][:] = [row for row in tables[match[1]] if row not in gone]
            self.rowcount = len(gone)
        elif match := re.fullmatch(rf"UPDATE {NAME} SET {NAME} = :mark WHERE (.+)", statement):
            marked = [row for row in tables[match[1]] if where(row, match[3], params)]
            for row in marked:
                row[match[2]] = params["mark"]
            self.rowcount = len(marked)
        elif "FROM all_tab_columns" in statement:
            self.answer(
                ["C", "T", "N", "D"],
                [(c, "VARCHAR2", n == "Y", None) for c, n in conn.db.columns.get(params["table"], [])],
            )
        elif "FROM all_indexes" in statement:
            self.answer(["I", "P", "C"], conn.db.unique.get(params["table"], []))
        elif "FROM all_tables" in statement:
            self.answer(["N", "T"], [(name, "BASE TABLE") for name in sorted(conn.db.tables)])
        else:
            raise DoubleError("ORA-00900", "invalid SQL statement")
        if conn.autocommit:
            conn.commit()

    def answer(self, names, rows):
        self.description = [(name, None, None, None, None, None, True) for name in names]
        self.rows, self.rowcount = rows, len(rows)

    def fetchall(self):
        return list(self.rows)

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def close(self):
        pass


def where(row: dict, text: str | None, params: dict) -> bool:
    for condition in (text or "").split(" AND "):
        if not condition:
            continue
        if match := re.fullmatch(rf"{NAME} = :(\w+)", condition):
            ok = row[match[1]] == params[match[2]]
        elif match := re.fullmatch(rf"{NAME} IN \(((?::\w+(?:, )?)+)\)", condition):
            ok = row[match[1]] in [params[name] for name in re.findall(r":(\w+)", match[2])]
        elif match := re.fullmatch(rf"DECODE\({NAME}, :(\w+), 0, 1\) = 1", condition):
            ok = row[match[1]] != params[match[2]]
        else:
            raise DoubleError("ORA-00900", f"invalid SQL statement (condition {condition!r})")
        if not ok:
            return False
    return True


def merge(table: list[dict], source: str, on: str, rest: str, params: dict) -> int:
    rows = []
    for select in source.split(" UNION ALL "):
        match = re.fullmatch(r"SELECT (.+) FROM DUAL", select)
        items = re.findall(rf":(\w+) AS {NAME}", match[1])
        rows.append({column: params[name] for name, column in items})
    keys = re.findall(rf"d\.{NAME} = s\.{NAME}", on)
    updates = re.findall(rf"d\.{NAME} = s\.{NAME}", rest.split(" WHERE ")[0]) if "WHEN MATCHED" in rest else []
    assert rest.endswith("VALUES (" + ", ".join(f's."{c}"' for c in rows[0]) + ")"), rest
    touched = 0
    for source_row in rows:
        found = [row for row in table if all(row[k] == source_row[k] for k, _ in keys)]
        if not found:
            table.append({**{column: None for column in ("NAME", "SOURCE", "DELETED")}, **source_row})
            touched += 1
        elif any(found[0][column] != source_row[column] for column, _ in updates):
            found[0].update({column: source_row[column] for column, _ in updates})
            touched += 1
    return touched


class SyncConnection(DoubleConnection):
    def __init__(self, user: str, db: Database):
        super().__init__(user)
        self.db = db
        self.pending = None
        self.commits = 0
        self.rollbacks = 0

    def work(self) -> dict:
        if self.pending is None:
            self.pending = copy.deepcopy(self.db.tables)
        return self.pending

    def commit(self):
        if self.pending is not None:
            self.db.tables = self.pending
        self.pending = None
        self.commits += 1

    def rollback(self):
        self.pending = None
        self.rollbacks += 1

    def cursor(self):
        return SyncCursor(self)


class SyncPool(DoublePool):
    def new_connection(self):
        conn = SyncConnection(self.params["user"], self.module.db)
        self.module.created.append(conn)
        return conn


class SyncOracledbDouble(OracledbDouble):
    def __init__(self):
        super().__init__()
        self.db = Database()

    def create_pool(self, **params):
        super().create_pool(**params)  # the real driver checks the parameters
        pool = SyncPool(self, params)
        self.pools[-1] = pool
        return pool


@pytest.fixture
def oracle(monkeypatch, database_connector, sandbox):
    import ipaddress

    from connectors import pools
    from connectors.egress import policy as egress_policy

    module = SyncOracledbDouble()
    monkeypatch.setitem(sys.modules, "oracledb", module)
    monkeypatch.setattr(egress_policy, "resolve", lambda name, port: [ipaddress.ip_address("10.20.30.40")])
    connector = database_connector("oracle", settings(min_idle=0, max_pool=2), [sandbox])
    yield module, connector
    pools.close_all()


def spec(**change) -> dict:
    return {
        "rows": "trigger.payload.customers",
        "table": "customers",
        "key": ["customer_no"],
        "mode": "upsert",
        "fields": [
            {"column": "customer_no", "expression": "KUNNR"},
            {"column": "name", "expression": "NAME1"},
            {"column": "source", "constant": "SAP"},
        ],
        **change,
    }


def run(connector, environment, sync_spec, rows):
    properties = {"trigger": {"payload": {"customers": rows}}}
    return sync.run(connector, environment, sync_spec, properties, Deadline(5000))


ROWS = [{"KUNNR": "C-1", "NAME1": "Nordwind"}, {"KUNNR": "C-2", "NAME1": "Sonnenhof"}]


def test_upsert_merges_with_bound_values_and_counts_inserts_updates_and_unchanged(oracle, sandbox):
    module, connector = oracle
    assert run(connector, sandbox, spec(), ROWS) == {
        "inserted": 2,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "rows": 2,
    }
    changed = [dict(ROWS[0], NAME1="Nordwind AG"), ROWS[1], {"KUNNR": "C-3", "NAME1": "Neu"}]
    assert run(connector, sandbox, spec(batch_size=2), changed) == {
        "inserted": 1, "updated": 1, "deleted": 0, "unchanged": 1, "rows": 3,
    }  # fmt: skip
    assert {row["CUSTOMER_NO"]: row["NAME"] for row in module.db.tables["CUSTOMERS"]} == {
        "C-1": "Nordwind AG", "C-2": "Sonnenhof", "C-3": "Neu",
    }  # fmt: skip
    conn = module.created[0]
    merges = [(text, params, timeout) for text, params, timeout in conn.statements if text.startswith("MERGE")]
    assert all("Nordwind" not in text for text, _, _ in merges)
    assert all(0 < timeout <= 5000 for _, _, timeout in merges), "each statement runs under call_timeout"
    assert conn.autocommit is True, "the connection goes back to the pool in autocommit"
    assert conn.commits >= 3


def test_prune_touches_only_its_scope_and_soft_delete_marks(oracle, sandbox):
    module, connector = oracle
    module.db.tables["CUSTOMERS"] = [
        {"CUSTOMER_NO": "C-7", "NAME": "gone", "SOURCE": "SAP", "DELETED": 0},
        {"CUSTOMER_NO": "C-8", "NAME": "shop", "SOURCE": "SHOP", "DELETED": 0},
    ]
    prune = spec(mode="upsert-prune-scope", scope={"source": "SAP"}, batch_size=1)
    assert run(connector, sandbox, prune, ROWS)["deleted"] == 1
    assert sorted(row["CUSTOMER_NO"] for row in module.db.tables["CUSTOMERS"]) == ["C-1", "C-2", "C-8"]

    soft = {**prune, "soft_delete": {"column": "deleted", "value": True}}
    assert run(connector, sandbox, soft, ROWS[:1])["deleted"] == 1
    marks = {row["CUSTOMER_NO"]: row["DELETED"] for row in module.db.tables["CUSTOMERS"]}
    assert marks == {"C-1": None, "C-2": 1, "C-8": 0}, "true is bound as 1: no BOOLEAN in SQL before 23ai"


def test_delete_mode_deletes_the_keys_given(oracle, sandbox):
    module, connector = oracle
    run(connector, sandbox, spec(), ROWS)
    output = run(connector, sandbox, spec(mode="delete"), [ROWS[0], {"KUNNR": "C-404"}])
    assert (output["deleted"], output["unchanged"]) == (1, 1)
    assert [row["CUSTOMER_NO"] for row in module.db.tables["CUSTOMERS"]] == ["C-2"]


def test_a_failing_statement_rolls_its_batch_back(oracle, sandbox, monkeypatch):
    module, connector = oracle
    real_merge = merge

    def failing(table, source, on, rest, params):
        if "C-2" in params.values():
            raise DoubleError("ORA-12899", "value too large for column")
        return real_merge(table, source, on, rest, params)

    monkeypatch.setattr(sys.modules[__name__], "merge", failing)
    with pytest.raises(ConnectorError, match="ORA-12899"):
        run(connector, sandbox, spec(batch_size=1), ROWS)
    assert [row["CUSTOMER_NO"] for row in module.db.tables["CUSTOMERS"]] == ["C-1"]
    conn = module.created[0]
    assert conn.rollbacks == 1 and conn.autocommit is True


def test_the_schema_and_the_live_check_read_oracles_catalog(oracle, sandbox):
    _, connector = oracle
    assert schema.tables(connector, sandbox) == [{"name": "CUSTOMERS", "type": "BASE TABLE"}]
    described = schema.table(connector, sandbox, "customers")
    assert described["unique_indexes"] == [{"name": "SYS_C001", "primary": True, "columns": ["CUSTOMER_NO"]}]
    assert sync_check.check(connector, sandbox, spec()) == {"problems": [], "warnings": []}
    missing = sync_check.check(connector, sandbox, spec(fields=[*spec()["fields"], {"column": "city", "constant": 1}]))
    assert missing["problems"][0].startswith("Sync step: column 'city' does not exist in table 'customers'")
