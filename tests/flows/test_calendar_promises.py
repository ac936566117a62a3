"""The calendar keeps its promises: a closed time is never booked, holds follow a closure or
fewer places at once (the holder told in their language, the nearest times offered), every
day of the horizon can be reached, and a new slot length never hides a booking."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import operations
from flows.intake import State
from storage import offices
from storage.models import Booking, Slot
from tests import golden
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import DIALOGS, LANGS, walk_to

TOKYO = ZoneInfo("Asia/Tokyo")


def holding(app, lang: str, user: str, number: str) -> ChatClient:  # type: ignore[no-untyped-def]
    """Return a user holding the first free time of the first day (at the confirmation)."""
    chat = ChatClient(app, user=user)
    walk_to(chat, lang, State.CHOOSING_DAY, asking_jobseeker_number=number)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    assert "booking.confirm.ask" in chat.ids
    return chat


def held_at(chat: ChatClient) -> datetime:
    return datetime.fromisoformat(chat.stored().data["hold"]["starts_at"])


def change(app, **rule) -> operations.CalendarChange:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        return operations.change_calendar(s, office, app.vault, now=app.clock(), **rule)


def places_are_exact(app) -> dict[datetime, int]:  # type: ignore[no-untyped-def]
    """Check every slot's `taken` against its live holds and bookings; return the takens."""
    with app.db.transaction() as s:
        live = dict(
            s.execute(
                select(Booking.slot_id, func.count())
                .where(Booking.status.in_(["held", "booked"]))
                .group_by(Booking.slot_id)
            ).all()
        )
        slots = s.scalars(select(Slot)).all()
        assert {slot.id: slot.taken for slot in slots if slot.taken} == live
        return {slot.starts_at: slot.taken for slot in slots}


@pytest.mark.parametrize("lang", LANGS)
def test_a_closure_ends_a_hold_at_once_and_the_holder_is_offered_the_nearest_times(
    sqlite_app, lang
):
    chat = holding(sqlite_app, lang, "holder", "13010-00000001")
    at = held_at(chat).astimezone(TOKYO)
    done = change(
        sqlite_app,
        kind="closed",
        day=at.date(),
        start=at.time(),
        end=(at + timedelta(minutes=30)).time(),
    )
    assert [h.starts_at for h in done.holds] == [at] and done.bookings == []
    chat._collect()  # told at once, without writing anything
    assert chat.ids[:2] == ["booking.withdrawn", "booking.time.ask_alternatives"]
    assert chat.language == lang and chat.position()[0] == State.CHOOSING_TIME
    offered = [datetime.fromisoformat(c.split(":", 1)[1]) for c in chat.choice_ids[:-1]]
    assert at not in offered and len(offered) == 4
    golden.check(DIALOGS, f"[{lang}]\n{chat.text}")
    assert places_are_exact(sqlite_app)[at] == 0
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(Booking.starts_at).where(Booking.status == "booked")) != at
    places_are_exact(sqlite_app)


def test_fewer_places_end_the_newest_holds_then_a_closure_the_rest(app):
    first = holding(app, "ja", "first", "13010-00000001")
    second = holding(app, "en", "second", "13010-00000002")
    at = held_at(first).astimezone(TOKYO)
    assert held_at(second) == at and places_are_exact(app)[at] == 2
    fewer = change(app, kind="places", day=at.date(), start=at.time(), places=1)
    assert len(fewer.holds) == 1
    second._collect()
    assert second.ids[0] == "booking.withdrawn" and second.language == "en"
    assert places_are_exact(app)[at] == 1
    first._collect()
    assert first.ids == []  # the older hold keeps its place
    change(app, kind="closed", day=at.date())
    first._collect()
    assert first.ids[0] == "booking.withdrawn" and first.language == "ja"
    assert places_are_exact(app)[at] == 0


def test_a_hold_closed_while_changing_an_answer_is_never_booked(sqlite_app):
    chat = holding(sqlite_app, "en", "changer", "13010-00000001")
    chat.click("booking.choice.change_answer")
    chat.press("change:note")  # answering another question while the time is held
    at = held_at(chat).astimezone(TOKYO)
    assert change(sqlite_app, kind="closed", day=at.date()).holds
    chat.click("accommodation.note.skip")
    assert "booking.confirm.ask" in chat.ids
    chat.click("booking.choice.confirm")
    assert chat.ids[:2] == ["booking.withdrawn", "booking.time.ask_alternatives"]
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(func.count()).where(Booking.status == "booked")) == 0
    places_are_exact(sqlite_app)


@pytest.mark.parametrize("lang", LANGS)
def test_every_day_of_the_horizon_can_be_reached(sqlite_app, lang):
    with sqlite_app.db.transaction() as s:
        offices.update_office(
            s, offices.get_office(s, "shinagawa"), "hours", "mon-sun 09:00-12:00"
        )
    chat = ChatClient(sqlite_app)
    walk_to(chat, lang, State.CHOOSING_DAY)
    seen: list[date] = []
    for _ in range(5):
        seen += [date.fromisoformat(c[4:]) for c in chat.choice_ids if c.startswith("day:")]
        if "booking.choice.later_days" not in chat.choice_labels:
            break
        chat.click("booking.choice.later_days")
    first = date(2026, 11, 25)  # 24 h notice from Tuesday 09:00 in Tokyo
    horizon = [first + timedelta(days=n) for n in range(21)]
    assert seen == horizon  # three pages: 10, 10 and 1 day
    chat.press(f"day:{horizon[-1].isoformat()}")
    assert "booking.time.ask" in chat.ids  # the last day of the horizon can be booked
    chat.click("booking.choice.other_day")
    chat.click("booking.choice.later_days")
    chat.click("booking.choice.earlier_days")
    assert chat.choice_ids[0] == f"day:{first.isoformat()}"


def test_a_new_slot_length_or_hours_never_hide_a_booking(app):
    chat = holding(app, "ja", "booked", "13010-00000001")
    chat.click("booking.choice.confirm")
    with app.db.transaction() as s:
        booking = s.scalars(select(Booking)).one()
    assert booking.starts_at.astimezone(TOKYO).strftime("%H:%M") == "09:00"
    for field, value in (("slot_minutes", "60"), ("hours", "mon-fri 10:00-17:00")):
        with app.db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
            with pytest.raises(offices.SettingRefused) as refused:
                operations.change_office(s, office, app.vault, field, value, now=app.clock())
            assert refused.value.msg.id == "operator.setting.bookings_in_the_way"
            assert booking.reference in str(refused.value.msg.params["bookings"])
        with app.db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
            assert (office.slot_minutes, offices.office_hours(office)) == (
                30,
                "mon-fri 08:30-17:15",
            )
    with app.db.transaction() as s:  # a length that keeps 09:00 is taken
        office = offices.get_office(s, "shinagawa")
        operations.change_office(s, office, app.vault, "slot_minutes", "15", now=app.clock())
        assert office.slot_minutes == 15
