"""Render neutral replies into text in the user's language, from the Babel catalogs.

Every word a user sees comes from `locales/<lang>/LC_MESSAGES/messages.po`; dates and times
are formatted by Babel in the office time zone with the zone spelled out. A message id
missing from a catalog is an error, never a silent fallback to the id.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    get_day_names,
    get_timezone_name,
)
from babel.messages.pofile import read_po

from flows import languages
from flows.model import Lines, Msg, OfficeName, OpeningHours, Param, Reply, Time
from flows.terms_document import terms

OFFICE_TZ = ZoneInfo("Asia/Tokyo")


class MissingMessage(KeyError):
    """A message id has no translation in a catalog."""


@cache
def catalog(language: str) -> dict[str, str]:
    """Return the message id → text mapping of one language."""
    path = resources.files("locales").joinpath(language, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        po = read_po(handle, locale=languages.get(language).babel_locale)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


def placeholders(text: str) -> set[str]:
    """Return the `{name}` fields of a catalog text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class Renderer:
    """Formats messages for one language."""

    language: str
    tz: ZoneInfo = OFFICE_TZ
    compact: bool = False  # short dates ("Wed, Nov 25"), for buttons with a small label limit

    @property
    def locale(self) -> Locale:
        """Return the Babel locale of this language."""
        return Locale.parse(languages.get(self.language).babel_locale)

    def text(self, message_id: str, **params: Param) -> str:
        """Return one catalog message with its parameters filled in."""
        return self.msg(Msg(message_id, dict(params)))

    def msg(self, msg: Msg) -> str:
        """Return a message reference as text."""
        try:
            template = catalog(self.language)[msg.id]
        except KeyError:
            raise MissingMessage(f"{msg.id!r} missing in the {self.language} catalog") from None
        values = {name: self.param(value) for name, value in msg.params.items()}
        return template.format(**values)

    def param(self, value: Param) -> str:
        """Format one parameter for this language."""
        if isinstance(value, Msg):
            return self.msg(value)
        if isinstance(value, OpeningHours):
            return self.opening_hours(value)
        if isinstance(value, OfficeName):
            return value.in_language(self.language)
        if isinstance(value, Lines):
            separator = self.text("common.list_separator") if value.inline else "\n"
            return separator.join(self.param(item) for item in value.items)
        if isinstance(value, Time):
            return format_time(value.at.astimezone(self.tz), "HH:mm", locale=self.locale)
        if isinstance(value, datetime):
            return self.when(value)
        if isinstance(value, date):
            if self.compact:
                return format_skeleton("MMMEd", value, locale=self.locale)
            return format_date(value, "full", locale=self.locale)
        return str(value)

    def opening_hours(self, hours: OpeningHours) -> str:
        """Spell out weekly hours, consecutive days with the same times as one range."""
        names = get_day_names("abbreviated", locale=self.locale)
        groups: list[list[tuple[int, str, str]]] = []
        for day in sorted(hours.days):
            last = groups[-1][-1] if groups else None
            if last and last[0] + 1 == day[0] and last[1:] == day[1:]:
                groups[-1].append(day)
            else:
                groups.append([day])
        parts = []
        for group in groups:
            first, last = group[0], group[-1]
            times = {"start": first[1], "end": first[2]}
            if first is last:
                parts.append(self.text("office.hours.day", day=names[first[0]], **times))
            else:
                parts.append(
                    self.text(
                        "office.hours.days", first=names[first[0]], last=names[last[0]], **times
                    )
                )
        return self.text("common.list_separator").join(parts)

    def when(self, at: datetime) -> str:
        """Spell out a date and time with the time zone, e.g. for a booking."""
        local = at.astimezone(self.tz)
        if self.compact:
            return self.text(
                "common.datetime_short",
                date=format_skeleton("MMMEd", local, locale=self.locale),
                time=format_time(local, "HH:mm", locale=self.locale),
            )
        return self.text(
            "common.datetime",
            date=format_date(local.date(), "full", locale=self.locale),
            time=format_time(local, "HH:mm", locale=self.locale),
            zone=get_timezone_name(local, width="long", locale=self.locale),
        )

    def blocks(self, reply: Reply) -> list[str]:
        """Return the text of a reply as blocks that may be sent apart (one per article)."""
        if reply.all_languages:
            codes = languages.codes()  # a fixed order, whatever the current language
            return ["\n".join(Renderer(code).msg(reply.body) for code in codes)]
        blocks = [self.msg(reply.body)]
        if reply.document and reply.document.kind == "terms" and reply.document.pages:
            blocks += [f"{heading}\n\n{body}" for heading, body in reply.document.pages]
        elif reply.document and reply.document.kind == "terms":  # rows queued before 0013
            doc = terms(reply.document.language or self.language)
            sections = (
                doc.sections
                if reply.document.section is None
                else (doc.sections[reply.document.section],)
            )
            blocks += [f"{s.heading}\n\n{s.body}" for s in sections]
        return blocks

    def choice_label(self, label: Msg) -> str:
        """Return a choice's label (language names stay in their own language)."""
        return self.msg(label)
