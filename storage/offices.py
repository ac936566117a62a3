"""Offices and their calendar rules: the one place operators' calendar decisions are stored."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from flows.model import OfficeProfile
from flows.office_calendar import DEFAULT_HOURS, CalendarException, OfficeCalendar
from storage.models import Booking, CalendarRule, Office

DEFAULT_OFFICE = "shinagawa"


def _hours_to_json(hours: dict[int, tuple[time, time]]) -> dict[str, list[str]]:
    return {
        str(day): [start.strftime("%H:%M"), end.strftime("%H:%M")]
        for day, (start, end) in hours.items()
    }


def _hours_from_json(raw: dict[str, list[str]]) -> dict[int, tuple[time, time]]:
    return {
        int(day): (time.fromisoformat(a), time.fromisoformat(b)) for day, (a, b) in raw.items()
    }


def ensure_office(
    session: Session,
    *,
    code: str = DEFAULT_OFFICE,
    name: str = "ハローワーク品川",
    meeting_app: str,
    meeting_link_template: str,
) -> Office:
    """Return the office with `code`, creating it with the default calendar if missing."""
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        office = Office(
            code=code,
            name=name,
            timezone="Asia/Tokyo",
            hours=_hours_to_json(DEFAULT_HOURS),
            slot_minutes=30,
            places_per_slot=2,
            min_notice_hours=24,
            horizon_days=21,
            hold_minutes=10,
            meeting_app=meeting_app,
            meeting_link_template=meeting_link_template,
        )
        session.add(office)
        session.flush()
    return office


def get_office(session: Session, code: str) -> Office:
    """Return the office with `code` (LookupError when there is none)."""
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        raise LookupError(f"no office {code!r}")
    return office


def office_of(session: Session, booking: Booking) -> Office:
    """Return the office a booking belongs to."""
    office = session.get(Office, booking.office_id)
    assert office is not None
    return office


def profile(office: Office) -> OfficeProfile:
    """Return what the flow needs to know about an office."""
    return OfficeProfile(
        code=office.code,
        hold_minutes=office.hold_minutes,
        meeting_link_template=office.meeting_link_template,
        meeting_app=office.meeting_app,
        horizon_days=office.horizon_days,
        slot_minutes=office.slot_minutes,
        change_cutoff_minutes=office.change_cutoff_minutes,
        name=office.name,
        phone=office.phone or "",
        web_page=office.web_page or "",
        hours=tuple(
            (day, start.strftime("%H:%M"), end.strftime("%H:%M"))
            for day, (start, end) in sorted(_hours_from_json(office.hours).items())
        ),
        meeting_app_terms_url=office.meeting_app_terms_url or "",
    )


def calendar(session: Session, office: Office, *, from_day: date | None = None) -> OfficeCalendar:
    """Return the office's calendar with its stored rules.

    With `from_day`, the rules of earlier days are left out: they cannot change a slot from
    that day on, and an office gathers years of them.
    """
    query = select(CalendarRule).where(CalendarRule.office_id == office.id)
    if from_day is None:
        query = query.order_by(CalendarRule.id)
    else:  # in the index's order (a day's rules still apply in the order they were made)
        query = query.where(CalendarRule.day >= from_day).order_by(
            CalendarRule.day, CalendarRule.id
        )
    rules = session.scalars(query)
    return OfficeCalendar(
        timezone=office.timezone,
        hours=_hours_from_json(office.hours),
        slot_minutes=office.slot_minutes,
        places_per_slot=office.places_per_slot,
        min_notice_hours=office.min_notice_hours,
        horizon_days=office.horizon_days,
        exceptions=tuple(
            CalendarException(r.day, r.kind, r.start, r.end, r.places, r.id, r.note) for r in rules
        ),
    )


def add_rule(
    session: Session,
    office: Office,
    *,
    day: date,
    kind: str,
    now: datetime,
    start: time | None = None,
    end: time | None = None,
    places: int | None = None,
    note: str = "",
) -> CalendarRule:
    """Store a closure, an extra opening or a change of places."""
    if kind not in ("closed", "open", "places"):
        raise ValueError(f"unknown rule kind {kind!r}")
    if kind == "open" and not (start and end):
        raise ValueError("an extra opening needs a start and an end time")
    if (start and end) and start >= end:
        raise ValueError("the start must be before the end")
    if kind == "places" and (places is None or places < 0):
        raise ValueError("places must be 0 or more")
    rule = CalendarRule(
        office_id=office.id,
        day=day,
        kind=kind,
        start=start,
        end=end,
        places=places,
        note=note,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def remove_rule(session: Session, office: Office, rule_id: int) -> bool:
    """Delete a rule; return False when the office has no such rule."""
    result = session.execute(
        delete(CalendarRule).where(CalendarRule.id == rule_id, CalendarRule.office_id == office.id)
    )
    return cast(CursorResult[Any], result).rowcount == 1


SETTABLE = {
    "slot_minutes": int,
    "places_per_slot": int,
    "min_notice_hours": int,
    "horizon_days": int,
    "hold_minutes": int,
    "meeting_app": str,
    "meeting_link_template": str,
    "name": str,
    "change_cutoff_minutes": int,
    "max_active_bookings": int,
    "waitlist_offer_minutes": int,
    "retention_days": int,
    "phone": str,
    "web_page": str,
    "meeting_app_terms_url": str,
}


def update_office(session: Session, office: Office, field: str, raw: str) -> None:
    """Change one setting of an office after checking it."""
    if field == "hours":
        office.hours = _hours_to_json(parse_hours(raw))
        return
    if field == "reminder_offsets":
        office.reminder_offsets = parse_offsets(raw)
        return
    if field not in SETTABLE:
        raise ValueError(
            f"unknown setting {field!r}; settable: hours, reminder_offsets, {', '.join(SETTABLE)}"
        )
    value = SETTABLE[field](raw)
    if isinstance(value, int) and not 0 <= value <= 1000:
        raise ValueError(f"{field} must be between 0 and 1000")
    if field == "slot_minutes" and value < 5:
        raise ValueError("slot_minutes must be at least 5")
    if field == "meeting_link_template":
        check_link_template(str(value))
    setattr(office, field, value)


def check_link_template(template: str) -> None:
    """Refuse a meeting-link template that would not make an unguessable https link."""
    if not template.startswith("https://") or "{token}" not in template:
        raise ValueError("the meeting link template must start with https:// and contain {token}")
    try:
        template.format(token="t", reference="r", office="o")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"the meeting link template has an unknown field: {exc}") from exc


def parse_hours(raw: str) -> dict[int, tuple[time, time]]:
    """Parse `mon-fri 08:30-17:15` or `mon,wed 09:00-12:00` into weekday hours."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    try:
        days_part, times_part = raw.lower().split()
        start_s, end_s = times_part.split("-")
        start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
        days: list[int] = []
        for part in days_part.split(","):
            if "-" in part:
                a, b = part.split("-")
                days += list(range(names.index(a), names.index(b) + 1))
            else:
                days.append(names.index(part))
    except ValueError as exc:
        raise ValueError("hours look like 'mon-fri 08:30-17:15'") from exc
    if start >= end:
        raise ValueError("the opening time must be before the closing time")
    return {day: (start, end) for day in days}


def parse_offsets(raw: str) -> list[int]:
    """Parse reminder offsets in minutes before the start, e.g. `1440,60` (empty: none)."""
    try:
        offsets = sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)
    except ValueError as exc:
        raise ValueError("reminder offsets are minutes before the start, like 1440,60") from exc
    if any(not 5 <= minutes <= 14 * 1440 for minutes in offsets):
        raise ValueError("each reminder offset must be between 5 minutes and 14 days")
    return offsets


def calendar_ahead(session: Session, office: Office, now: datetime) -> OfficeCalendar:
    """Return the office's calendar for slots from `now` on (the rules of past days left out)."""
    # A day earlier than today in any time zone: the office's local day may start before UTC's.
    return calendar(session, office, from_day=(now - timedelta(days=1)).date())
