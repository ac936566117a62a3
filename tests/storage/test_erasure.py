"""Erase on request, on SQLite and PostgreSQL: a booked person is erased, every table and
column is read back (sealed values opened), and none of their identifiers is left; the
counselors are told of the cancelled booking and the audit log keeps one receipt."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from bot import counselors
from storage import contacts, erasure
from storage.models import AuditEntry, Booking, OutboxMessage, Slot
from tests.storage.test_privacy_retention import (
    INTERPRETER,
    NOTE,
    NUMBER,
    USER,
    book_with_note,
    dump,
)


def test_an_erased_person_leaves_no_identifier_in_any_table(app, clock):
    chat, booking = book_with_note(app)
    with app.db.transaction() as s:
        contacts.set_keyboard_message(s, chat.channel, USER, "4711")
    identifiers = {
        "chat id": USER,
        "jobseeker number": NUMBER,
        "note": NOTE,
        "interpreter language": INTERPRETER,
        "meeting token": booking.meeting_token,
        "meeting URL": booking.meeting_url,
    }
    before = dump(app)
    assert [n for n, v in identifiers.items() if v in before] == list(identifiers)

    for given in (booking.reference, NUMBER):
        with app.db.transaction() as s:
            person = erasure.find(s, app.vault, given)
            assert person is not None and person.booking_ids == {booking.id}
            found, counts = erasure.show(s, person)
            assert [b.reference for b in found] == [booking.reference]
            assert counts["conversations"] == 1 and counts["consents"] == 2
    with app.db.transaction() as s:
        person = erasure.find(s, app.vault, booking.reference)
        assert person is not None
        erased, cancelled = erasure.erase(
            s, app.vault, person, now=clock(), requested_by="operator:sato"
        )
    assert [b.id for b in cancelled] == [booking.id]
    assert erased["conversations"] == 1 and erased["channel_contacts"] == 1
    assert erased["consents"] == 2 and erased["bookings"] == 1

    after = dump(app)
    assert [n for n, v in identifiers.items() if v in after] == []
    with app.db.transaction() as s:
        kept = s.get(Booking, booking.id)
        assert kept is not None and kept.status == "cancelled" and kept.user_ref == ""
        assert s.scalar(select(func.sum(Slot.taken))) == 0  # the place is free again
        [told] = s.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "counselors")
        ).all()
        assert told.payload == {"kind": "cancelled", "booking_id": booking.id}
        [receipt] = s.scalars(select(AuditEntry)).all()
        assert receipt.action == "erased" and receipt.actor == "operator:sato"
        assert receipt.detail["pseudonym"] == app.vault.pseudonym(chat.channel, USER)
        assert receipt.detail["erased"]["consents"] == 2
        assert erasure.find(s, app.vault, NUMBER) is None  # nothing left to find them by
    out = io.StringIO()
    assert counselors.deliver(app.db, app.vault, language="en", out=out, now=clock) == 1
    assert booking.reference in out.getvalue()
    assert [n for n, v in identifiers.items() if v in out.getvalue()] == []


def test_nobody_is_found_by_an_unknown_reference_or_number(app):
    with app.db.transaction() as s:
        assert erasure.find(s, app.vault, "HW-ZZZZZZ") is None
        assert erasure.find(s, app.vault, "13010-00000000") is None


def test_the_operator_shows_and_erases_a_person(app, clock, capsys, monkeypatch):
    from bot import cli

    _, booking = book_with_note(app)
    monkeypatch.setattr(cli, "build", lambda settings, **_: app)
    monkeypatch.setattr(cli.config, "load", lambda: app.settings)
    assert cli.main(["person", "show", NUMBER]) == 0
    shown = capsys.readouterr().out
    assert booking.reference in shown and "consents 2" in shown
    assert cli.main(["person", "erase", booking.reference, "--by", "sato"]) == 0
    erased = capsys.readouterr().out
    assert "1" in erased and NUMBER not in erased and USER not in erased
    assert cli.main(["person", "show", booking.reference]) == 1
