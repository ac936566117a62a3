"""The hot queries' plans on SQLite and PostgreSQL: an index each, never a scan of the history.

The booking steps, the waitlist, the day's bookings and the worker's jobs run against a
database holding years of bookings, every statement they send is recorded, and the plan of
each is asked for (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN`). A plan may not scan a
table that grows with the years, and each path must use the index shaped for it.

SQLite is checked without statistics (a new file, or one never analysed) and with them.
PostgreSQL plans a sequential scan of a small table whatever its indexes, so it is asked
with `enable_seqscan` off: a sequential scan then still appears when no index can serve the
query, and otherwise the plan names the index it would use on a large table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, literal, select, text
from sqlalchemy.engine import Connection

from bot import worker
from bot.app import App
from flows.intake import State
from storage import bookings, offices, waitlist
from storage.db import Database
from storage.models import (
    Booking,
    CalendarRule,
    Conversation,
    OutboxMessage,
    ProcessedEvent,
    Reminder,
    Slot,
    WaitlistEntry,
)
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to

GROWING = {
    "bookings",
    "slots",
    "conversations",
    "outbox",
    "processed_events",
    "calendar_rules",
    "waitlist",
    "reminders",
    "audit_log",
    "consents",
    "suspensions",
}
"""Tables that grow with the years (the others hold a row per office or per setting)."""

EXPECTED = {
    "booking steps": {
        "ix_bookings_pseudonym_status_starts_at",
        "ix_bookings_jobseeker_key_status_starts_at",
        "ix_bookings_status_hold_expires_at",
        "ix_calendar_rules_office_id_day",
    },
    "waitlist": {"ix_waitlist_office_id_status"},
    "day's bookings": {"ix_bookings_office_id_starts_at"},
    "reminders": {"ix_reminders_status_due_at"},
    "retention": {
        "ix_bookings_office_id_details_purged_at_starts_at",
        "ix_conversations_updated_at_office_id",
        "ix_bookings_channel_user_ref_starts_at",
        "ix_outbox_created_at",
        "ix_processed_events_processed_at",
        "ix_waitlist_office_id_created_at",
    },
}
"""The index each hot path must be planned with."""

Statement = tuple[str, str, Any]  # (path, SQL, parameters)


def _ages(count: int, *, days: float, old: int, now: datetime) -> list[datetime]:
    """Return `count` times spread over the last `days`, the last `old` of them 100+ days ago.

    As on the morning of a daily purge: most rows are within the retention period, a few
    have just passed it (the statistics stay those of a table the purge barely changes).
    """
    recent = [now - timedelta(days=days * n / (count - old)) for n in range(count - old)]
    return recent + [now - timedelta(days=100, hours=n) for n in range(old)]


def _seed(app: App, now: datetime) -> None:
    """Write three years of history: bookings, conversations, messages, rules, a waitlist."""
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        other = offices.ensure_office(
            s, code="meguro", name="目黒", meeting_app="Zoom", meeting_link_template="x"
        )
        starts = [
            now - timedelta(days=3 * 365, minutes=-7) + timedelta(hours=17 * n)
            for n in range(1500)
        ]
        places = [(o.id, at) for at in starts for o in (office, other)]
        s.execute(
            insert(Slot),
            [{"office_id": o, "starts_at": at} | {"capacity": 2, "taken": 1} for o, at in places],
        )
        slot_ids = {
            (o, at): i for o, at, i in s.execute(select(Slot.office_id, Slot.starts_at, Slot.id))
        }
        rows = []
        for n, (office_id, at) in enumerate(places):
            status = ("booked", "cancelled", "released", "no_show")[n % 4]
            rows.append(
                {
                    "office_id": office_id,
                    "slot_id": slot_ids[office_id, at],
                    "starts_at": at,
                    "hold_key": f"h{n}",
                    "status": status,
                    "hold_expires_at": at - timedelta(days=3),
                    "reference": f"HW-{n:06d}" if status != "released" else None,
                    "channel": "console",
                    "user_ref": f"u{n % 1500}",
                    "pseudonym": f"p{n % 1500}",
                    "jobseeker_key": f"k{n % 1200}",
                    "created_at": at - timedelta(days=3),
                    "details_purged_at": at + timedelta(days=90)
                    if at < now - timedelta(days=110)
                    else None,
                }
            )
        s.execute(insert(Booking), rows)
        s.execute(
            insert(Reminder).from_select(
                ["booking_id", "offset_minutes", "due_at", "status"],
                select(Booking.id, literal(60), Booking.starts_at, literal("sent")),
            )
        )
        s.execute(
            insert(Conversation),
            [
                {"channel": "console", "user_ref": f"u{n}", "pseudonym": f"p{n}"}
                | {"office_id": office.id, "state": "booked", "version": 1}
                | {"created_at": at, "updated_at": at}
                for n, at in enumerate(_ages(1200, days=80, old=250, now=now))
            ],
        )
        s.execute(
            insert(OutboxMessage),
            [
                {"channel": "console", "recipient": "u1", "payload": {}, "status": "sent"}
                | {"created_at": at}
                for at in _ages(2000, days=90, old=250, now=now)
            ],
        )
        s.execute(
            insert(ProcessedEvent),
            [
                {"channel": "console", "event_key": str(n), "processed_at": at}
                for n, at in enumerate(_ages(2000, days=90, old=250, now=now))
            ],
        )
        s.execute(
            insert(CalendarRule),
            [
                {"office_id": office.id, "day": at.date(), "kind": "closed"}
                | {"note": "", "created_at": at}
                for at in starts[::3]
            ],
        )
        offices.calendar_changed(s, office)  # as every writer of rules does
        s.execute(
            insert(WaitlistEntry),
            [
                {"office_id": (office.id, other.id)[n % 2], "channel": "console"}
                | {"user_ref": f"w{n}", "pseudonym": f"w{n}", "created_at": at}
                | {"status": ("done", "waiting", "offered", "done")[n % 4]}
                for n, at in enumerate(_ages(500, days=90, old=50, now=now))
            ],
        )


@contextmanager
def _recording(db: Database, path: str, into: list[Statement]) -> Iterator[None]:
    """Record every SELECT, UPDATE and DELETE sent while inside, under `path`."""

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "UPDATE", "DELETE"):
            into.append((path, statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _run_hot_paths(app: App, clock: Callable[[], datetime]) -> list[Statement]:
    """Walk the hot paths against a seeded database; return the statements they sent."""
    chat = ChatClient(app)
    walk_to(chat, "en", State.CHOOSING_DAY)
    _seed(app, clock())
    sent: list[Statement] = []
    with _recording(app.db, "booking steps", sent):
        chat.press(chat.choice_ids[0])
        chat.press(chat.choice_ids[0])
        chat.click("booking.choice.confirm")
        assert "booking.booked" in chat.ids
        chat.send("/mybooking")
        chat.click("mybooking.choice.cancel")
        chat.click("mybooking.choice.cancel_yes")
        assert chat.ids[0] == "mybooking.cancelled"
        app.intake.sweep_holds()
    with _recording(app.db, "waitlist", sent), app.db.transaction() as s:
        waitlist.next_waiting(s, offices.get_office(s, "shinagawa").id)
    with _recording(app.db, "day's bookings", sent), app.db.transaction() as s:
        now = clock()
        bookings.bookings_between(
            s, offices.get_office(s, "shinagawa"), now, now + timedelta(days=1)
        )
    with _recording(app.db, "reminders", sent):
        worker.send_reminders(app)
    with _recording(app.db, "retention", sent):
        purged = worker.purge_old_data(app)
    assert purged.booking_details and purged.conversations and purged.outbox_messages
    assert purged.event_keys and purged.waitlist_entries  # each delete was planned
    if not app.db.is_sqlite:  # as autovacuum would have (the worker did on SQLite)
        with app.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return sent


def _plan(conn: Connection, statement: str, parameters: Any) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row[-1]) for row in rows)
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(str(row[0]) for row in rows)


def _scanned(conn: Connection, plan: str) -> set[str]:
    """Return the growing tables a plan reads whole (a full index scan counts)."""
    pattern = r"\bSCAN (\w+)" if conn.dialect.name == "sqlite" else r"Seq Scan on (\w+)"
    return {table for table in re.findall(pattern, plan) if table in GROWING}


def _violations(conn: Connection, statements: list[Statement]) -> list[str]:
    """Return what is wrong with the plans of the recorded statements."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_seqscan = off"))
    problems, plans = [], {path: "" for path in EXPECTED}
    for path, statement, parameters in statements:
        plan = _plan(conn, statement, parameters)
        plans[path] += plan + "\n"
        if scanned := _scanned(conn, plan):
            problems.append(f"{path}: scans {sorted(scanned)}:\n{statement}\n{plan}")
    for path, indexes in EXPECTED.items():
        problems += [
            f"{path}: {name} not used:\n{plans[path]}"
            for name in sorted(indexes - set(re.findall(r"\w+", plans[path])))
        ]
    return problems


def test_no_hot_query_scans_a_growing_table(app, clock):
    statements = _run_hot_paths(app, clock)
    with app.db.engine.connect() as conn, conn.begin():  # with statistics on SQLite
        problems = _violations(conn, statements)
        assert not problems, "\n\n".join(problems)
    if app.db.is_sqlite:  # and without
        with app.db.engine.begin() as conn:
            conn.execute(text("DROP TABLE sqlite_stat1"))
        fresh = Database(app.db.url)
        with fresh.engine.connect() as conn, conn.begin():
            problems = _violations(conn, statements)
            assert not problems, "\n\n".join(problems)
        fresh.dispose()


def test_the_check_fails_when_an_index_is_dropped(app, clock):
    statements = _run_hot_paths(app, clock)
    for name in sorted(set().union(*EXPECTED.values())):
        with app.db.engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(text(f"DROP INDEX {name}"))
            problems = _violations(conn, statements)
            transaction.rollback()
        assert any(name in problem for problem in problems), name
