"""The office calendar: which consultation slots exist, from rules an operator can change.

Pure computation: business hours per weekday, slot length, places per slot, minimum notice,
booking horizon, Japanese national holidays (the `holidays` library), the year-end closure
(29 Dec – 3 Jan), and per-day exceptions (closures, extra openings, changed places).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from operator import itemgetter
from zoneinfo import ZoneInfo

import holidays

DEFAULT_HOURS: dict[int, tuple[time, time]] = {
    weekday: (time(8, 30), time(17, 15)) for weekday in range(5)
}
"""Mon–Fri 08:30–17:15 (weekday 0 is Monday)."""


@dataclass(frozen=True)
class CalendarException:
    """One operator decision about a day.

    kind "closed": no slots that day (or only between `start` and `end`);
    kind "open": extra opening hours that day (even on a holiday), `places` optional (it
    never lowers the places of a slot the day already has);
    kind "places": a different number of places that day (or for the slot at `start`).
    """

    day: date
    kind: str
    start: time | None = None
    end: time | None = None
    places: int | None = None
    id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class OfficeCalendar:
    """The rules that make the slots of one office."""

    timezone: str = "Asia/Tokyo"
    hours: dict[int, tuple[time, time]] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    slot_minutes: int = 30
    places_per_slot: int = 2
    min_notice_hours: int = 24
    horizon_days: int = 21
    exceptions: Sequence[CalendarException] = ()

    @property
    def tz(self) -> ZoneInfo:
        """Return the office time zone."""
        return ZoneInfo(self.timezone)

    def closure_reason(self, day: date) -> str | None:
        """Return why the office is closed all day (holiday name, year-end), or None."""
        if (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3):
            return "year-end"
        name = _japanese_holidays(day.year).get(day)
        if name:
            return name
        if day.weekday() not in self.hours:
            return "weekly closing day"
        return None

    @cached_property
    def _rules_by_day(self) -> dict[date, list[CalendarException]]:
        by_day: dict[date, list[CalendarException]] = {}
        for rule in self.exceptions:
            by_day.setdefault(rule.day, []).append(rule)
        return by_day

    @cached_property
    def _slots_of_day(self) -> dict[date, tuple[tuple[datetime, int], ...]]:
        """The days computed so far (a calendar is immutable, so is each day's answer)."""
        return {}

    def slots_on(self, day: date) -> list[tuple[datetime, int]]:
        """Return (start, places) of every slot on an office-local day."""
        found = self._slots_of_day.get(day)
        if found is None:
            found = self._slots_of_day[day] = tuple(self._compute_slots(day))
        return list(found)

    def _compute_slots(self, day: date) -> list[tuple[datetime, int]]:
        rules = self._rules_by_day.get(day, [])
        ranges: list[tuple[time, time, int | None]] = []
        if self.closure_reason(day) is None:
            start, end = self.hours[day.weekday()]
            ranges.append((start, end, None))
        ranges += [
            (e.start, e.end, e.places) for e in rules if e.kind == "open" and e.start and e.end
        ]
        step = timedelta(minutes=self.slot_minutes)
        slots: dict[datetime, int] = {}
        for start, end, places in ranges:
            at = datetime.combine(day, start, self.tz)
            close = datetime.combine(day, end, self.tz)
            while at + step <= close:
                # An extra opening adds places, never lowers a slot the day already has
                # (lowering is a "places" rule, asked for by name).
                offered = places if places is not None else self.places_per_slot
                slots[at] = max(slots.get(at, 0), offered)
                at += step
        for rule in rules:
            for at in list(slots):
                covered = rule.start is None or (
                    rule.start
                    <= at.time()
                    < (rule.end or (datetime.combine(day, rule.start) + step).time())
                )
                if not covered:
                    continue
                if rule.kind == "closed":
                    del slots[at]
                elif rule.kind == "places" and rule.places is not None:
                    slots[at] = rule.places
        return sorted((at, places) for at, places in slots.items() if places > 0)

    @cached_property
    def _horizon_from(
        self,
    ) -> dict[date, tuple[tuple[tuple[datetime, int], ...], tuple[datetime, ...]]]:
        """The slots of the horizon and their naive UTC starts, by its first day (computed
        once per day a calendar lives through; the kept calendar answers every listing of
        the office)."""
        return {}

    def bookable_slots_utc(
        self, now: datetime
    ) -> tuple[Sequence[tuple[datetime, int]], Sequence[datetime]]:
        """Return (start, places) of the slots that can be booked at `now`, in time order,
        and, in the same order, each start as a naive UTC datetime (how the database hands
        starts back: cheap to hash and compare, unlike an aware time in the office's zone)."""
        first_day = now.astimezone(self.tz).date()
        found = self._horizon_from.get(first_day)
        if found is None:
            days = (first_day + timedelta(days=n) for n in range(self.horizon_days + 1))
            ahead = tuple(slot for day in days for slot in self.slots_on(day))
            keys = tuple(at.astimezone(UTC).replace(tzinfo=None) for at, _ in ahead)
            self._horizon_from.clear()  # yesterday's horizon is not asked again
            self._horizon_from[first_day] = found = (ahead, keys)
        ahead, keys = found
        first = bisect_left(ahead, now + timedelta(hours=self.min_notice_hours), key=itemgetter(0))
        return ahead[first:], keys[first:]

    def places_at(self, at: datetime) -> int:
        """Return the places of the slot starting at `at` (0 when there is no such slot)."""
        local = at.astimezone(self.tz)
        return dict(self.slots_on(local.date())).get(local, 0)


@cache
def _japanese_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("JP", years=year, language="ja")
