"""Office operations shared by the command line and Slack's `/madoguchi`: one implementation.

Each function does the work and returns plain data; the CLI prints it for operators, Slack
renders it for counselors from the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.service import calendar_changes
from bot.service.conversation import Scope
from flows import languages
from flows.environment import ENVIRONMENT_ITEMS
from flows.model import Lines, Msg
from storage import bookings, offices
from storage.models import Booking, CalendarRule, Office
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
    meeting_url: str = ""  # how the jobseeker joins the consultation
    host_url: str = ""  # the counselors' host link, when the office set a template for it


@dataclass(frozen=True)
class DaySlots:
    """One day of the calendar: closed (with a reason) or its slots with places taken."""

    day: date
    closed_reason: str | None
    slots: list[tuple[datetime, int, int]]  # start, taken, places


def consultation(booking: Booking, vault: Vault, office: Office) -> Consultation:
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
        meeting_url=booking.meeting_url or "",
        host_url=offices.host_link(office, booking),
    )


def schedule(
    session: Session, office: Office, vault: Vault, start: date, days: int
) -> list[Consultation]:
    """Return the booked consultations of `days` days from `start`, in time order."""
    cal = offices.calendar(session, office)
    lo, _ = bookings.day_bounds(cal, start)
    hi = lo + timedelta(days=days)
    found = bookings.bookings_between(session, office, lo, hi)
    return [consultation(b, vault, office) for b in found]


def find(session: Session, vault: Vault, reference: str) -> Consultation | None:
    """Return the booking with this reference."""
    booking = bookings.by_reference(session, reference.strip().upper())
    if booking is None:
        return None
    return consultation(booking, vault, offices.office_of(session, booking))


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


@dataclass(frozen=True)
class Touched:
    """A booking or a hold a calendar change reached, as operators see it."""

    reference: str  # empty for a hold
    starts_at: datetime
    language: str


@dataclass(frozen=True)
class CalendarChange:
    """What a calendar change did: the rule, the holds ended (their holders told), and the
    bookings at a time the calendar no longer has (cancelled and told when `told`)."""

    rule_id: int
    kind: str
    day: date
    start: time | None
    end: time | None
    places: int | None
    holds: list[Touched]
    bookings: list[Touched]
    told: bool = False


@dataclass(frozen=True)
class OfficeChange:
    """What a change of an office setting did: the holds it ended (their holders told)."""

    field: str
    holds: list[Touched]


HORIZON_LIMIT = timedelta(days=400)
"""How far ahead a change of the weekly calendar looks for bookings and holds."""

CALENDAR_SHAPING = ("hours", "slot_minutes", "places_per_slot")
"""The settings that change which slots exist or their places."""


def _touched(booking: Booking) -> Touched:
    return Touched(booking.reference or "", booking.starts_at, booking.language or "")


def change_calendar(
    session: Session,
    office: Office,
    vault: Vault,
    *,
    kind: str,
    day: date,
    now: datetime,
    start: time | None = None,
    end: time | None = None,
    places: int | None = None,
    note: str = "",
    tell: bool = False,
    actor: tuple[str, str] = ("operator", "cli"),
) -> CalendarChange:
    """Add a closure, an opening or a change of places, and apply it to holds at once.

    Holds the day no longer has a place for end and their holders are told. Bookings at a
    time the day no longer has are listed; with `tell`, each is cancelled and its jobseeker
    told in their language, with another time offered. Raises SettingRefused.
    """
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
    cal = offices.calendar_ahead(session, office, now)
    scope = Scope(session, office, vault, now)
    lo, hi = bookings.day_bounds(cal, day)
    holds = calendar_changes.withdraw_holds(scope, cal, lo, hi)
    closed = calendar_changes.bookings_closed(scope, cal, max(lo, now), hi)
    if tell:
        calendar_changes.cancel_closed(scope, closed, actor_kind=actor[0], actor=actor[1])
    return CalendarChange(
        rule.id,
        kind,
        day,
        start,
        end,
        places,
        [_touched(h) for h in holds],
        [_touched(b) for b in closed],
        told=tell,
    )


def tell_closed(
    session: Session,
    office: Office,
    vault: Vault,
    rule_id: int,
    *,
    now: datetime,
    actor: tuple[str, str],
) -> list[Touched] | None:
    """Cancel the bookings a closure rule left standing and tell each jobseeker; return
    those told now (None when the office has no such rule)."""
    rule = session.get(CalendarRule, rule_id)
    if rule is None or rule.office_id != office.id:
        return None
    cal = offices.calendar_ahead(session, office, now)
    scope = Scope(session, office, vault, now)
    lo, hi = bookings.day_bounds(cal, rule.day)
    closed = calendar_changes.bookings_closed(scope, cal, max(lo, now), hi)
    told = calendar_changes.cancel_closed(scope, closed, actor_kind=actor[0], actor=actor[1])
    return [_touched(b) for b in told]


def change_office(
    session: Session, office: Office, vault: Vault, field: str, raw: str, *, now: datetime
) -> OfficeChange:
    """Change one office setting, never hiding a booking, and apply it to holds at once.

    Raises SettingRefused with how to fix the value, or with the bookings a new slot
    length or new hours would hide (they must be moved or cancelled first).
    """
    offices.check_advice_item(field, ENVIRONMENT_ITEMS)
    value = offices.check_setting(office, field, raw)
    if field not in CALENDAR_SHAPING:
        setattr(office, offices.column_of(field), value)
        return OfficeChange(field, [])
    before = offices.calendar_ahead(session, office, now)
    old = getattr(office, field)
    setattr(office, field, value)
    after = offices.calendar_ahead(session, office, now)
    hidden = [
        b
        for b in bookings.bookings_between(session, office, now, now + HORIZON_LIMIT)
        if before.places_at(b.starts_at) > 0 and after.places_at(b.starts_at) <= 0
    ]
    if hidden:
        setattr(office, field, old)
        raise offices.SettingRefused(
            Msg(
                "operator.setting.bookings_in_the_way",
                {
                    "field": field,
                    "count": len(hidden),
                    "bookings": Lines(tuple(booking_line(_touched(b), after.tz) for b in hidden)),
                },
            )
        )
    scope = Scope(session, office, vault, now)
    holds = calendar_changes.withdraw_holds(scope, after, now, now + HORIZON_LIMIT)
    return OfficeChange(field, [_touched(h) for h in holds])


def booking_line(touched: Touched, tz: ZoneInfo) -> Msg:
    """Return one booking or hold as operators read it: time, reference, language."""
    at = touched.starts_at.astimezone(tz)
    if not touched.reference:
        return Msg("operator.hold.line", {"at": f"{at:%Y-%m-%d %H:%M}"})
    return Msg(
        "operator.booking.line",
        {
            "at": f"{at:%Y-%m-%d %H:%M}",
            "reference": touched.reference,
            "language": languages.name(touched.language),
        },
    )
