"""Counselors see the jobseeker's language on every booking, in every offered language: the
notification, the day's schedule (digest, Slack lists) and `madoguchi bookings` name it in its
own name; the rest stays in the counselors' language and what the jobseeker typed (the
interpreter's language, the note) is shown as typed."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from bot import counselors, operations
from bot.rendering import Renderer
from bot.slack.blocks import booking_message, schedule_blocks
from flows import languages
from flows.intake import State
from storage import offices
from storage.models import Booking
from tests.bot.test_operator_cli import operator  # noqa: F401  (the fixture)
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to

INTERPRETER = "Tiếng Việt / 越南語"
NOTE = "Please call me first — 先にお電話ください"


@pytest.mark.parametrize("counselor_lang", languages.counselor_codes())
def test_every_booking_shows_its_language_to_counselors(operator, counselor_lang):  # noqa: F811
    run, app = operator
    for number, lang in enumerate(languages.codes(), 1):
        chat = ChatClient(app, user=f"u-{lang}")
        walk_to(
            chat,
            lang,
            State.CHOOSING_ACCOMMODATION,
            asking_jobseeker_number=f"13010-0000000{number}",
        )
        chat.click("accommodation.kind.interpreter").send(INTERPRETER)
        chat.click("accommodation.choice.done").send(NOTE)
        chat.press(chat.choice_ids[0]).press(chat.choice_ids[0])
        chat.click("booking.choice.confirm")
        assert "booking.booked" in chat.ids
    r = Renderer(counselor_lang)
    printed = io.StringIO()
    counselors.deliver(app.db, app.vault, language=counselor_lang, out=printed, now=app.clock)
    notifications = printed.getvalue().split(r.text("counselor.header"))[1:]
    _, listing, _ = run(counselor_lang, "bookings", "--day", "2026-11-25")
    with app.db.transaction() as session:
        booked = {b.language: b for b in session.scalars(select(Booking))}
        office = offices.get_office(session, app.settings.office)
        schedule = operations.schedule(session, office, app.vault, office_day(), 1)
        slack = {
            code: json.dumps(booking_message(session, b, app.vault, r)[1], ensure_ascii=False)
            for code, b in booked.items()
        }
        digest = counselors.digest_text(session, {"day": "2026-11-25"}, app.vault, r)
    listed = json.dumps(schedule_blocks("t", schedule, r), ensure_ascii=False)
    assert sorted(booked) == sorted(languages.codes())
    for lang, booking in booked.items():
        name = r.text(f"language.native.{lang}")
        [notification] = [n for n in notifications if booking.reference in n]
        assert r.text("counselor.booked", **params(r, booking)).split("\n")[2] in notification
        assert INTERPRETER in notification and NOTE in notification  # as typed
        assert name in slack[lang] and INTERPRETER in slack[lang]
        [line] = [line for line in listing.splitlines() if booking.reference in line]
        assert f"  {name}  " in line
        [entry] = [e for e in digest.split("\n\n") if booking.reference in e] or [digest]
        assert name in entry
        assert name in listed


def office_day():  # type: ignore[no-untyped-def]
    from datetime import date

    return date(2026, 11, 25)


def params(r: Renderer, booking: Booking) -> dict:  # type: ignore[type-arg]
    """The notification's parameters, to find its language line in the counselors' words."""
    return {
        "reference": booking.reference or "",
        "at": booking.starts_at,
        "language": languages.name(booking.language),
        "channel": r.text(f"channel.{booking.channel}"),
        "link": booking.meeting_url or "",
        "answers": "",
    }
