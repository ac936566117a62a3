"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

On SQLite every transaction starts with BEGIN IMMEDIATE: writers queue on the database lock
instead of failing when a read turns into a write, which is what serialises conversations
and slot places across processes there. PostgreSQL uses row locks.

Statements built once: the queries and writes that every step makes (the office, the
conversation, slots and holds, usage records, the outbox) are module constants with
`bindparam()`s, executed with a dict of values. Building a statement costs more CPU than
sending it (~130 µs against ~50 µs for psycopg), and a step makes a dozen.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event decide
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # LIFO: the connection used last is used next, so a quiet office keeps one warm
    # connection (its statements prepared by psycopg after five runs) and the overflow of a
    # busy minute idles out instead of being rotated through.
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_use_lifo=True
    )


class Database:
    """An engine and its session factory; `transaction()` is one unit of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; threads of this process queue here instead of
        # polling the file lock (whose busy handler sleeps up to 100 ms between tries).
        self._writer = threading.Lock() if self.is_sqlite else contextlib.nullcontext()

    @property
    def is_sqlite(self) -> bool:
        """Return True on the embedded SQLite backend."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work commits at the end, or rolls back on error."""
        with self._writer, self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def changed(result: Result[Any]) -> int:
    """Return how many rows an UPDATE or DELETE changed (its cursor's rowcount)."""
    return cast(CursorResult[Any], result).rowcount


def refresh_statistics(session: Session) -> None:
    """Bring the query planner's statistics up to date where the backend needs to be asked.

    SQLite gathers none by itself: a sampled ANALYZE (`analysis_limit`) takes milliseconds
    on large tables. PostgreSQL's autovacuum keeps them current already.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA analysis_limit=1000"))
        session.execute(text("ANALYZE"))
