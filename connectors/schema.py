"""What a SQL connector's database holds, read live: its tables, a table's columns and unique indexes.

The editor's sync step form picks a table and its key from here, and ``connectors.sync_check``
checks a sync step against it. Each dialect reads its own catalog (PostgreSQL's ``pg_catalog``
and ``information_schema``, MySQL/MariaDB's ``information_schema``, SQLite's ``pragma_*`` table
functions, Oracle's ``ALL_*`` views), through the connector's pool like any step
(``connectors.sql_session``), with every name bound as a value. ``schema`` None means the
connection's own: the owner set on the connector (``search_path``, ``USE``, ``CURRENT_SCHEMA``) or
the user's default. Unique indexes are those a key can rely on: no partial index (its WHERE
covers only some rows) and no index on an expression.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from connectors.catalog.base import Deadline
from connectors.catalog.oracle import oracle_name
from connectors.sql_session import Session, session

SCHEMA_MS = 10_000
MAX_TABLES = 5000


class UnknownTable(Exception):
    """The table is not in the schema (or the connector's user may not see it)."""


POSTGRES = {
    "tables": (
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = COALESCE(%(schema)s::text, current_schema()) ORDER BY table_name"
    ),
    "columns": (
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, pg_get_expr(d.adbin, d.adrelid) "
        "FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND t.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND n.nspname = COALESCE(%(schema)s::text, current_schema()) AND t.relname = %(table)s ORDER BY a.attnum"
    ),
    "unique": (
        "SELECT i.relname, ix.indisprimary, a.attname FROM pg_index ix "
        "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "JOIN pg_class i ON i.oid = ix.indexrelid "
        "CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE ix.indisunique AND ix.indpred IS NULL AND NOT (0 = ANY (ix.indkey::int2[])) "
        "AND n.nspname = COALESCE(%(schema)s::text, current_schema()) AND t.relname = %(table)s "
        "ORDER BY i.relname, k.ord"
    ),
}
MYSQL = {
    "tables": (
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = COALESCE(%(schema)s, DATABASE()) ORDER BY table_name"
    ),
    "columns": (
        "SELECT column_name, column_type, is_nullable = 'YES', column_default FROM information_schema.columns "
        "WHERE table_schema = COALESCE(%(schema)s, DATABASE()) AND table_name = %(table)s ORDER BY ordinal_position"
    ),
    "unique": (
        "SELECT index_name, index_name = 'PRIMARY', column_name FROM information_schema.statistics "
        "WHERE table_schema = COALESCE(%(schema)s, DATABASE()) AND table_name = %(table)s AND non_unique = 0 "
        "ORDER BY index_name, seq_in_index"
    ),
}
SQLITE = {
    "tables": (
        "SELECT name, CASE type WHEN 'view' THEN 'VIEW' ELSE 'BASE TABLE' END FROM sqlite_master "
        "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite!_%' ESCAPE '!' AND :schema IS NULL ORDER BY name"
    ),
    "columns": (
        'SELECT name, type, "notnull" = 0, dflt_value FROM pragma_table_info(:table) WHERE :schema IS NULL ORDER BY cid'
    ),
    "unique": (
        "SELECT il.name AS index_name, il.origin = 'pk' AS is_primary, ii.name AS column_name, ii.seqno "
        "FROM pragma_index_list(:table) AS il "
        'JOIN pragma_index_info(il.name) AS ii WHERE il."unique" = 1 AND il.partial = 0 AND :schema IS NULL '
        # an INTEGER PRIMARY KEY is the rowid itself: unique, but listed as no index
        "UNION ALL SELECT 'PRIMARY KEY', 1, name, pk FROM pragma_table_info(:table) WHERE pk > 0 "
        "AND :schema IS NULL AND NOT EXISTS (SELECT 1 FROM pragma_index_list(:table) WHERE origin = 'pk') "
        "ORDER BY 1, 4"
    ),
}
ORACLE = {
    "tables": (
        "SELECT table_name, 'BASE TABLE' FROM all_tables "
        "WHERE owner = COALESCE(:schema, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
        "UNION ALL SELECT view_name, 'VIEW' FROM all_views "
        "WHERE owner = COALESCE(:schema, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) ORDER BY 1"
    ),
    "columns": (
        "SELECT column_name, data_type, CASE nullable WHEN 'Y' THEN 1 ELSE 0 END, "
        "CASE WHEN default_length > 0 THEN 'DEFAULT' END FROM all_tab_columns "
        "WHERE owner = COALESCE(:schema, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND table_name = :table "
        "ORDER BY column_id"
    ),
    "unique": (
        "SELECT i.index_name, (SELECT COUNT(*) FROM all_constraints k WHERE k.owner = i.table_owner "
        "AND k.index_name = i.index_name AND k.constraint_type = 'P'), c.column_name "
        "FROM all_indexes i JOIN all_ind_columns c ON c.index_owner = i.owner AND c.index_name = i.index_name "
        "WHERE i.table_owner = COALESCE(:schema, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
        "AND i.table_name = :table AND i.uniqueness = 'UNIQUE' ORDER BY i.index_name, c.column_position"
    ),
}
CATALOG = {"postgresql": POSTGRES, "mysql": MYSQL, "sqlite": SQLITE, "oracle": ORACLE}


def tables(connector, environment, schema: str | None = None) -> list[dict]:
    """``[{"name", "type"}]`` of the schema's tables and views ("BASE TABLE" or "VIEW"), by name."""
    with _session(connector, environment) as db:
        found = db.tuples(CATALOG[db.dialect]["tables"], {"schema": _schema(db, schema)})
    return [{"name": name, "type": kind} for name, kind in found[:MAX_TABLES]]


def table(connector, environment, name: str, schema: str | None = None) -> dict:
    """``{"name", "schema", "columns": [{"name", "type", "nullable", "default"}], "unique_indexes":
    [{"name", "primary", "columns"}]}``; UnknownTable when the schema has no such table."""
    with _session(connector, environment) as db:
        params = {"schema": _schema(db, schema), "table": _stored(db, name)}
        columns = db.tuples(CATALOG[db.dialect]["columns"], params)
        indexes = db.tuples(CATALOG[db.dialect]["unique"], params) if columns else []
    if not columns:
        where = f"schema '{schema}'" if schema else "the connector's schema"
        raise UnknownTable(f"There is no table '{name}' in {where} (or the connector's user may not see it).")
    return {
        "name": name,
        "schema": schema,
        "columns": [
            {"name": column, "type": str(kind or ""), "nullable": bool(nullable), "default": default}
            for column, kind, nullable, default in columns
        ],
        "unique_indexes": _grouped(indexes),
    }


def _grouped(rows: list[tuple]) -> list[dict]:
    """One entry per index from (index, primary, column) rows in column order; an index with an
    expression part (a column without a name) is left out."""
    indexes: dict[str, dict] = {}
    for index, primary, column, *_ in rows:
        entry = indexes.setdefault(index, {"name": index, "primary": bool(primary), "columns": []})
        entry["columns"].append(column)
    return [entry for entry in indexes.values() if None not in entry["columns"]]


def _stored(db: Session, name: str | None) -> str | None:
    """A name as the catalog stores it: Oracle keeps plain names in upper case."""
    if name is None or db.dialect != "oracle":
        return name
    return oracle_name(name)


def _schema(db: Session, schema: str | None) -> str | None:
    """The schema to look in, None for the connection's own; SQLite's own is called "main"."""
    return None if db.dialect == "sqlite" and schema == "main" else _stored(db, schema)


def _session(connector, environment) -> AbstractContextManager[Session]:
    return session(connector, environment, Deadline(SCHEMA_MS))
