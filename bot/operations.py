"""Office operations shared by the command line and Slack's `/madoguchi`: one implementation.

Each function does the work and returns plain data; the CLI prints it for operators, Slack
renders it for counselors from the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from storage import bookings, offices
from storage.models import Booking, Office
from storage.vault import Vault


@dataclass(frozen=True)
class Consultation:
    """A booked consultation as counselors see it."""

    reference: str
    starts_at: datetime
    language: str
    channel: str
    status: str
    details: dict  # the stored intake answers; shown through flows.intake.answers_summary
    claimed_by: str | None


@dataclass(frozen=True)
class DaySlots:
    """One day of the calendar: closed (with a reason) or its slots with places taken."""

    day: date
    closed_reason: str | None
    slots: list[tuple[datetime, int, int]]  # start, taken, places


def consultation(booking: Booking, vault: Vault) -> Consultation:
    """Return what a counselor needs to know of a booking."""
    details = vault.open(booking.details_sealed)
    return Consultation(
        reference=booking.reference or "",
        starts_at=booking.starts_at,
        language=booking.language or "",
        channel=booking.channel,
        status=booking.status,
        details=details,
        claimed_by=booking.claimed_by,
    )


def schedule(
    session: Session, office: Office, vault: Vault, start: date, days: int
) -> list[Consultation]:
    """Return the booked consultations of `days` days from `start`, in time order."""
    cal = offices.calendar(session, office)
    lo, _ = bookings.day_bounds(cal, start)
    hi = lo + timedelta(days=days)
    return [consultation(b, vault) for b in bookings.bookings_between(session, office, lo, hi)]


def find(session: Session, vault: Vault, reference: str) -> Consultation | None:
    """Return the booking with this reference."""
    booking = bookings.by_reference(session, reference.strip().upper())
    return consultation(booking, vault) if booking else None


def calendar_days(session: Session, office: Office, start: date, days: int) -> list[DaySlots]:
    """Return the calendar of `days` days from `start` with places taken per slot."""
    cal = offices.calendar(session, office)
    result = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        slots = cal.slots_on(day)
        lo, hi = bookings.day_bounds(cal, day)
        used = bookings.slot_usage(session, office, lo, hi) if slots else {}
        result.append(
            DaySlots(
                day,
                None if slots else cal.closure_reason(day) or "closed",
                [(at, used.get(at, 0), places) for at, places in slots],
            )
        )
    return result


def change_calendar(
    session: Session,
    office: Office,
    *,
    kind: str,
    day: date,
    now: datetime,
    start: time | None = None,
    end: time | None = None,
    places: int | None = None,
    note: str = "",
) -> tuple[int, list[str]]:
    """Add a closure, an opening or a change of places; return the rule id and the
    references of bookings a closure leaves standing (they need a call)."""
    rule = offices.add_rule(
        session,
        office,
        day=day,
        kind=kind,
        now=now,
        start=start,
        end=end,
        places=places,
        note=note,
    )
    affected: list[str] = []
    if kind == "closed":
        cal = offices.calendar(session, office)
        lo, hi = bookings.day_bounds(cal, day)
        for booking in bookings.bookings_between(session, office, lo, hi):
            local = booking.starts_at.astimezone(cal.tz).time()
            if start is None or (end is not None and start <= local < end):
                affected.append(booking.reference or "")
    return rule.id, affected
