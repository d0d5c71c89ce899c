"""The simulated DMP's store: SQLAlchemy engines on a SQLite file (WAL) or PostgreSQL, the
schema created on first start, and short transactions — one per submission, so that a
submission is stored whole or not at all and an acknowledged one is committed.

SQLite: write transactions start with ``BEGIN IMMEDIATE`` (one writer at a time, waiting on
the lock instead of failing midway) and ``synchronous=NORMAL`` in WAL mode, which keeps every
committed transaction when the server process is killed (``full`` also survives a power cut).
Writers queue on a lock first — a thread lock, then an ``flock`` on ``<file>.lock`` shared by
every worker process — so that they take turns at once rather than in SQLite's busy handler,
which polls with sleeps of 1 to 100 ms.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, create_engine, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from simulator.core.errors import UsageError
from simulator.server import schema as S
from simulator.server.config import ServerConfig, sqlite_path
from simulator.server.sql import Sql, Tx


def utc_now() -> str:
    """Now as a UTC instant with microseconds (access log)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_instant() -> str:
    """Now as a FHIR instant in UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sqlite_engine(url: str, sync: str, immediate: bool) -> Engine:
    engine = create_engine(url, pool_size=8, max_overflow=32, pool_timeout=60)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below starts transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {'FULL' if sync == 'full' else 'NORMAL'}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """Engines and transactions of one database; ``write()`` and ``read()`` yield a connection
    inside a transaction (committed when the block ends, rolled back when it raises)."""

    def __init__(self, config: ServerConfig):
        self.config = config
        url = config.db_url
        self.is_sqlite = url.startswith("sqlite")
        path = sqlite_path(url)
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"--db: folder {path.parent} does not exist")
        try:
            if self.is_sqlite:
                self._write = _sqlite_engine(url, config.sqlite_sync, immediate=True)
                self._read = _sqlite_engine(url, config.sqlite_sync, immediate=False)
            else:
                self._write = self._read = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise UsageError(f"--db: cannot use {_safe(url)} ({_first_line(exc)})") from None
        self.dialect = "sqlite" if self.is_sqlite else "postgresql"
        # one writer at a time (SQLite allows one anyway): in this process, then among processes
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        self._lock_path = path.with_name(path.name + ".lock") if path is not None else None
        self._lock_fd: int | None = None

    def create_schema(self) -> None:
        """Create the tables if they do not exist; record the schema version."""
        try:
            with self._write.begin() as conn:
                S.metadata.create_all(conn)
                version = conn.execute(select(S.server_info.c.value).where(S.server_info.c.key == "schema")).scalar()
                if version is None:
                    conn.execute(insert(S.server_info).values(key="schema", value=S.SCHEMA_VERSION))
                elif version == "1":  # version 2 added three columns to the access log
                    for column in ("actor_structure TEXT", "author TEXT", "requests INTEGER NOT NULL DEFAULT 1"):
                        conn.exec_driver_sql(f"ALTER TABLE access_log ADD COLUMN {column}")
                    conn.execute(update(S.server_info).where(S.server_info.c.key == "schema")
                                 .values(value=S.SCHEMA_VERSION))
                elif version != S.SCHEMA_VERSION:
                    raise UsageError(f"--db: schema version {version} found, this server writes {S.SCHEMA_VERSION}")
        except SQLAlchemyError as exc:  # not a database, unreachable server, no permission…
            raise UsageError(f"--db: cannot open {_safe(self.config.db_url)} ({_first_line(exc)})") from None

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """This process's turn to write (SQLite); nothing to wait for on PostgreSQL."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            if self._lock_path is None:
                yield
                return
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # waits with the GIL released
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction on a SQLAlchemy connection (committed at the end of the block)."""
        with self._writer(), self._write.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction on the driver's own connection, for the request path's compiled
        statements (``simulator.server.sql``): committed at the end of the block, rolled back
        when it raises."""
        with self._writer():
            raw = self._write.raw_connection()
            try:
                cursor = raw.cursor()
                if self.is_sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(cursor, self.dialect)
                except BaseException:
                    raw.rollback()
                    raise
                raw.commit()
            finally:
                raw.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot)."""
        with self._read.begin() as conn:
            yield conn

    def info(self) -> dict[str, str]:
        """The server facts (schema version, seeding scenario, rule dates…)."""
        with self.read() as conn:
            return {r.key: r.value for r in conn.execute(select(S.server_info))}

    def dispose(self) -> None:
        self._write.dispose()
        if self._read is not self._write:
            self._read.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


_LOG_COLUMNS = ("at", "actor_kind", "actor", "actor_structure", "action", "target", "patient_ins", "status",
                "outcome", "author")
_INSERT_LOG = Sql(insert(S.access_log).values({c: bindparam(c) for c in _LOG_COLUMNS}).inline())


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def printable(text: str, limit: int = 300) -> str:
    """``text`` as the access log stores it: at most ``limit`` characters, control characters
    and lone surrogates (which PostgreSQL's text refuses) shown as '?'."""
    return _UNPRINTABLE.sub("?", text[:limit])


def log_access(tx: Tx, *, actor_kind: str, actor: str, action: str, target: str,
               patient_ins: str | None, status: int, outcome: str, actor_structure: str | None = None,
               author: str | None = None) -> None:
    """One row of the access log (who — the submitter and the structure it acts for —, what,
    when, outcome, and for a submission the documents' authors), in the caller's transaction."""
    tx.run(_INSERT_LOG, dict(
        at=utc_now(), actor_kind=actor_kind, actor=printable(actor), actor_structure=actor_structure,
        action=action, target=printable(target), patient_ins=patient_ins, status=status,
        outcome=printable(outcome, 60), author=printable(author) if author else None))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _safe(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url
