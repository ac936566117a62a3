"""Offices and their calendar rules: the one place operators' calendar decisions are stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from flows.languages import codes
from flows.model import Msg, OfficeProfile, Param
from flows.office_calendar import DEFAULT_HOURS, CalendarException, OfficeCalendar
from storage.kept import Kept
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
            calendar_token=new_token(),
        )
        session.add(office)
        session.flush()
    return office


def office_codes(session: Session) -> list[str]:
    """Return the codes of every office in the database."""
    return list(session.scalars(select(Office.code).order_by(Office.code)))


_OFFICE_BY_CODE = select(Office).where(Office.code == bindparam("code"))
"""Built once: every event reads its office (see storage/db.py, "statements built once")."""


def get_office(session: Session, code: str) -> Office:
    """Return the office with `code` (LookupError when there is none)."""
    office = session.scalar(_OFFICE_BY_CODE, {"code": code})
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
        names=tuple(sorted((office.names or {}).items())),
        advice=tuple(
            (item, language, text)
            for item, texts in sorted((office.advice or {}).items())
            for language, text in sorted(texts.items())
        ),
    )


def host_link(office: Office, booking: Booking) -> str:
    """Return the counselors' host link of a booking ("" when the office set no template, or
    the token is gone): derived from the token each time, so erasing the token erases it."""
    if not office.meeting_host_url_template or not booking.meeting_token:
        return ""
    return office.meeting_host_url_template.format(
        token=booking.meeting_token, reference=booking.reference or "", office=office.code
    )


def new_token() -> str:
    """Return a fresh change token (`Office.calendar_token`, `Office.terms_token`)."""
    return secrets.token_hex(8)


def renew_token(session: Session, office: Office, column: str) -> None:
    """Renew one of the office's change tokens (`calendar_token`, `terms_token`) in this
    transaction, so every process derives again what it kept under the old one (by id: the
    `office` given may come from an earlier session)."""
    token = new_token()
    session.execute(update(Office).where(Office.id == office.id).values({column: token}))
    set_committed_value(office, column, token)


def calendar_changed(session: Session, office: Office) -> None:
    """Renew the office's calendar token: every process reads the rules again."""
    renew_token(session, office, "calendar_token")


_CALENDARS: Kept[tuple[Any, ...], OfficeCalendar] = Kept(64)


def calendar(session: Session, office: Office, *, from_day: date | None = None) -> OfficeCalendar:
    """Return the office's calendar with its stored rules.

    With `from_day`, the rules of earlier days are left out: they cannot change a slot from
    that day on, and an office gathers years of them. Such a calendar is kept in this process
    while the office's calendar token and settings stay the same (the token is renewed in the
    transaction that changes a rule), so the rules are not read, nor the slots of a day
    computed, on every event.
    """
    key: tuple[Any, ...] | None = None
    if from_day is not None and office.calendar_token:
        key = (
            office.calendar_token,
            from_day,
            office.timezone,
            tuple((day, tuple(span)) for day, span in sorted((office.hours or {}).items())),
            office.slot_minutes,
            office.places_per_slot,
            office.min_notice_hours,
            office.horizon_days,
        )
        kept = _CALENDARS.get(key)
        if kept is not None:
            return kept
    query = select(CalendarRule).where(CalendarRule.office_id == office.id)
    if from_day is None:
        query = query.order_by(CalendarRule.id)
    else:  # in the index's order (a day's rules still apply in the order they were made)
        query = query.where(CalendarRule.day >= from_day).order_by(
            CalendarRule.day, CalendarRule.id
        )
    rules = session.scalars(query)
    made = OfficeCalendar(
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
    if key is not None:
        _CALENDARS.put(key, made)
    return made


MAX_RULE_PLACES = 100
"""The most places a rule may give one slot (as `places_per_slot`)."""


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
    """Store a closure, an extra opening or a change of places (SettingRefused says why not)."""
    if kind not in ("closed", "open", "places"):
        raise ValueError(f"unknown rule kind {kind!r}")
    if kind == "open" and not (start and end):
        raise SettingRefused(Msg("operator.rule.needs_span"))
    if (start and end) and start >= end:
        raise SettingRefused(
            Msg(
                "operator.rule.start_before_end",
                {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
            )
        )
    if kind == "places" and places is None:
        raise SettingRefused(Msg("operator.rule.places_range", {"value": "", "high": 100}))
    if places is not None and not 0 <= places <= MAX_RULE_PLACES:
        raise SettingRefused(
            Msg("operator.rule.places_range", {"value": places, "high": MAX_RULE_PLACES})
        )
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
    calendar_changed(session, office)
    session.flush()
    return rule


def remove_rule(session: Session, office: Office, rule_id: int) -> bool:
    """Delete a rule; return False when the office has no such rule."""
    result = session.execute(
        delete(CalendarRule).where(CalendarRule.id == rule_id, CalendarRule.office_id == office.id)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        return False
    calendar_changed(session, office)
    return True


class SettingRefused(ValueError):
    """An operator's value was refused; `msg` says why and how to fix it (catalog text)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.id)
        self.msg = msg


@dataclass(frozen=True)
class Limit:
    """The whole numbers a setting accepts, and an example of a good value."""

    low: int
    high: int
    example: int


LIMITS: dict[str, Limit] = {
    "slot_minutes": Limit(10, 120, 30),
    "places_per_slot": Limit(1, 100, 2),
    "min_notice_hours": Limit(0, 720, 24),
    "horizon_days": Limit(1, 180, 21),
    "hold_minutes": Limit(1, 120, 10),
    "change_cutoff_minutes": Limit(0, 10080, 60),
    "max_active_bookings": Limit(1, 10, 1),
    "waitlist_offer_minutes": Limit(1, 1440, 30),
    "retention_days": Limit(1, 3650, 90),
}
"""Every number an operator may set, with its bounds (the CLI and Slack share them)."""

TEXTS: dict[str, int] = {
    "name": 200,
    "phone": 40,
    "web_page": 300,
    "meeting_app": 80,
    "meeting_app_terms_url": 500,
    "meeting_link_template": 500,
    "meeting_host_url_template": 500,
}
"""Every text an operator may set, with its longest length (the column's)."""

OPTIONAL_TEXTS = ("meeting_host_url_template",)
"""The texts an empty value unsets."""

ADVICE_LENGTH = 1000
"""The longest advice the office may add to one environment question in one language."""

SETTABLE: tuple[str, ...] = (
    "hours",
    "reminder_offsets",
    *LIMITS,
    *TEXTS,
    "name.<code>",
    "advice.<item>.<code>",
)
"""Every setting `office set` changes, in the order `office show` lists them; `name.<code>`
and `advice.<item>.<code>` per offered language (and environment item)."""

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def check_setting(office: Office, field: str, raw: str) -> Any:
    """Return the value to store for `field`, or raise SettingRefused saying how to fix it."""
    raw = raw.strip()
    if field == "hours":
        hours = parse_hours(raw)
        _check_slot_fits(office.slot_minutes, hours)
        return _hours_to_json(hours)
    if field == "reminder_offsets":
        return parse_offsets(raw)
    if field in LIMITS:
        limit = LIMITS[field]
        params: dict[str, Param] = {
            "field": field,
            "value": raw,
            "low": limit.low,
            "high": limit.high,
            "example": limit.example,
        }
        try:
            value = int(raw)
        except ValueError:
            raise SettingRefused(Msg("operator.setting.not_number", params)) from None
        if not limit.low <= value <= limit.high:
            raise SettingRefused(Msg("operator.setting.range", params))
        if field == "slot_minutes":
            _check_slot_fits(value, _hours_from_json(office.hours))
        return value
    if field.startswith(("name.", "advice.")):
        return _per_language(office, field, raw)
    if field in OPTIONAL_TEXTS and not raw:
        return ""
    if field in TEXTS:
        if not raw or len(raw) > TEXTS[field]:
            raise SettingRefused(
                Msg("operator.setting.text_length", {"field": field, "high": TEXTS[field]})
            )
        if field in ("meeting_link_template", "meeting_host_url_template"):
            check_link_template(raw)
        return raw
    raise SettingRefused(
        Msg("operator.setting.unknown", {"field": field, "fields": ", ".join(SETTABLE)})
    )


def column_of(field: str) -> str:
    """Return the column a setting is stored in (`name.en` → `names`, `advice.os.ja` →
    `advice`; any other setting: its own)."""
    if field.startswith("name."):
        return "names"
    if field.startswith("advice."):
        return "advice"
    return field


def update_office(session: Session, office: Office, field: str, raw: str) -> None:
    """Change one setting of an office after checking it (SettingRefused says how to fix)."""
    setattr(office, column_of(field), check_setting(office, field, raw))


def check_advice_item(field: str, items: tuple[str, ...]) -> None:
    """Refuse `advice.<item>.<code>` unless `item` is one of the environment `items` (the
    flow's, passed in: storage never imports the flow)."""
    parts = field.split(".")
    if parts[0] == "advice" and (len(parts) != 3 or parts[1] not in items):
        raise SettingRefused(
            Msg("operator.setting.advice_item", {"field": field, "items": ", ".join(items)})
        )


def _per_language(office: Office, field: str, raw: str) -> dict[str, Any]:
    """Return the office's names or advice with `field` (`name.<code>`, `advice.<item>.<code>`)
    set to `raw`, or removed when `raw` is empty; SettingRefused for an unknown language, a
    malformed field or a text too long (the item is checked by `check_advice_item`)."""
    parts = field.split(".")
    language = parts[-1]
    if (
        (parts[0] == "advice" and len(parts) != 3)
        or (parts[0] == "name" and len(parts) != 2)
        or language not in codes()
    ):
        raise SettingRefused(
            Msg("operator.setting.language", {"field": field, "codes": ", ".join(codes())})
        )
    high = TEXTS["name"] if parts[0] == "name" else ADVICE_LENGTH
    if len(raw) > high:
        raise SettingRefused(Msg("operator.setting.text_length", {"field": field, "high": high}))
    if parts[0] == "name":
        names = dict(office.names or {})
        names.pop(language, None)
        return {**names, language: raw} if raw else names
    advice = {item: dict(texts) for item, texts in (office.advice or {}).items()}
    texts = advice.pop(parts[1], {})
    texts.pop(language, None)
    if raw:
        texts[language] = raw
    return {**advice, parts[1]: texts} if texts else advice


def _check_slot_fits(slot_minutes: int, hours: dict[int, tuple[time, time]]) -> None:
    """Refuse a slot length off the hour grid (slots start at clock times like 09:00, 09:30),
    or longer than a day's opening hours (no slot at all that day)."""
    if 60 % slot_minutes and slot_minutes % 60:
        raise SettingRefused(Msg("operator.setting.slot_grid", {"minutes": slot_minutes}))
    for start, end in hours.values():
        span = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if span < slot_minutes:
            raise SettingRefused(
                Msg(
                    "operator.setting.slot_fit",
                    {"minutes": slot_minutes, "hours": format_hours(hours), "span": span},
                )
            )


def check_link_template(template: str) -> None:
    """Refuse a meeting-link template that would not make an unguessable https link."""
    refused = SettingRefused(Msg("operator.setting.link_template", {"value": template}))
    if not template.startswith("https://") or "{token}" not in template:
        raise refused
    try:
        template.format(token="t", reference="r", office="o")
    except (KeyError, IndexError, ValueError):
        raise refused from None


def parse_hours(raw: str) -> dict[int, tuple[time, time]]:
    """Parse `mon-fri 08:30-17:15`, `mon,wed 09:00-12:00` or several such groups separated
    by `;` (e.g. `mon-thu 08:30-17:15; fri 08:30-12:00`) into weekday hours."""
    hours: dict[int, tuple[time, time]] = {}
    for group in raw.lower().split(";"):
        try:
            days_part, times_part = group.split()
            start_s, end_s = times_part.split("-")
            start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
            days: list[int] = []
            for part in days_part.split(","):
                if "-" in part:
                    a, b = part.split("-")
                    days += list(range(DAY_NAMES.index(a), DAY_NAMES.index(b) + 1))
                else:
                    days.append(DAY_NAMES.index(part))
        except ValueError:
            raise SettingRefused(Msg("operator.setting.hours_format", {"value": raw})) from None
        if start >= end or not days:
            raise SettingRefused(Msg("operator.setting.hours_order", {"value": group.strip()}))
        hours.update({day: (start, end) for day in days})
    return dict(sorted(hours.items()))


def format_hours(hours: dict[int, tuple[time, time]]) -> str:
    """Return weekday hours as `parse_hours` reads them, e.g. `mon-fri 08:30-17:15`."""
    groups: list[tuple[list[int], tuple[time, time]]] = []
    for day, span in sorted(hours.items()):
        if groups and groups[-1][1] == span and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], span))
    by_span: dict[tuple[time, time], list[str]] = {}
    for days, span in groups:
        name = DAY_NAMES[days[0]]
        if len(days) > 1:
            name += "-" + DAY_NAMES[days[-1]]
        by_span.setdefault(span, []).append(name)
    return "; ".join(
        f"{','.join(names)} {start:%H:%M}-{end:%H:%M}" for (start, end), names in by_span.items()
    )


def office_hours(office: Office) -> str:
    """Return the office's weekday hours as an operator types them."""
    return format_hours(_hours_from_json(office.hours))


def parse_offsets(raw: str) -> list[int]:
    """Parse reminder offsets in minutes before the start, e.g. `1440,60` (empty: none)."""
    try:
        offsets = sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)
    except ValueError:
        raise SettingRefused(Msg("operator.setting.offsets_format", {"value": raw})) from None
    if any(not 5 <= minutes <= 14 * 1440 for minutes in offsets):
        raise SettingRefused(Msg("operator.setting.offsets_range", {"value": raw}))
    return offsets


def calendar_ahead(session: Session, office: Office, now: datetime) -> OfficeCalendar:
    """Return the office's calendar for slots from `now` on (the rules of past days left out)."""
    # A day earlier than today in any time zone: the office's local day may start before UTC's.
    return calendar(session, office, from_day=(now - timedelta(days=1)).date())
