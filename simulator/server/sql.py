"""The hot path's SQL: statements written with SQLAlchemy Core, compiled once per dialect to the
driver's own text (named parameters), and run straight on the driver's cursor — no Core
execution layer per statement (≈ 70 µs each on SQLite). The drivers keep their prepared
statements: sqlite3 caches them by text, psycopg 3 prepares a query after a few executions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement

# named parameters on both drivers, so that one dict of values fits any statement
_DIALECTS: dict[str, Any] = {"sqlite": sqlite.dialect(paramstyle="named"),
                             "postgresql": postgresql.psycopg.dialect()}  # type: ignore[attr-defined]


class Sql:
    """One statement, compiled on first use for each dialect (text and default parameters,
    e.g. a LIMIT's value); values for its ``bindparam`` names are given at each run."""

    __slots__ = ("stmt", "_compiled")

    def __init__(self, stmt: ClauseElement):
        self.stmt = stmt
        self._compiled: dict[str, tuple[str, dict[str, Any]]] = {}

    def text(self, dialect: str) -> tuple[str, dict[str, Any]]:
        hit = self._compiled.get(dialect)
        if hit is None:
            compiled = self.stmt.compile(dialect=_DIALECTS[dialect])
            defaults = {k: v for k, v in compiled.params.items() if v is not None}
            hit = self._compiled[dialect] = (str(compiled), defaults)
        return hit


class Tx:
    """Statements run on a driver cursor inside a transaction someone else opened and ends
    (``Store.transaction``, or a SQLAlchemy connection's through ``Tx.over``)."""

    __slots__ = ("cursor", "dialect")

    def __init__(self, cursor: Any, dialect: str):
        self.cursor, self.dialect = cursor, dialect

    @classmethod
    def over(cls, conn: Connection) -> Tx:
        """The statements of this module on a SQLAlchemy connection (same transaction)."""
        return cls(conn.connection.driver_connection.cursor(), conn.dialect.name)  # type: ignore[union-attr]

    def _args(self, sql: Sql, values: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        text, defaults = sql.text(self.dialect)
        return text, ({**defaults, **values} if defaults else values)

    def run(self, sql: Sql, values: Mapping[str, Any]) -> None:
        self.cursor.execute(*self._args(sql, values))

    def many(self, sql: Sql, rows: Iterable[Mapping[str, Any]]) -> None:
        """The statement once per row, in one driver call (``executemany``)."""
        text, defaults = sql.text(self.dialect)
        self.cursor.executemany(text, [{**defaults, **r} for r in rows] if defaults else list(rows))

    def first(self, sql: Sql, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        self.cursor.execute(*self._args(sql, values))
        return self.cursor.fetchone()

    def all(self, sql: Sql, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.cursor.execute(*self._args(sql, values))
        return list(self.cursor.fetchall())

    def scalar(self, sql: Sql, values: Mapping[str, Any]) -> Any:
        row = self.first(sql, values)
        return None if row is None else row[0]
