"""Keep nothing longer than said, on SQLite and PostgreSQL: a webhook body waits sealed and
is dropped once applied; past the retention period, no table keeps a trace of a person but
the records the office must keep (booking reference and time, consents, the audit log)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot import worker
from flows.intake import State
from storage import contacts, inbox, records
from storage.models import Base, Booking, Consent, InboundEvent
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to

LEASE = timedelta(seconds=15)
USER = "U4f7c2a9e0b1d3c5e7f9a1b3c5d7e9f01"
NUMBER = "13010-87654321"
NOTE = "Please call Ms Kawaguchi-Retention first"
INTERPRETER = "Tiếng Việt"


def dump(app) -> str:  # type: ignore[no-untyped-def]
    """Return every value of every column of every table, as text (sealed ones opened)."""
    with app.db.transaction() as s:
        return dump_in(s, app)


def dump_in(s, app) -> str:  # type: ignore[no-untyped-def]
    """Return `dump(app)` as one session sees it (uncommitted changes included)."""
    values: list[str] = []
    for table in Base.metadata.sorted_tables:
        for row in s.execute(select(table)):
            for value in row:
                if isinstance(value, (dict, list)):
                    values.append(json.dumps(value, ensure_ascii=False))
                else:
                    values.append(str(value))
                if isinstance(value, str) and value.startswith("gAAAAA"):
                    opened = app.vault.open(value)
                    values.append(json.dumps(opened, ensure_ascii=False))
    return "\n".join(values)


def identifiers_of(booking: Booking) -> dict[str, Any]:
    """Every identifier of the person `book_with_note` booked, by what it is."""
    return {
        "chat id": USER,
        "jobseeker number": NUMBER,
        "note": NOTE,
        "interpreter language": INTERPRETER,
        "meeting token": booking.meeting_token,
        "meeting URL": booking.meeting_url,
    }


def book_with_note(app) -> tuple[ChatClient, Booking]:  # type: ignore[no-untyped-def]
    chat = ChatClient(app, user=USER)
    walk_to(chat, "en", State.CHOOSING_ACCOMMODATION, asking_jobseeker_number=NUMBER)
    chat.click("accommodation.kind.interpreter")
    chat.send(INTERPRETER)
    chat.click("accommodation.choice.done")
    assert "accommodation.note.ask" in chat.ids
    chat.send(NOTE)
    assert "booking.day.ask" in chat.ids
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    with app.db.transaction() as s:
        booking = s.scalars(select(Booking).where(Booking.status == "booked")).one()
        s.expunge(booking)
    return chat, booking


def test_a_webhook_body_waits_sealed_and_is_dropped_once_applied(app, clock):
    body = json.dumps({"events": [{"source": {"userId": USER}, "message": {"text": NOTE}}]})
    with app.db.transaction() as s:
        row_id = inbox.store(
            s,
            channel="line",
            body=inbox.seal_body(app.vault, body),
            now=clock(),
            lease=LEASE,
            owner="web@a",
        )
    with app.db.transaction() as s:
        stored = s.get(InboundEvent, row_id)
        assert stored is not None and USER not in stored.body and NOTE not in stored.body
        loaded = inbox.load(s, row_id)
        assert loaded is not None and inbox.open_body(app.vault, loaded[0]) == body
        inbox.finish(s, row_id, clock())
    with app.db.transaction() as s:
        done = s.get(InboundEvent, row_id)
        assert done is not None and done.body == "" and done.processed_at is not None
    assert inbox.open_body(app.vault, body) == body  # left in the clear by an earlier version


def test_past_the_retention_period_nothing_personal_is_left(app, clock):
    chat, booking = book_with_note(app)
    identifiers = identifiers_of(booking)
    assert booking.meeting_token and booking.meeting_url
    with app.db.transaction() as s:
        # the counselors marked it a no-show; a sender remembered the chat; an event failed;
        # a webhook body waited (and was never applied)
        s.execute(update(Booking).where(Booking.id == booking.id).values(status="no_show"))
        contacts.set_keyboard_message(s, chat.channel, USER, "4711")
        records.record_failed_event(
            s, channel="line", event_key="evt-1", pseudonym="p", error="E", now=clock()
        )
        inbox.store(
            s,
            channel="line",
            body=json.dumps({"events": [{"source": {"userId": USER}}]}),  # an old clear one
            now=clock(),
            lease=LEASE,
            owner="web@a",
        )
    before = dump(app)
    assert [name for name, value in identifiers.items() if value in before] == list(identifiers)

    clock.now = booking.starts_at + timedelta(days=91)
    purged = worker.purge_old_data(app)
    assert purged.booking_details == 1 and purged.conversations == 1
    assert purged.channel_contacts == 1 and purged.outbox_messages > 0
    assert purged.inbox_rows == 1 and purged.failed_events == 1

    after = dump(app)
    assert [name for name, value in identifiers.items() if value in after] == []
    with app.db.transaction() as s:
        kept = s.scalars(select(Booking)).one()
        assert kept.reference and kept.status == "no_show" and kept.starts_at == booking.starts_at
        assert len(s.scalars(select(Consent)).all()) == 2
    assert worker.purge_old_data(app).most() == 0  # a second run finds nothing more


def test_the_retention_report_names_each_table(app, clock, caplog):
    book_with_note(app)
    clock.advance(days=400)
    with caplog.at_level("INFO", logger="madoguchi.retention"):
        worker.purge_old_data(app)
    [line] = [r.getMessage() for r in caplog.records if r.name == "madoguchi.retention"]
    for table in ("bookings", "conversations", "channel_contacts", "outbox", "inbound_events"):
        assert f"{table}" in line
    assert USER not in line and NUMBER not in line
