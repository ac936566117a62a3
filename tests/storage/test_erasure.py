"""Erase on request, on SQLite and PostgreSQL: a booked person is erased (by an operator, or
by themselves with /mydata), every table and column is read back (sealed values opened), and
none of their identifiers is left; the counselors are told of the cancelled booking and the
audit log keeps one receipt. (Erased from Slack: tests/bot/slack/test_slack.py.)"""

from __future__ import annotations

import io

from sqlalchemy import func, select

from bot import counselors, operations
from flows.intake import State
from flows.model import Event
from storage import contacts, erasure, offices, outbox
from storage.models import AuditEntry, Booking, OutboxMessage, Slot, Suspension
from tests.flows.test_transcripts import walk_to
from tests.storage.test_privacy_retention import (
    INTERPRETER,
    NOTE,
    NUMBER,
    USER,
    book_with_note,
    dump,
    dump_in,
    identifiers_of,
)

HOST_TEMPLATE = "https://meet.example.org/host/{token}"


def test_an_erased_person_leaves_no_identifier_in_any_table(app, clock):
    chat, booking = book_with_note(app)
    with app.db.transaction() as s:
        contacts.set_keyboard_message(s, chat.channel, USER, "4711")
    identifiers = identifiers_of(booking)
    before = dump(app)
    assert [n for n, v in identifiers.items() if v in before] == list(identifiers)
    with app.db.transaction() as s:  # the counselors' host link: derived from the token
        office = offices.get_office(s, app.settings.office)
        offices.update_office(s, office, "meeting_host_url_template", HOST_TEMPLATE)
        host = offices.host_link(office, s.get(Booking, booking.id))
    assert host == HOST_TEMPLATE.format(token=booking.meeting_token) and host not in before
    identifiers["host link"] = host

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
        done = erasure.erase(s, app.vault, person, now=clock(), requested_by="operator:sato")
        erased, cancelled = done.erased, done.cancelled
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
        assert receipt.detail["receipt"] == done.receipt and done.receipt.startswith("DEL-")
        assert erasure.find(s, app.vault, NUMBER) is None  # nothing left to find them by
        found = operations.find(s, app.vault, booking.reference or "")
        assert found is not None and (found.meeting_url, found.host_url) == ("", "")
    out = io.StringIO()
    assert counselors.deliver(app.db, app.vault, language="en", out=out, now=clock) == 1
    assert booking.reference in out.getvalue()
    assert [n for n, v in identifiers.items() if v in out.getvalue()] == []


def test_a_person_erased_through_mydata_leaves_no_identifier_in_any_table(app, clock):
    chat, booking = book_with_note(app)
    with app.db.transaction() as s:
        contacts.set_keyboard_message(s, chat.channel, USER, "4711")
    identifiers = identifiers_of(booking)
    assert [n for n, v in identifiers.items() if v in dump(app)] == list(identifiers)
    chat.send("/mydata")
    assert NOTE in chat.text and INTERPRETER in chat.text  # their answers, in plain words
    assert NUMBER not in chat.text and "*****-****4321" in chat.text  # the number masked
    delete = chat.choice_id("mydata.choice.delete")
    app.intake.handle_event(chat.channel, USER, Event("choice", delete, chat.turn))

    # Before delivery, the receipt is the one row that still names the chat...
    with app.db.transaction() as s:
        [last] = outbox.pending(s, channel=chat.channel, recipient=USER)
        assert last.payload[outbox.FORGET] is True
        s.delete(last)
        s.flush()
        assert USER not in dump_in(s, app)
        s.rollback()
    chat._collect()  # ...and once delivered, it is dropped too
    assert chat.ids[0] == "mydata.erased"
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
        assert (receipt.actor_kind, receipt.action) == ("jobseeker", "erased")
        assert receipt.detail["receipt"] in chat.text
        assert receipt.detail["erased"]["conversations"] == 1
        assert receipt.detail["erased"]["channel_contacts"] == 1
    out = io.StringIO()
    assert counselors.deliver(app.db, app.vault, language="en", out=out, now=clock) == 1
    assert booking.reference in out.getvalue()
    assert [n for n, v in identifiers.items() if v in out.getvalue()] == []


def test_erasing_oneself_keeps_the_offices_stop_of_service(app, clock):
    chat, booking = book_with_note(app)
    app.intake.office_action(booking.reference, "stop_service", counselor="U1", reason="r")
    chat._collect()
    chat.send("/mydata")
    chat.click("mydata.choice.delete")
    assert chat.ids[0] == "mydata.erased"
    with app.db.transaction() as s:
        [kept] = s.scalars(select(Suspension)).all()  # keyed hashes only, no identifier
        assert kept.pseudonym == app.vault.pseudonym(chat.channel, USER)
    assert USER not in dump(app) and NUMBER not in dump(app)
    chat.send("/start")  # a fresh conversation, the same person
    walk_to(chat, "en", State.ASKING_NOTE, asking_jobseeker_number=NUMBER)
    chat.click("accommodation.note.skip")
    assert chat.ids == ["service.stopped"]  # erasing oneself does not lift the stop


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
    with app.db.transaction() as s:
        [receipt] = s.scalars(select(AuditEntry)).all()
    assert receipt.detail["receipt"] in erased  # the operator is given the receipt number
    assert cli.main(["person", "show", booking.reference]) == 1
