"""Writes kept back (`storage.db.later`) on SQLite and PostgreSQL: they keep their place
among the transaction's statements, commit with it, fail it, and go with its rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.app import App
from flows.intake import State
from storage import offices, outbox, records, reminders
from storage.models import AuditEntry, Booking, OutboxMessage, Reminder
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import book_first_free, walk_to


def _audit(session, app: App, action: str, booking_id: int | None = None) -> None:
    records.audit(
        session,
        actor_kind="operator",
        actor="op",
        action=action,
        booking_id=booking_id,
        now=app.clock(),
    )


def _count(app: App, model) -> int:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_statement_after_a_kept_back_write_sees_it(app):
    with app.db.transaction() as session:
        _audit(session, app, "first")
        _audit(session, app, "second")
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["first", "second"]
        # a delete after them removes them: erasure can rely on the order
        session.execute(delete(AuditEntry).where(AuditEntry.action == "first"))
        _audit(session, app, "third")
    with app.db.transaction() as session:
        assert session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == [
            "second",
            "third",
        ]


def test_kept_back_writes_commit_together(app):
    chat = ChatClient(app)
    walk_to(chat, "en", State.CHOOSING_DAY)
    book_first_free(chat)
    with app.db.transaction() as session:
        booking = session.scalars(select(Booking)).one()
        office = offices.office_of(session, booking)
        session.execute(delete(Reminder))
        before = app.clock() - timedelta(days=1)
        scheduled = reminders.schedule(session, booking, office, before)  # several rows
        _audit(session, app, "rescheduled", booking.id)
        outbox.enqueue_later(
            session, channel="console", recipient="user-1", payload={"x": 1}, now=app.clock()
        )
    assert scheduled == len(office.reminder_offsets) >= 2
    assert _count(app, Reminder) == scheduled
    with app.db.transaction() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "rescheduled")) == 1
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.payload["x"].as_integer() == 1)
            )
            == 1
        )


def test_a_failing_kept_back_write_fails_the_commit_and_nothing_stays(app):
    audits_before = _count(app, AuditEntry)
    with pytest.raises(IntegrityError), app.db.transaction() as session:
        _audit(session, app, "kept")
        _audit(session, app, "no such booking", booking_id=999_999)  # foreign key
    assert _count(app, AuditEntry) == audits_before
    with app.db.transaction() as session:  # the connection is fine and holds nothing back
        _audit(session, app, "after")
    assert _count(app, AuditEntry) == audits_before + 1


def test_a_rolled_back_transaction_takes_its_kept_back_writes_with_it(app):
    class Stop(Exception):
        pass

    with pytest.raises(Stop), app.db.transaction() as session:
        _audit(session, app, "never")
        raise Stop
    with app.db.transaction() as session:  # the same pooled connection, a new transaction
        _audit(session, app, "once")
    with app.db.transaction() as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["once"]


def test_on_postgresql_consecutive_kept_back_writes_take_one_round_trip(app):
    if app.db.is_sqlite:
        pytest.skip("SQLite writes them at once: there is no round trip to save")
    sent: list[str] = []

    @event.listens_for(app.db.engine, "before_cursor_execute")
    def _sent(_conn, cursor, statement, *_args):  # type: ignore[no-untyped-def]
        pipelined = cursor.connection.pgconn.pipeline_status != 0  # libpq: PQ_PIPELINE_OFF
        sent.append(f"{'pipelined' if pipelined else 'alone'} {statement.split()[0]}")

    with app.db.transaction() as session:
        for n in range(3):
            _audit(session, app, f"line {n}")
        session.scalar(select(func.count()).select_from(AuditEntry))
    event.remove(app.db.engine, "before_cursor_execute", _sent)
    assert sent == ["pipelined INSERT"] * 3 + ["alone SELECT"]


def test_a_conversation_saved_over_a_newer_version_fails_and_keeps_the_newer(app):
    from sqlalchemy import update
    from sqlalchemy.orm.exc import StaleDataError

    from storage import conversations
    from storage.models import Conversation

    chat = ChatClient(app)
    walk_to(chat, "en", State.CHOOSING_DAY)
    with pytest.raises((StaleDataError, DBAPIError)), app.db.transaction() as session:
        row, conv = conversations.load_for_update(
            session,
            channel=chat.channel,
            user_ref=chat.user,
            office_id=1,
            vault=app.vault,
            now=app.clock(),
        )
        # another writer's update, which the lock normally rules out (Core: the row object
        # keeps the version it was loaded at)
        session.connection().execute(
            update(Conversation).where(Conversation.id == row.id).values(version=row.version + 5)
        )
        conv.state = State.CHOOSING_TIME
        conversations.save(session, row, conv, vault=app.vault, now=app.clock())
    assert chat.position()[0] == State.CHOOSING_DAY
