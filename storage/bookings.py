"""Slots, holds and bookings. No double booking, enforced by the database.

A place is taken only by one statement, `INSERT INTO slots ... ON CONFLICT DO UPDATE SET
taken = taken + 1 WHERE taken < places`: atomic on SQLite and PostgreSQL alike, backed by a
CHECK constraint. Never a read-then-write.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime, bindparam, func, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from flows.office_calendar import OfficeCalendar
from storage import suspensions
from storage.db import changed, later
from storage.models import Booking, Office, Slot


class BookingLimitReached(Exception):
    """The jobseeker already has as many active bookings as the office allows."""


class SlotUnavailable(Exception):
    """The slot has no free place (or does not exist in the calendar)."""

    def __init__(self, starts_at: datetime) -> None:
        super().__init__(starts_at.isoformat())
        self.starts_at = starts_at


class HoldWithdrawnError(SlotUnavailable):
    """The office closed the held time (or took its place away) before it was booked."""


WITHDRAWN = "withdrawn"
"""The end reason of a hold the office took back (a closure, fewer places, new hours)."""


@dataclass(frozen=True)
class Holder:
    """Who a hold or booking is for."""

    channel: str
    user_ref: str
    pseudonym: str
    language: str | None


# The statements of the hot paths are built once (see storage/db.py, "statements built once").
def _take_one(dialect: Any) -> Any:
    """One place of a slot, in one statement: a new slot row starts with it taken; an existing
    one gives it only while `taken < places` (then its capacity follows the calendar)."""
    stmt = dialect.insert(Slot).values(
        office_id=bindparam("p_office_id"),
        starts_at=bindparam("p_at"),
        capacity=bindparam("p_places"),
        taken=1,
    )
    return stmt.on_conflict_do_update(
        index_elements=["office_id", "starts_at"],
        set_={"taken": Slot.taken + 1, "capacity": stmt.excluded.capacity},
        where=Slot.taken < stmt.excluded.capacity,
    ).returning(Slot.id)


_TAKE_ONE = {"postgresql": _take_one(postgresql), "sqlite": _take_one(sqlite)}

_GIVE_ONE = (
    update(Slot)
    .where(Slot.id == bindparam("p_slot_id"), Slot.taken > 0)
    .values(taken=Slot.taken - 1)
)
_EXPIRED_HOLDS = select(Booking.id, Booking.slot_id, Booking.office_id, Booking.starts_at).where(
    Booking.status == "held", Booking.hold_expires_at < bindparam("p_now")
)
# The start as the backend's naive UTC value, without `UTCDateTime`'s per-row conversion: a
# listing reads every taken slot of the horizon (hundreds in a busy office).
_TAKEN_BETWEEN = select(type_coerce(Slot.starts_at, DateTime()), Slot.taken).where(
    Slot.office_id == bindparam("p_office_id"),
    Slot.starts_at >= bindparam("p_first"),
    Slot.starts_at <= bindparam("p_last"),
    Slot.taken > 0,
)
_HOLD_LOCKED = select(Booking).where(Booking.hold_key == bindparam("p_hold_key")).with_for_update()
# PostgreSQL: the same row with whether the service is stopped for its person, and the
# person's advisory locks (its pseudonym and the jobseeker key, always in one order;
# LEAST/GREATEST skip a missing key: the pseudonym twice, which an advisory lock allows), in
# the same round trip.
_PERSON_KEYS: tuple[Any, Any] = (Booking.pseudonym, bindparam("p_key"))
_HOLD_AND_PERSON_LOCKED = (
    select(
        Booking,
        suspensions.of_booking_person(bindparam("p_key")),
        func.pg_advisory_xact_lock(func.hashtext(func.least(*_PERSON_KEYS))),
        func.pg_advisory_xact_lock(func.hashtext(func.greatest(*_PERSON_KEYS))),
    )
    .where(Booking.hold_key == bindparam("p_hold_key"))
    .with_for_update(of=Booking)
)
_BOOKED_COLUMNS = (
    "slot_id",
    "status",
    "reference",
    "meeting_token",
    "meeting_url",
    "details_sealed",
    "booked_at",
    "ended_at",
    "jobseeker_key",
    "usage_id",
    "replaces_id",
)
_BOOK = (
    update(Booking)
    .where(Booking.id == bindparam("p_id"))
    .values({column: bindparam(f"p_{column}") for column in _BOOKED_COLUMNS})
)
_BY_PSEUDONYM = Booking.pseudonym == bindparam("p_pseudonym")
_ACTIVE: dict[tuple[bool, bool], Any] = {  # (by jobseeker key too, ids only)
    (keyed, ids_only): select(Booking.id if ids_only else Booking)
    .where(
        or_(_BY_PSEUDONYM, Booking.jobseeker_key == bindparam("p_key"))
        if keyed
        else _BY_PSEUDONYM,
        Booking.status == "booked",
        Booking.starts_at > bindparam("p_now"),
    )
    .order_by(Booking.starts_at)
    for keyed in (False, True)
    for ids_only in (False, True)
}


def take_place(session: Session, office: Office, cal: OfficeCalendar, starts_at: datetime) -> int:
    """Take one place of the slot at `starts_at`; return the slot id or raise SlotUnavailable."""
    places = cal.places_at(starts_at)
    if places <= 0:
        raise SlotUnavailable(starts_at)
    # Core statements on the session's connection: slots are never loaded as ORM objects,
    # so there is nothing to synchronise, and every hold and booking pays for them.
    conn = session.connection()
    params = {"p_office_id": office.id, "p_at": starts_at, "p_places": places}
    if conn.dialect.name != "postgresql":
        slot_id = conn.execute(_TAKE_ONE["sqlite"], params).scalar_one_or_none()
    else:
        # The upsert locks the slot row even when its WHERE refuses, until the transaction
        # ends: every loser of a race for the last place would hold it through the rest of
        # its step, and the losers would be answered one after another. In a savepoint
        # rolled back on a refusal, a loser lets go of the row at once.
        conn.exec_driver_sql("SAVEPOINT take_place")
        slot_id = conn.execute(_TAKE_ONE["postgresql"], params).scalar_one_or_none()
        if slot_id is None:
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT take_place")
    if slot_id is None:
        raise SlotUnavailable(starts_at)
    return slot_id


def give_back_place(session: Session, slot_id: int) -> None:
    """Free one place of a slot."""
    session.connection().execute(_GIVE_ONE, {"p_slot_id": slot_id})


def _end_hold(session: Session, booking_id: int, slot_id: int, status: str, now: datetime) -> bool:
    """Move a held booking to `status` and free its place, once (conditional on 'held')."""
    result = session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == "held")
        .values(status=status, ended_at=now)
    )
    if changed(result) != 1:
        return False
    give_back_place(session, slot_id)
    return True


def withdraw_hold(session: Session, booking: Booking, now: datetime) -> bool:
    """End a hold because the office changed its calendar; give its place back, once."""
    if not _end_hold(session, booking.id, booking.slot_id, "released", now):
        return False
    session.execute(update(Booking).where(Booking.id == booking.id).values(end_reason=WITHDRAWN))
    session.refresh(booking)
    return True


def sweep_expired_holds(session: Session, now: datetime) -> list[tuple[int, datetime]]:
    """Release every hold past its expiry; return the (office id, start) of freed places."""
    expired = session.connection().execute(_EXPIRED_HOLDS, {"p_now": now}).all()
    return [
        (office_id, starts_at)
        for bid, sid, office_id, starts_at in expired
        if _end_hold(session, bid, sid, "released", now)
    ]


def free_slots(
    session: Session, office: Office, cal: OfficeCalendar, now: datetime
) -> list[tuple[datetime, int]]:
    """Return (start, free places) of every bookable slot with at least one free place."""
    candidates, starts = cal.bookable_slots_utc(now)
    if not candidates:
        return []
    between = {
        "p_office_id": office.id,
        "p_first": candidates[0][0],
        "p_last": candidates[-1][0],
    }
    taken = dict(session.connection().execute(_TAKEN_BETWEEN, between).all())
    result = []
    for (at, places), start in zip(candidates, starts, strict=True):
        free = places - taken.get(start, 0)
        if free > 0:
            result.append((at, free))
    return result


def hold(
    session: Session,
    office: Office,
    cal: OfficeCalendar,
    *,
    hold_key: str,
    starts_at: datetime,
    expires_at: datetime,
    holder: Holder,
    now: datetime,
) -> Booking:
    """Take a place and record the hold; raise SlotUnavailable when none is free."""
    slot_id = take_place(session, office, cal, starts_at)
    booking = Booking(
        office_id=office.id,
        slot_id=slot_id,
        starts_at=starts_at,
        hold_key=hold_key,
        status="held",
        hold_expires_at=expires_at,
        channel=holder.channel,
        user_ref=holder.user_ref,
        pseudonym=holder.pseudonym,
        language=holder.language,
        created_at=now,
    )
    session.add(booking)
    session.flush()
    return booking


def release_hold(session: Session, hold_key: str, now: datetime) -> datetime | None:
    """Give a held place back; return its start, or None when the hold was already gone."""
    row = session.execute(
        select(Booking.id, Booking.slot_id, Booking.starts_at).where(Booking.hold_key == hold_key)
    ).first()
    if row and _end_hold(session, row.id, row.slot_id, "released", now):
        return row.starts_at
    return None


def confirm(
    session: Session,
    office: Office,
    cal: OfficeCalendar,
    *,
    hold_key: str,
    reference: str,
    meeting_token: str,
    meeting_url: str,
    details_sealed: str,
    now: datetime,
    jobseeker_key: str | None = None,
    replacing: Booking | None = None,
    usage_id: str | None = None,
) -> Booking:
    """Turn a hold into a booking; if the hold was released meanwhile, take a place again.

    Raises BookingLimitReached when the jobseeker has as many active bookings as the office
    allows (a booking being replaced does not count), SlotUnavailable when no place is free.
    """
    # Serialise bookings of one person, so the limit holds under concurrency: PostgreSQL
    # takes transaction-scoped advisory locks on the pseudonym and the jobseeker key (the
    # same person on two channels); SQLite already runs one writer at a time.
    if session.get_bind().dialect.name == "postgresql":
        params = {"p_hold_key": hold_key, "p_key": jobseeker_key}
        found = session.execute(_HOLD_AND_PERSON_LOCKED, params).first()
        booking, stopped = (found[0], found[1]) if found is not None else (None, False)
    else:
        booking = session.scalar(_HOLD_LOCKED, {"p_hold_key": hold_key})
        stopped = booking is not None and suspensions.is_suspended(
            session,
            office_id=booking.office_id,
            pseudonym=booking.pseudonym,
            jobseeker_key=jobseeker_key,
        )
    if booking is None:
        raise LookupError("unknown hold")
    if stopped:
        raise suspensions.ServiceStopped()
    active = [
        booking_id
        for booking_id in active_booking_ids(
            session, pseudonym=booking.pseudonym, jobseeker_key=jobseeker_key, now=now
        )
        if replacing is None or booking_id != replacing.id
    ]
    if len(active) >= office.max_active_bookings:
        raise BookingLimitReached()
    if booking.status == "released" and booking.end_reason == WITHDRAWN:
        raise HoldWithdrawnError(booking.starts_at)
    slot_id = booking.slot_id
    if booking.status == "released":
        slot_id = take_place(session, office, cal, booking.starts_at)
    elif booking.status != "held":
        raise SlotUnavailable(booking.starts_at)
    elif cal.places_at(booking.starts_at) <= 0:  # closed while held: never booked inside
        raise HoldWithdrawnError(booking.starts_at)
    values = {
        "slot_id": slot_id,
        "status": "booked",
        "reference": reference,
        "meeting_token": meeting_token,
        "meeting_url": meeting_url,
        "details_sealed": details_sealed,
        "booked_at": now,
        "ended_at": None,
        "jobseeker_key": jobseeker_key,
        "usage_id": usage_id,
        "replaces_id": replacing.id if replacing is not None else booking.replaces_id,
    }
    # The row is locked and every value known: one Core UPDATE sent with the step's other
    # writes (storage.db.later), not an ORM flush in a round trip of its own. A reference
    # already in use fails there, at the commit at the latest (see `new_reference`).
    later(
        session,
        _BOOK,
        {f"p_{column}": value for column, value in values.items()} | {"p_id": booking.id},
    )
    for column, value in values.items():
        set_committed_value(booking, column, value)
    return booking


def cancel(session: Session, booking: Booking, *, reason: str, now: datetime) -> bool:
    """Cancel a booked consultation and give its place back; False if it was not booked."""
    result = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == "booked")
        .values(status="cancelled", ended_at=now, end_reason=reason)
    )
    if changed(result) != 1:
        return False
    give_back_place(session, booking.slot_id)
    session.refresh(booking)
    return True


def active_bookings(
    session: Session, *, pseudonym: str, jobseeker_key: str | None, now: datetime
) -> list[Booking]:
    """Return a jobseeker's booked consultations that have not started, earliest first.

    The same jobseeker is found by their channel pseudonym, or by their jobseeker number
    (as a keyed hash) when they gave it, so a second channel does not bypass the limit.
    """
    params = {"p_pseudonym": pseudonym, "p_key": jobseeker_key, "p_now": now}
    return list(session.scalars(_ACTIVE[bool(jobseeker_key), False], params))


def active_booking_ids(
    session: Session, *, pseudonym: str, jobseeker_key: str | None, now: datetime
) -> list[int]:
    """Return the ids of `active_bookings` (what counting them needs: no rows loaded)."""
    params = {"p_pseudonym": pseudonym, "p_key": jobseeker_key, "p_now": now}
    rows = session.connection().execute(_ACTIVE[bool(jobseeker_key), True], params)
    return [booking_id for (booking_id,) in rows]


_STANDING = {  # (by jobseeker key too): whether the service is stopped, and active bookings
    keyed: select(
        suspensions.SUSPENDED[keyed].exists(),
        select(func.count())
        .select_from(_ACTIVE[keyed, True].order_by(None).subquery())
        .scalar_subquery(),
    )
    for keyed in (False, True)
}


@dataclass(frozen=True)
class Standing:
    """What the office allows a person now: stopped service, and their active bookings."""

    service_stopped: bool
    active_bookings: int


def standing(
    session: Session, *, office_id: int, pseudonym: str, jobseeker_key: str | None, now: datetime
) -> Standing:
    """Return whether the office stopped the service for this person and how many active
    bookings they have, in one statement: a booking step asks both before listing days."""
    params = {
        "p_office_id": office_id,
        "p_pseudonym": pseudonym,
        "p_key": jobseeker_key,
        "p_now": now,
    }
    stopped, active = session.connection().execute(_STANDING[bool(jobseeker_key)], params).one()
    return Standing(bool(stopped), active)


def by_reference(session: Session, reference: str) -> Booking | None:
    """Return the booking with this reference, if any."""
    return session.scalar(select(Booking).where(Booking.reference == reference))


_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U


def new_reference() -> str:
    """Return a new booking reference like `HW-7K3M9Q`.

    Not looked up first: the column is unique, so the rare reference already in use (one in
    ~7,000 at 100,000 kept bookings) fails the step's commit and `Intake.handle_event` runs
    the step again, with a new one. A lookup would cost every confirmation a round trip.
    """
    return "HW-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def bookings_between(
    session: Session,
    office: Office,
    start: datetime,
    end: datetime,
    *,
    statuses: Iterable[str] = ("booked",),
) -> list[Booking]:
    """Return the office's bookings starting in [start, end), earliest first."""
    return list(
        session.scalars(
            select(Booking)
            .where(
                Booking.office_id == office.id,
                Booking.starts_at >= start,
                Booking.starts_at < end,
                Booking.status.in_(list(statuses)),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def slot_usage(
    session: Session, office: Office, day_start: datetime, day_end: datetime
) -> dict[datetime, int]:
    """Return the places taken per slot start in a range."""
    rows = session.execute(
        select(Slot.starts_at, Slot.taken).where(
            Slot.office_id == office.id, Slot.starts_at >= day_start, Slot.starts_at < day_end
        )
    ).all()
    return {at: taken for at, taken in rows}


def day_bounds(cal: OfficeCalendar, day: date) -> tuple[datetime, datetime]:
    """Return the aware start and end of an office-local day."""
    start = datetime.combine(day, time(0), cal.tz)
    return start, start + timedelta(days=1)
