"""A sync step checked against the live schema of its connector's database, when the editor asks.

``check`` answers ``{"problems": [...], "warnings": [...]}``: problems stop the step from working
(the table or a column is missing), warnings are worth a look (the key has no unique index; a
required column is assigned no value). Names compare as the database compares them: exactly on
PostgreSQL (the statements quote them), in any case on MySQL/MariaDB and SQLite, and in upper case
for Oracle's plain names. The settings are checked without a database first; when they have
problems, those are the answer.
"""

from __future__ import annotations

from typing import Any

from connectors import schema
from connectors.catalog.oracle import oracle_name
from instructions.sync_spec import PREFIX, Spec, SpecInvalid, parse

WITHOUT_UNIQUE_INDEX = {
    "postgresql": "the upsert fails (ON CONFLICT needs a unique index or constraint on exactly these columns)",
    "sqlite": "the upsert fails (ON CONFLICT needs a unique index on exactly these columns)",
    "mysql": "ON DUPLICATE KEY never finds an existing row by it, so every run inserts the rows again",
    "oracle": "MERGE still works, but nothing stops two rows from having the same key",
}


def check(connector, environment, raw: Any) -> dict:
    try:
        spec = parse(raw)
    except SpecInvalid as invalid:
        return {"problems": invalid.problems, "warnings": []}
    dialect = connector.connector_type.sql_dialect
    try:
        described = schema.table(connector, environment, spec.table, spec.schema)
    except schema.UnknownTable as missing:
        return {"problems": [PREFIX + str(missing)], "warnings": []}
    return _compare(spec, described, dialect)


def _folded(name: str, dialect: str | None) -> str:
    if dialect == "oracle":
        return oracle_name(name)
    if dialect in ("mysql", "sqlite"):
        return name.lower()
    return name


def _compare(spec: Spec, described: dict, dialect: str | None) -> dict:
    columns = {_folded(column["name"], dialect): column for column in described["columns"]}
    problems: list[str] = []
    warnings: list[str] = []
    used = [*spec.columns, *(column for column, _ in spec.scope)]
    if spec.soft_delete:
        used.append(spec.soft_delete.column)
    listed = ", ".join(column["name"] for column in described["columns"][:40])
    for name in dict.fromkeys(used):
        if _folded(name, dialect) not in columns:
            problems.append(f"{PREFIX}column '{name}' does not exist in table '{spec.table}' (columns: {listed})")

    key = {_folded(name, dialect) for name in spec.key}
    unique = [index for index in described["unique_indexes"] if {_folded(c, dialect) for c in index["columns"]} == key]
    if not unique:
        consequence = WITHOUT_UNIQUE_INDEX.get(dialect or "", "rows may be written twice")
        warnings.append(
            f"{PREFIX}table '{spec.table}' has no unique index on the key ({', '.join(spec.key)}): {consequence}"
        )
    if spec.mode != "delete":
        assigned = {_folded(name, dialect) for name in spec.columns}
        for folded, column in columns.items():
            if not column["nullable"] and column["default"] is None and folded not in assigned:
                warnings.append(
                    f"{PREFIX}column '{column['name']}' is required (NOT NULL, no default) but assigned no value: "
                    "inserting a new row will fail"
                )
    return {"problems": problems, "warnings": warnings}
