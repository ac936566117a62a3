"""Places, holds and bookings on SQLite and PostgreSQL: no double booking, ever."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from storage import bookings, offices, suspensions
from storage.db import Database
from storage.models import Booking, Slot, Suspension
from storage.ports import StoredIntakePorts
from tests.chat_client import FakeClock

SLOT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # Thursday 10:00 in Tokyo


def _hold(session, office, key, now, *, minutes=10, at=SLOT):  # type: ignore[no-untyped-def]
    cal = offices.calendar(session, office)
    holder = bookings.Holder("console", f"user-{key}", f"p-{key}", "ja")
    return bookings.hold(
        session,
        office,
        cal,
        hold_key=key,
        starts_at=at,
        expires_at=now + timedelta(minutes=minutes),
        holder=holder,
        now=now,
    )


def test_a_slot_never_takes_more_than_its_places(app):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        _hold(s, office, "a", now)
        _hold(s, office, "b", now)
    with pytest.raises(bookings.SlotUnavailable), app.db.transaction() as s:
        _hold(s, offices.get_office(s, "shinagawa"), "c", now)
    with app.db.transaction() as s:
        assert bookings.release_hold(s, "a", now)
        assert not bookings.release_hold(s, "a", now)  # a second release frees nothing
        _hold(s, offices.get_office(s, "shinagawa"), "c", now)
        assert s.scalar(select(Slot.taken)) == 2


def test_the_database_refuses_taken_above_capacity(app):
    now = app.clock()
    with app.db.transaction() as s:
        _hold(s, offices.get_office(s, "shinagawa"), "a", now)
    with pytest.raises(Exception, match="(?i)check|constraint"), app.db.transaction() as s:
        s.execute(text("UPDATE slots SET taken = capacity + 1"))


def test_expired_holds_free_their_place_and_confirm_retakes_it(app):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        _hold(s, office, "a", now, minutes=10)
        _hold(s, office, "b", now, minutes=10)
    later = now + timedelta(minutes=11)
    with app.db.transaction() as s:
        assert len(bookings.sweep_expired_holds(s, later)) == 2
        assert s.scalar(select(Slot.taken)) == 0
        office = offices.get_office(s, "shinagawa")
        cal = offices.calendar(s, office)
        booking = bookings.confirm(
            s,
            office,
            cal,
            hold_key="a",
            reference="HW-AAAAAA",
            meeting_token="t1",
            meeting_url="https://x/t1",
            details_sealed="",
            now=later,
        )
        assert booking.status == "booked" and s.scalar(select(Slot.taken)) == 1


def _listing(session, at):  # type: ignore[no-untyped-def]
    ports = StoredIntakePorts(
        session, offices.get_office(session, "shinagawa"), at, pseudonym="p-x", jobseeker_key=None
    )
    return ports, ports.free_times(SLOT.astimezone(ports.calendar.tz).date())


def test_a_listing_releases_expired_holds_and_offers_their_places(app):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        _hold(s, office, "a", now, minutes=10)
        _hold(s, office, "b", now, minutes=30)
    with app.db.transaction() as s:
        ports, free = _listing(s, now + timedelta(minutes=5))
        assert SLOT not in free and ports.freed == []  # both places held
    with app.db.transaction() as s:
        ports, free = _listing(s, now + timedelta(minutes=11))
        assert SLOT in free and ports.freed == [SLOT]  # "a" lapsed: its place is free again
    with app.db.transaction() as s:
        assert dict(s.execute(select(Booking.hold_key, Booking.status)).all()) == {
            "a": "released",
            "b": "held",
        }
        assert s.scalar(select(Slot.taken)) == 1
        ports, free = _listing(s, now + timedelta(minutes=12))
        assert SLOT in free and ports.freed == []  # released once


def test_confirm_after_expiry_fails_when_the_place_went_to_someone_else(app):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        _hold(s, office, "late", now, minutes=10)
    later = now + timedelta(minutes=11)
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        bookings.sweep_expired_holds(s, later)
        _hold(s, office, "x", later)
        _hold(s, office, "y", later)
    with pytest.raises(bookings.SlotUnavailable), app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        bookings.confirm(
            s,
            office,
            offices.calendar(s, office),
            hold_key="late",
            reference="HW-BBBBBB",
            meeting_token="t2",
            meeting_url="https://x/t2",
            details_sealed="",
            now=later,
        )


def _confirm(session, key, now, *, jobseeker_key=None, reference="HW-CCCCCC"):  # type: ignore[no-untyped-def]
    office = offices.get_office(session, "shinagawa")
    return bookings.confirm(
        session,
        office,
        offices.calendar(session, office),
        hold_key=key,
        reference=reference,
        meeting_token=f"token-{key}",
        meeting_url=f"https://meet.example/{key}",
        details_sealed="sealed",
        now=now,
        jobseeker_key=jobseeker_key,
        usage_id=f"usage-{key}",
    )


def test_a_confirmation_stores_the_booking_as_the_counselors_will_read_it(app):
    now = app.clock()
    with app.db.transaction() as s:
        _hold(s, offices.get_office(s, "shinagawa"), "a", now)
    with app.db.transaction() as s:
        booking = _confirm(s, "a", now + timedelta(minutes=1), jobseeker_key="k-a")
        assert (booking.status, booking.reference) == ("booked", "HW-CCCCCC")
    with app.db.transaction() as s:
        stored = s.scalars(select(Booking)).one()
        assert (
            stored.status,
            stored.reference,
            stored.meeting_token,
            stored.meeting_url,
            stored.details_sealed,
            stored.booked_at,
            stored.ended_at,
            stored.jobseeker_key,
            stored.usage_id,
            stored.replaces_id,
        ) == (
            "booked",
            "HW-CCCCCC",
            "token-a",
            "https://meet.example/a",
            "sealed",
            now + timedelta(minutes=1),
            None,
            "k-a",
            "usage-a",
            None,
        )
        assert s.scalar(select(Slot.taken)) == 1


@pytest.mark.parametrize("stopped_by", ["pseudonym", "jobseeker number"])
def test_a_service_stopped_while_a_time_is_held_refuses_its_confirmation(app, stopped_by):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        _hold(s, office, "a", now)
        s.add(  # the counselor stops it on this channel, or on the person's other one
            Suspension(
                office_id=office.id,
                pseudonym="p-a" if stopped_by == "pseudonym" else "p-other-channel",
                jobseeker_key=None if stopped_by == "pseudonym" else "k-a",
                reason="art. 12(1)",
                counselor="U1",
                at=now,
            )
        )
    with pytest.raises(suspensions.ServiceStopped), app.db.transaction() as s:
        _confirm(s, "a", now, jobseeker_key="k-a")
    with app.db.transaction() as s:
        assert s.scalars(select(Booking.status)).all() == ["held"]
        assert s.scalar(select(Slot.taken)) == 1


def test_a_service_stopped_for_someone_else_books_as_usual(app):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        _hold(s, office, "a", now)
        s.add(
            Suspension(
                office_id=office.id,
                pseudonym="p-b",
                jobseeker_key="k-b",
                reason="art. 12(1)",
                counselor="U1",
                at=now,
            )
        )
    with app.db.transaction() as s:
        assert _confirm(s, "a", now, jobseeker_key="k-a").status == "booked"


def test_a_closed_or_nonexistent_slot_cannot_be_held(app):
    now = app.clock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        offices.add_rule(s, office, day=SLOT.date(), kind="closed", now=now)
    with pytest.raises(bookings.SlotUnavailable), app.db.transaction() as s:
        _hold(s, offices.get_office(s, "shinagawa"), "a", now)
    with pytest.raises(bookings.SlotUnavailable), app.db.transaction() as s:
        saturday = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
        _hold(s, offices.get_office(s, "shinagawa"), "b", now, at=saturday)


def _book_in_process(url: str, key: str, start, results) -> None:  # type: ignore[no-untyped-def]
    db = Database(url)
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    start.wait()
    try:
        with db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
            _hold(s, office, key, now)
            bookings.confirm(
                s,
                office,
                offices.calendar(s, office),
                hold_key=key,
                reference=f"HW-{key}",
                meeting_token=key,
                meeting_url=f"https://x/{key}",
                details_sealed="",
                now=now,
            )
        results.put(("booked", key))
    except bookings.SlotUnavailable:
        results.put(("taken", key))
    except Exception as exc:  # pragma: no cover - reported to the test
        results.put(("error", repr(exc)))
    finally:
        db.dispose()


@pytest.mark.parametrize("places", [1, 3])
def test_parallel_bookings_from_processes_get_exactly_the_places(app, places):
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        offices.add_rule(s, office, day=SLOT.date(), kind="places", now=app.clock(), places=places)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_book_in_process, args=(app.db.url, f"K{n:02d}", start, results))
        for n in range(8)
    ]
    for w in workers:
        w.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "booked" for o in outcomes) == places
    with app.db.transaction() as s:
        assert s.scalar(select(Slot.taken)) == places
        assert len(s.scalars(select(Booking).where(Booking.status == "booked")).all()) == places


def test_calendar_rules_shape_the_bookable_days(app):
    clock = FakeClock()
    with app.db.transaction() as s:
        office = offices.get_office(s, "shinagawa")
        thursday = SLOT.date()
        offices.add_rule(s, office, day=thursday, kind="closed", now=clock())
        holiday = datetime(2026, 12, 1).date()  # an ordinary Tuesday: close half of it
        offices.add_rule(
            s,
            office,
            day=holiday,
            kind="closed",
            now=clock(),
            start=datetime(2026, 1, 1, 12).time(),
            end=datetime(2026, 1, 1, 17, 15).time(),
        )
        saturday = datetime(2026, 11, 28).date()
        offices.add_rule(
            s,
            office,
            day=saturday,
            kind="open",
            now=clock(),
            start=datetime(2026, 1, 1, 10).time(),
            end=datetime(2026, 1, 1, 12).time(),
            places=1,
        )
        cal = offices.calendar(s, office)
        free = bookings.free_slots(s, office, cal, clock())
    days = {at.astimezone(cal.tz).date() for at, _ in free}
    assert thursday not in days and saturday in days
    saturday_slots = [at for at, n in free if at.astimezone(cal.tz).date() == saturday]
    assert len(saturday_slots) == 4 and all(n == 1 for at, n in free if at in saturday_slots)
    tuesday = [
        at.astimezone(cal.tz).hour for at, _ in free if at.astimezone(cal.tz).date() == holiday
    ]
    assert max(tuesday) == 11
    assert datetime(2026, 12, 29).date() not in days  # year-end closure


def _confirm_same_person(url: str, key: str, start, results) -> None:  # type: ignore[no-untyped-def]
    db = Database(url)
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    start.wait()
    try:
        with db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
            cal = offices.calendar(s, office)
            at = SLOT if key.endswith("0") else SLOT + timedelta(minutes=30)
            holder = bookings.Holder(
                "telegram" if key.endswith("0") else "line", f"u-{key}", f"p-{key}", "ja"
            )
            bookings.hold(
                s,
                office,
                cal,
                hold_key=key,
                starts_at=at,
                expires_at=now + timedelta(minutes=10),
                holder=holder,
                now=now,
            )
            bookings.confirm(
                s,
                office,
                cal,
                hold_key=key,
                reference=f"HW-{key}",
                meeting_token=key,
                meeting_url="https://x",
                details_sealed="",
                now=now,
                jobseeker_key="same-person",
            )
        results.put("booked")
    except bookings.BookingLimitReached:
        results.put("limit")
    finally:
        db.dispose()


def test_one_person_booking_twice_at_once_from_two_channels_gets_one(app):
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_confirm_same_person, args=(app.db.url, f"S{n}", start, results))
        for n in range(2)
    ]
    for w in workers:
        w.start()
    start.set()
    outcomes = sorted(results.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    assert outcomes == ["booked", "limit"]
