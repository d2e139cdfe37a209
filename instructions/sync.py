"""The statements of a sync step, per SQL dialect: every value bound, every name quoted.

Pure: no database here. ``connectors.sync`` runs what these functions answer. Names come from a
checked ``Spec`` (plain identifiers only, see ``instructions.sync_spec``) and are quoted for the
dialect; Oracle's plain names are upper-cased first, as Oracle stores unquoted names. A long list
of rows or keys is cut into several statements so none carries more bound values than its driver
and server take (``max_params``, and Oracle's 1000 items per IN list).

How each dialect tells inserted, updated and unchanged rows apart:

- PostgreSQL: ``INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE (columns) IS DISTINCT FROM
  (EXCLUDED columns) RETURNING (xmax = 0)``: a returned true is an insert, a false an update, a row
  not returned was unchanged (the WHERE skipped it).
- MySQL/MariaDB: ``INSERT ... ON DUPLICATE KEY UPDATE c = VALUES(c)``, whose affected-rows count is
  1 per insert and 2 per update (0 for a row set to its current values; 1 when the client flag
  FOUND_ROWS is on). With the count of the batch's keys that already existed (``count_existing``,
  in the same transaction): inserted = rows - existing, updated = (affected - inserted) / 2.
- SQLite: ``INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE <a column differs>``; changes() counts
  inserts and real updates only, so updated = changes - inserted.
- Oracle: ``MERGE INTO t USING (SELECT ... FROM DUAL UNION ALL ...) ON (key) WHEN MATCHED THEN
  UPDATE ... WHERE <a column differs> WHEN NOT MATCHED THEN INSERT``; its row count is inserts plus
  real updates, counted like SQLite's. "Differs" is ``DECODE(a, b, 0, 1) = 1``: DECODE holds two
  NULLs equal, as IS DISTINCT FROM does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from instructions.render import placeholder
from instructions.sync_spec import IDENTIFIER, Spec

Key = tuple
# The statements are built from names quoted by ``Dialect.identifier`` (plain identifiers only) and
# placeholders; every value is bound. Lines doing so carry ``noqa: S608`` for that reason.


@dataclass(frozen=True)
class Statement:
    text: str
    params: dict
    rows: int = 0  # how many source rows (or keys) it carries


class _Binds:
    def __init__(self, paramstyle: str):
        self.paramstyle = paramstyle
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return placeholder(self.paramstyle, name)


def bind_value(value: Any) -> Any:
    """A column value as the driver receives it: objects and lists become JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), max(1, size))]


class Dialect:
    name: str
    paramstyle: str
    quote = '"'
    max_params = 30_000
    max_in_items = 10_000
    reports_inserts = False  # whether the upsert itself says which rows were inserted (PostgreSQL)

    # -- names --------------------------------------------------------------------------------------

    def identifier(self, name: str) -> str:
        if not IDENTIFIER.match(name):  # the spec was checked; this guards callers that skipped it
            raise ValueError(f"'{name}' is not a plain name and cannot be used as an identifier")
        return self.quote + name + self.quote

    def table(self, spec: Spec) -> str:
        table = self.identifier(spec.table)
        return f"{self.identifier(spec.schema)}.{table}" if spec.schema else table

    def columns(self, names) -> str:
        return ", ".join(self.identifier(name) for name in names)

    def differs(self, left: str, right: str) -> str:
        raise NotImplementedError

    def value(self, value: Any) -> Any:
        return bind_value(value)

    # -- upsert -------------------------------------------------------------------------------------

    def upsert(self, spec: Spec, rows: list[tuple]) -> list[Statement]:
        """Insert-or-update statements for ``rows`` (tuples in ``spec.columns`` order)."""
        per = max(1, self.max_params // max(1, len(spec.columns)))
        return [self._upsert(spec, chunk) for chunk in _chunks(rows, per)]

    def _upsert(self, spec: Spec, rows: list[tuple]) -> Statement:
        raise NotImplementedError

    def _values(self, binds: _Binds, rows: list[tuple]) -> str:
        return ", ".join("(" + ", ".join(binds(self.value(v)) for v in row) + ")" for row in rows)

    def _others(self, spec: Spec) -> list[str]:
        keys = {k.lower() for k in spec.key}
        return [column for column in spec.columns if column.lower() not in keys]

    # -- keys ---------------------------------------------------------------------------------------

    def _key_list(self, spec: Spec) -> str:
        names = self.columns(spec.key)
        return names if len(spec.key) == 1 else f"({names})"

    def _in(self, spec: Spec, binds: _Binds, keys: list[Key]) -> str:
        if len(spec.key) == 1:
            items = ", ".join(binds(self.value(key[0])) for key in keys)
        else:
            items = ", ".join("(" + ", ".join(binds(self.value(v)) for v in key) + ")" for key in keys)
        return f"{self._key_list(spec)} IN ({items})"

    def _scope(self, spec: Spec, binds: _Binds) -> list[str]:
        return [f"{self.identifier(column)} = {binds(self.value(value))}" for column, value in spec.scope]

    def _key_chunks(self, spec: Spec, keys: list[Key]) -> list[list[Key]]:
        return _chunks(keys, min(self.max_in_items, self.max_params // len(spec.key) - len(spec.scope) - 1))

    def _where(self, spec: Spec, keys: list[Key], *, live_only: bool = False) -> list[tuple[str, dict, int]]:
        """(WHERE text, params, keys in it) per chunk of ``keys``: scope AND key IN (...)."""
        out = []
        for chunk in self._key_chunks(spec, keys):
            binds = _Binds(self.paramstyle)
            conditions = self._scope(spec, binds) + [self._in(spec, binds, chunk)]
            if live_only and spec.soft_delete:
                conditions.append(self._not_marked(spec, binds))
            out.append((" AND ".join(conditions), binds.params, len(chunk)))
        return out

    def _not_marked(self, spec: Spec, binds: _Binds) -> str:
        mark = spec.soft_delete
        return self.differs(self.identifier(mark.column), binds(self.value(mark.value)))

    def count_existing(self, spec: Spec, keys: list[Key]) -> list[Statement]:
        """``SELECT COUNT(*)`` of the rows that already have one of ``keys`` (one count per statement)."""
        return [
            Statement(f"SELECT COUNT(*) FROM {self.table(spec)} WHERE {where}", params, n)  # noqa: S608
            for where, params, n in self._where_keys_only(spec, keys)
        ]

    def _where_keys_only(self, spec: Spec, keys: list[Key]) -> list[tuple[str, dict, int]]:
        out = []
        for chunk in _chunks(keys, min(self.max_in_items, self.max_params // len(spec.key))):
            binds = _Binds(self.paramstyle)
            out.append((self._in(spec, binds, chunk), binds.params, len(chunk)))
        return out

    def keys_in_scope(self, spec: Spec) -> Statement:
        """The keys of every row in the scope (not yet marked, with a soft delete): what a prune may remove."""
        binds = _Binds(self.paramstyle)
        conditions = self._scope(spec, binds)
        if spec.soft_delete:
            conditions.append(self._not_marked(spec, binds))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return Statement(f"SELECT {self.columns(spec.key)} FROM {self.table(spec)}{where}", binds.params)  # noqa: S608

    def matching_keys(self, spec: Spec, keys: list[Key]) -> list[Statement]:
        """The keys, as the database holds them, of the rows in scope that match one of ``keys`` under the
        database's own comparison (its types, its collation)."""
        return [
            Statement(f"SELECT {self.columns(spec.key)} FROM {self.table(spec)} WHERE {where}", params, n)  # noqa: S608
            for where, params, n in self._where(spec, keys)
        ]

    def remove(self, spec: Spec, keys: list[Key]) -> list[Statement]:
        """Delete (or mark, with a soft delete) the rows in scope with one of ``keys``; each statement's row
        count is the rows it removed (a row already marked is not marked again)."""
        if spec.soft_delete is None:
            return [
                Statement(f"DELETE FROM {self.table(spec)} WHERE {where}", params, n)  # noqa: S608
                for where, params, n in self._where(spec, keys)
            ]
        out = []
        for where, params, n in self._where(spec, keys, live_only=True):
            mark = placeholder(self.paramstyle, "mark")
            text = f"UPDATE {self.table(spec)} SET {self.identifier(spec.soft_delete.column)} = {mark} WHERE {where}"  # noqa: S608
            out.append(Statement(text, {**params, "mark": self.value(spec.soft_delete.value)}, n))
        return out


class Postgres(Dialect):
    name = "postgresql"
    paramstyle = "pyformat"
    max_params = 30_000
    reports_inserts = True

    def differs(self, left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}"

    def _upsert(self, spec: Spec, rows: list[tuple]) -> Statement:
        binds = _Binds(self.paramstyle)
        others = self._others(spec)
        text = (
            f"INSERT INTO {self.table(spec)} AS d ({self.columns(spec.columns)}) VALUES {self._values(binds, rows)} "  # noqa: S608
            f"ON CONFLICT ({self.columns(spec.key)}) "
        )
        if others:
            sets = ", ".join(f"{self.identifier(c)} = EXCLUDED.{self.identifier(c)}" for c in others)
            mine = ", ".join(f"d.{self.identifier(c)}" for c in others)
            theirs = ", ".join(f"EXCLUDED.{self.identifier(c)}" for c in others)
            text += f"DO UPDATE SET {sets} WHERE ({mine}) IS DISTINCT FROM ({theirs}) "
        else:
            text += "DO NOTHING "
        return Statement(text + "RETURNING (d.xmax = 0) AS inserted", binds.params, len(rows))


class MySQL(Dialect):
    name = "mysql"
    paramstyle = "pyformat"
    quote = "`"
    max_params = 30_000

    def differs(self, left: str, right: str) -> str:
        return f"NOT ({left} <=> {right})"

    def _upsert(self, spec: Spec, rows: list[tuple]) -> Statement:
        binds = _Binds(self.paramstyle)
        others = self._others(spec) or [spec.key[0]]
        if self._others(spec):
            sets = ", ".join(f"{self.identifier(c)} = VALUES({self.identifier(c)})" for c in others)
        else:  # only key columns: a row that exists stays as it is (0 rows affected)
            sets = f"{self.identifier(others[0])} = {self.identifier(others[0])}"
        text = (
            f"INSERT INTO {self.table(spec)} ({self.columns(spec.columns)}) VALUES {self._values(binds, rows)} "  # noqa: S608
            f"ON DUPLICATE KEY UPDATE {sets}"
        )
        return Statement(text, binds.params, len(rows))


class SQLite(Dialect):
    name = "sqlite"
    paramstyle = "named"
    max_params = 30_000  # SQLite allows 32766 bound values from 3.32 on

    def differs(self, left: str, right: str) -> str:
        return f"{left} IS NOT {right}"

    def _upsert(self, spec: Spec, rows: list[tuple]) -> Statement:
        binds = _Binds(self.paramstyle)
        others = self._others(spec)
        text = (
            f"INSERT INTO {self.table(spec)} ({self.columns(spec.columns)}) VALUES {self._values(binds, rows)} "  # noqa: S608
            f"ON CONFLICT ({self.columns(spec.key)}) "
        )
        if others:
            mine = self.identifier(spec.table)
            sets = ", ".join(f"{self.identifier(c)} = excluded.{self.identifier(c)}" for c in others)
            changed = " OR ".join(
                self.differs(f"{mine}.{self.identifier(c)}", f"excluded.{self.identifier(c)}") for c in others
            )
            text += f"DO UPDATE SET {sets} WHERE {changed}"
        else:
            text += "DO NOTHING"
        return Statement(text, binds.params, len(rows))


class Oracle(Dialect):
    name = "oracle"
    paramstyle = "named"
    max_params = 10_000
    max_in_items = 1000  # ORA-01795: at most 1000 expressions in a list

    def identifier(self, name: str) -> str:
        super().identifier(name)
        return f'"{name.upper()}"'

    def differs(self, left: str, right: str) -> str:
        return f"DECODE({left}, {right}, 0, 1) = 1"

    def value(self, value: Any) -> Any:
        if isinstance(value, bool):  # a NUMBER(1) flag: SQL has no BOOLEAN before Oracle 23ai
            return int(value)
        return bind_value(value)

    def _upsert(self, spec: Spec, rows: list[tuple]) -> Statement:
        binds = _Binds(self.paramstyle)
        names = [self.identifier(c) for c in spec.columns]
        selects = []
        for row in rows:
            items = ", ".join(f"{binds(self.value(v))} AS {name}" for v, name in zip(row, names, strict=True))
            selects.append(f"SELECT {items} FROM DUAL")  # noqa: S608
        on = " AND ".join(f"d.{self.identifier(c)} = s.{self.identifier(c)}" for c in spec.key)
        text = f"MERGE INTO {self.table(spec)} d USING ({' UNION ALL '.join(selects)}) s ON ({on})"  # noqa: S608
        others = self._others(spec)
        if others:
            sets = ", ".join(f"d.{self.identifier(c)} = s.{self.identifier(c)}" for c in others)
            changed = " OR ".join(self.differs(f"d.{self.identifier(c)}", f"s.{self.identifier(c)}") for c in others)
            text += f" WHEN MATCHED THEN UPDATE SET {sets} WHERE {changed}"
        inserted = ", ".join(f"s.{name}" for name in names)
        text += f" WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) VALUES ({inserted})"  # noqa: S608
        return Statement(text, binds.params, len(rows))


DIALECTS: dict[str, Dialect] = {d.name: d for d in (Postgres(), MySQL(), SQLite(), Oracle())}


def dialect(name: str | None) -> Dialect | None:
    """The dialect of a connector type's ``sql_dialect``; None for a type that is not a SQL database."""
    return DIALECTS.get(name or "")
