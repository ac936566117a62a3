"""An iCalendar (.ics) file for a booked consultation, so it lands in the user's calendar.

Built with the `icalendar` library; the event carries the office time zone (Asia/Tokyo)
with its VTIMEZONE, the meeting link, and a stable UID per booking reference.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone


@cache
def _vtimezone(tz: str) -> bytes:
    """Return the VTIMEZONE of `tz` (building it walks every transition: tens of ms)."""
    return bytes(Timezone.from_tzid(tz).to_ical())


def booking_ics(
    *,
    reference: str,
    starts_at: datetime,
    minutes: int,
    summary: str,
    description: str,
    url: str,
    tz: str = "Asia/Tokyo",
    now: datetime,
) -> bytes:
    """Return the .ics bytes of one consultation."""
    zone = ZoneInfo(tz)
    local = starts_at.astimezone(zone)
    cal = Calendar()
    cal.add("prodid", "-//Madoguchi//Hello Work online consultation//JA")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add_component(Timezone.from_ical(_vtimezone(tz)))
    event = Event()
    event.add("uid", f"{reference}@madoguchi")
    event.add("dtstamp", now)
    event.add("dtstart", local)
    event.add("dtend", local + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("location", url)
    cal.add_component(event)
    return cal.to_ical()
