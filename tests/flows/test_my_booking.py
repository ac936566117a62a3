"""The booking's life in every offered language: /mybooking, cancel, reschedule, cut-off, the
limit of one booking, the waitlist, hold expiry and retention. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import worker
from flows import languages
from flows.intake import State
from storage import offices
from storage.models import Booking, Consent, Conversation, OutboxMessage, Reminder, Slot
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import book_first_free, walk_to

LANGS = list(languages.codes())


def booked_chat(app, lang="en", user="user-1", number="13010-12345678") -> ChatClient:  # type: ignore[no-untyped-def]
    chat = ChatClient(app, user=user)
    walk_to(chat, lang, State.CHOOSING_DAY, asking_jobseeker_number=number)
    book_first_free(chat)
    return chat


def only(app, model, **where):  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.scalars(query).all()


def counselor_kinds(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.payload["kind"] for m in only(app, OutboxMessage, channel="counselors")]


@pytest.mark.parametrize("lang", LANGS)
def test_mybooking_cancel_frees_the_place_and_tells_the_counselors(app, lang):
    chat = booked_chat(app, lang)
    chat.send("/mybooking")
    assert chat.ids[0] == "mybooking.summary"
    chat.click("mybooking.choice.cancel")
    assert chat.ids == ["mybooking.cancel.ask"]
    chat.click("mybooking.choice.cancel_yes")
    assert chat.ids[:2] == ["mybooking.cancelled", "mybooking.book_again"]
    [booking] = only(app, Booking, status="cancelled")
    assert booking.end_reason == "jobseeker"
    assert [s.taken for s in only(app, Slot)] == [0]
    assert counselor_kinds(app) == ["booked", "cancelled"]
    chat.send("/mybooking")  # a cancelled booking cannot be rescheduled: it is gone
    assert chat.ids[0] == "mybooking.none"


@pytest.mark.parametrize("lang", LANGS)
def test_reschedule_keeps_the_answers_and_frees_the_old_place_only_when_booked(app, lang):
    chat = booked_chat(app, lang)
    [old] = only(app, Booking, status="booked")
    chat.send("/mybooking")
    chat.click("mybooking.choice.reschedule")
    assert chat.ids[:2] == ["mybooking.reschedule_intro", "booking.day.ask"]
    chat.press(chat.choice_ids[1])  # another day
    chat.press(chat.choice_ids[0])
    assert "booking.confirm.ask" in chat.ids
    with app.db.transaction() as s:  # the old place is still taken while the new one is held
        assert s.scalar(select(func.sum(Slot.taken))) == 2
    chat.click("booking.choice.confirm")
    assert "mybooking.rescheduled" in chat.ids and "booking.booked" in chat.ids
    [new] = only(app, Booking, status="booked")
    [gone] = only(app, Booking, status="cancelled")
    assert gone.id == old.id and new.replaces_id == old.id and gone.end_reason == "rescheduled"
    assert app.vault.open(new.details_sealed)["jobseeker_number"] == "13010-12345678"
    with app.db.transaction() as s:
        assert s.scalar(select(func.sum(Slot.taken))) == 1
        assert {
            r.status for r in s.scalars(select(Reminder).where(Reminder.booking_id == old.id))
        } == {"cancelled"}
        assert (
            s.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.booking_id == new.id)
            )
            == 2
        )
    assert counselor_kinds(app) == ["booked", "rescheduled"]


def test_after_the_cutoff_changes_go_through_the_office(app, clock):
    chat = booked_chat(app)
    [booking] = only(app, Booking, status="booked")
    clock.now = booking.starts_at - timedelta(minutes=59)
    chat.send("/mybooking")
    assert chat.ids == ["mybooking.too_late"]
    assert chat.choice_labels == ["mybooking.choice.back"]
    chat.press("manage:cancel")  # a button from before the cut-off
    assert only(app, Booking, status="booked")


@pytest.mark.parametrize("lang", LANGS)
def test_the_same_number_on_another_channel_is_the_same_jobseeker(app, lang):
    booked_chat(app, lang)
    other = ChatClient(app, user="same-person-elsewhere", channel="telegram")
    walk_to(other, lang, State.ASKING_NOTE)
    other.click("accommodation.note.skip")
    assert other.ids == ["booking.limit_reached"]
    with app.db.transaction() as s:
        offices.update_office(s, offices.get_office(s, "shinagawa"), "max_active_bookings", "2")
    other.send("/start")
    other.click("booking.choice.manage")
    assert "mybooking.summary" in other.ids


def test_a_freed_place_is_offered_to_the_first_waiting_user(app, clock):
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        offices.update_office(s, office, "hours", "mon-fri 09:00-09:30")
        offices.update_office(s, office, "places_per_slot", "1")
        offices.update_office(s, office, "horizon_days", "2")
    first = booked_chat(app, user="first", number="13010-00000001")
    booked_chat(app, user="second", number="13010-00000002")
    waiting = ChatClient(app, user="third")
    walk_to(waiting, "ja", State.ASKING_NOTE, asking_jobseeker_number="13010-00000003")
    waiting.click("accommodation.note.skip")
    assert waiting.ids == ["booking.day.none"]  # every place is taken
    waiting.click("booking.choice.waitlist")
    assert waiting.ids == ["waitlist.waiting"]
    first.send("/mybooking")
    first.click("mybooking.choice.cancel")
    first.click("mybooking.choice.cancel_yes")
    waiting._collect()
    assert waiting.ids[:2] == ["waitlist.offer", "booking.confirm.ask"]
    waiting.click("booking.choice.confirm")
    assert "booking.booked" in waiting.ids


def test_an_offer_not_taken_in_time_goes_back(app, clock):
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        offices.update_office(s, office, "hours", "mon-fri 09:00-09:30")
        offices.update_office(s, office, "places_per_slot", "1")
        offices.update_office(s, office, "horizon_days", "1")
        offices.update_office(s, office, "min_notice_hours", "1")
    first = booked_chat(app, user="first", number="13010-00000001")
    waiting = ChatClient(app, user="w")
    walk_to(waiting, "en", State.ASKING_NOTE, asking_jobseeker_number="13010-00000003")
    waiting.click("accommodation.note.skip")
    waiting.click("booking.choice.waitlist")
    first.send("/mybooking")
    first.click("mybooking.choice.cancel")
    first.click("mybooking.choice.cancel_yes")
    waiting._collect()
    assert waiting.ids[0] == "waitlist.offer"
    clock.advance(minutes=31)
    assert worker.expire_holds(app) == 1
    waiting.send("/start")
    assert waiting.ids[:2] == ["booking.hold_expired", "booking.time.ask"]
    assert waiting.choice_ids[0].startswith("time:")  # the place is free again


@pytest.mark.parametrize("lang", LANGS)
def test_an_expired_hold_is_visible_when_the_user_comes_back(app, clock, lang):
    chat = ChatClient(app)
    walk_to(chat, lang, State.CHOOSING_DAY)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    clock.advance(minutes=11)
    assert worker.expire_holds(app) == 1
    with app.db.transaction() as s:
        assert s.scalar(select(func.sum(Slot.taken))) == 0
    chat.send("/start")
    assert chat.ids[:2] == ["booking.hold_expired", "booking.time.ask"]


def test_retention_removes_answers_and_conversations_but_keeps_records(app, clock):
    chat = booked_chat(app)
    [booking] = only(app, Booking, status="booked")
    clock.now = booking.starts_at + timedelta(days=91)
    purged = worker.purge_old_data(app)
    assert purged.booking_details == 1 and purged.conversations == 1
    [kept] = only(app, Booking)
    assert kept.status == "booked" and kept.reference and kept.details_sealed == ""
    assert len(only(app, Consent)) == 2
    assert only(app, Conversation) == []
    chat.send("/start")  # a new conversation starts cleanly
    assert chat.ids == ["common.welcome", "language.ask"]
