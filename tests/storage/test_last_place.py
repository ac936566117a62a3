"""The last place, end to end on SQLite and PostgreSQL: who lost it is told what happened."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from flows.intake import State
from storage import offices
from storage.models import Booking, Slot
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to


def _one_place_per_slot(app) -> None:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        offices.update_office(s, offices.get_office(s, "shinagawa"), "places_per_slot", "1")


def test_a_lapsed_hold_whose_place_was_just_taken_is_told_it_was_taken(app, clock):
    first, second = ChatClient(app, user="first"), ChatClient(app, user="second")
    walk_to(first, "en", State.CHOOSING_DAY)
    walk_to(second, "en", State.CHOOSING_DAY, asking_jobseeker_number="13010-87654321")
    _one_place_per_slot(app)
    first.press(first.choice_ids[0])
    wanted = first.choice_ids[5]  # a time still bookable when the clock has moved
    first.press(wanted)  # first holds the only place...
    assert "booking.confirm.ask" in first.ids
    clock.advance(minutes=11)  # ...and lets the hold lapse
    second.press(second.choice_ids[0])  # listing releases the lapsed hold: the place is free
    assert wanted in second.choice_ids
    second.press(wanted)
    second.click("booking.choice.confirm")
    assert "booking.booked" in second.ids
    first.click("booking.choice.confirm")  # too late: the place went to someone else
    assert first.ids[0] == "booking.taken"
    assert "booking.hold_expired" not in first.ids
    assert "booking.time.ask_alternatives" in first.ids and wanted not in first.choice_ids
    with app.db.transaction() as s:
        assert s.scalars(select(Booking.user_ref).where(Booking.status == "booked")).all() == [
            "second"
        ]
        assert max(s.scalars(select(Slot.taken))) == 1


def test_a_refused_place_leaves_the_slot_free_to_others_at_once(app, clock):
    """A loser of the race does not keep the slot row locked for the rest of its step: the
    place can be given back (a cancellation) while the loser's transaction is still open."""
    import threading

    from storage import bookings

    if app.db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: nobody else writes during a step")
    chat = ChatClient(app)
    walk_to(chat, "en", State.CHOOSING_DAY)
    _one_place_per_slot(app)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])  # the one place is held
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        held = s.scalars(select(Booking)).one()
        cal = offices.calendar(s, office)
    refused, done = threading.Event(), threading.Event()

    def loser() -> None:
        with app.db.transaction() as s:
            try:
                bookings.take_place(s, office, cal, held.starts_at)
            except bookings.SlotUnavailable:
                refused.set()
            done.wait(10)  # the rest of the loser's step

    racer = threading.Thread(target=loser)
    racer.start()
    try:
        assert refused.wait(10)
        with app.db.transaction() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))  # fails the test, never hangs it
            bookings.give_back_place(s, held.slot_id)
        with app.db.transaction() as s:
            assert s.scalar(select(Slot.taken).where(Slot.id == held.slot_id)) == 0
    finally:
        done.set()
        racer.join()
