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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable


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
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_use_lifo=True)
    _ping_when_idle(engine)
    _write_later_in_order(engine)
    return engine


IDLE_PING_SECONDS = 10.0
"""A pooled PostgreSQL connection idle this long is pinged before it is handed out."""


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection only when it was idle for a while (a restarted server or a
    proxy's idle timeout), not on every checkout: a ping is a round trip, and a step under
    load takes a connection that was in use a moment ago. A dead connection is replaced
    (the pool tries again with a new one); one that died within the last seconds fails its
    first statement and is replaced then, and its event is retried by its channel (a
    webhook answered 500, an inbox row left for later)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        idle_since = record.info.pop("idle_since", None)
        if idle_since is not None and time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc


_LATER = "madoguchi_later"
_WRITING = "madoguchi_writing_later"


def later(session: Session, statement: Executable, params: Any) -> None:
    """Run a write nothing reads the result of (no RETURNING, no rowcount) in this
    transaction, in its order among the transaction's statements.

    On PostgreSQL it is sent just before the transaction's next statement or its commit,
    together with the other writes waiting then, in one round trip (psycopg's pipeline
    mode): a step's usage record, audit line, reminders and replies cost one round trip,
    not one each. A failure surfaces at that next statement or at the commit, as the same
    SQLAlchemy error, and rolls the whole transaction back. On SQLite (no network) it runs
    at once. `params` is a dict, or a list of dicts for several rows.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(statement, params)
        return
    conn.info.setdefault(_LATER, []).append((statement, params))


def _write_later_in_order(engine: Engine) -> None:
    """Send the writes `later` kept back before anything else reaches the database."""

    @event.listens_for(engine, "before_execute")
    def _before_execute(conn, *_args):  # type: ignore[no-untyped-def]
        _write_waiting(conn)

    @event.listens_for(engine, "commit")
    def _before_commit(conn):  # type: ignore[no-untyped-def]
        _write_waiting(conn)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn):  # type: ignore[no-untyped-def]
        conn.info.pop(_LATER, None)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info.pop(_LATER, None)  # its transaction ended without a commit: rolled back


def _write_waiting(conn: Connection) -> None:
    waiting = conn.info.get(_LATER)
    if not waiting or conn.info.get(_WRITING):
        return
    del conn.info[_LATER]
    if len(waiting) == 1:
        conn.execute(*waiting[0])
        return
    driver = conn.connection.driver_connection
    dbapi = conn.dialect.loaded_dbapi
    conn.info[_WRITING] = True
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            for statement, params in waiting:
                conn.execute(statement, params)
    except dbapi.Error as exc:  # raised when the pipeline syncs: say it as SQLAlchemy would
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc
    finally:
        del conn.info[_WRITING]


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
