"""The one render step on real outbox payloads: what every channel lays out, in every offered
language (the words, for each language, in `transcripts/rendering.txt`).

Each test walks the real flow through storage with a `ChatClient`, takes the payload the
outbox holds, and checks the whole rendered message: blocks, choices, documents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.app import App
from bot.rendered import RenderedChoice, RenderedMessage, render_payload
from bot.rendering import Renderer
from flows import languages
from flows.intake import State
from flows.terms_document import terms
from storage import offices
from storage.models import Booking
from tests import golden
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to

RENDERED = Path(__file__).parent / "transcripts" / "rendering.txt"
LANGUAGE_CHOICES = tuple(
    RenderedChoice(id=f"lang:{code}", label=label, short_label=label)
    for code in languages.codes()
    for label in [Renderer(code).text(f"language.native.{code}")]
)
DAY_IDS = [
    "day:2026-11-25",
    "day:2026-11-26",
    "day:2026-11-27",
    "day:2026-11-30",
    "day:2026-12-01",
    "day:2026-12-02",
    "day:2026-12-03",
    "day:2026-12-04",
    "day:2026-12-07",
    "day:2026-12-08",
    "days:later",  # the horizon goes on past the ten days of a page
]


def words(message: RenderedMessage) -> str:
    """Return what a message shows, word for word (checked against `rendering.txt`)."""
    shown = [f"[{message.language}]", *message.blocks]
    shown += [f"({c.id}) {c.label} | {c.short_label}" for c in message.choices]
    for document in message.documents:
        shown.append(f"<{document.filename}> {document.caption}")
    return "\n\n".join(shown)


def last_payload(chat: ChatClient) -> dict:
    """Return the one outbox payload the last action produced."""
    [payload] = chat.payloads
    return payload


def test_the_language_question_shows_every_language_before_one_is_chosen(sqlite_app: App):
    chat = ChatClient(sqlite_app).send("/start")
    message = render_payload(last_payload(chat))
    assert message == RenderedMessage(
        language=languages.default_code(),  # none chosen yet: the default comes first
        turn=0,
        blocks=tuple(
            "\n".join(Renderer(code).text(message_id) for code in languages.codes())
            for message_id in ("common.welcome", "language.ask")
        ),
        choices=LANGUAGE_CHOICES,
        documents=(),
    )
    golden.check(RENDERED, words(message))


def test_the_language_question_keeps_its_order_after_a_language_was_chosen(sqlite_app: App):
    chat = ChatClient(sqlite_app).send("/start")
    chat.click("language.native.en")
    chat.send("/language")
    assert render_payload(last_payload(chat)) == RenderedMessage(
        language="en",
        turn=2,  # a new question: the buttons of the one before are stale
        blocks=("\n".join(Renderer(code).text("language.ask") for code in languages.codes()),),
        choices=LANGUAGE_CHOICES,  # the same order as before: people pick by position
        documents=(),
    )


@pytest.mark.parametrize("lang", languages.codes())
def test_a_terms_page_is_its_heading_then_one_block_per_article(sqlite_app: App, lang: str):
    chat = ChatClient(sqlite_app).send("/start")
    chat.click(f"language.native.{lang}")
    chat.click("terms.choice.read")
    article = terms(lang).sections[0]
    r = Renderer(lang)
    original = [] if languages.get(lang).authoritative_terms else ["page:original"]
    ids = ["page:next", "page:previous", *original, "terms:agree", "terms:decline"]
    message = render_payload(last_payload(chat))
    assert message == RenderedMessage(
        language=lang,
        turn=2,
        blocks=(
            r.text("terms.page", number=1, total=len(terms(lang).sections)),
            f"{article.heading}\n\n{article.body}",
        ),
        choices=tuple(
            RenderedChoice(
                id=choice.id, label=r.msg(choice.label), short_label=r.msg(choice.label)
            )
            for choice in chat.replies[-1].choices
        ),
        documents=(),
    )
    assert [choice.id for choice in message.choices] == ids
    golden.check(RENDERED, words(message))


@pytest.mark.parametrize("lang", languages.codes())
def test_the_day_question_has_full_dates_and_compact_short_labels(sqlite_app: App, lang: str):
    chat = ChatClient(sqlite_app).send("/start")
    walk_to(chat, lang, State.CHOOSING_DAY)
    r, compact = Renderer(lang), Renderer(lang, compact=True)
    days = [date.fromisoformat(choice_id[4:]) for choice_id in DAY_IDS[:-1]]
    message = render_payload(last_payload(chat))
    assert message == RenderedMessage(
        language=lang,
        turn=chat.stored().turn,  # the question the conversation stands at
        blocks=(r.text("booking.day.ask"),),
        choices=(
            *(
                RenderedChoice(id=f"day:{day}", label=r.param(day), short_label=compact.param(day))
                for day in days
            ),
            RenderedChoice(
                id="days:later",
                label=r.text("booking.choice.later_days"),
                short_label=r.text("booking.choice.later_days"),
            ),
        ),
        documents=(),
    )
    assert [choice.id for choice in message.choices] == DAY_IDS
    golden.check(RENDERED, words(message))


@pytest.mark.parametrize("lang", languages.codes())
def test_the_confirmation_carries_one_calendar_file_of_the_booking(sqlite_app: App, lang: str):
    chat = ChatClient(sqlite_app).send("/start")
    chat.walk(lang)  # the scripted path books the first free time: Wednesday, November 25, 09:00
    with sqlite_app.db.transaction() as session:
        booking = session.scalars(select(Booking)).one()
    reference, link = booking.reference, booking.meeting_url
    assert link == f"https://meet.madoguchi.invalid/shinagawa/{booking.meeting_token}"
    stamped = datetime(2026, 11, 24, 0, 5, tzinfo=UTC)

    message = render_payload(last_payload(chat), now=stamped)

    r = Renderer(lang)
    [document] = message.documents
    new = r.text("booked.choice.new")
    assert message == RenderedMessage(
        language=lang,
        turn=chat.stored().turn,
        blocks=(
            r.text(
                "booking.booked",
                reference=reference,
                at=booking.starts_at,
                link=link,
                meeting_app="Zoom",
                minutes=30,
                office="ハローワーク品川",
            ),
        ),
        choices=(RenderedChoice(id="booked:new", label=new, short_label=new),),
        documents=(document,),  # its bytes are read as iCalendar below
    )
    assert (document.filename, document.caption) == (
        f"{reference}.ics",
        r.text("calendar.caption"),
    )
    golden.check(RENDERED, words(message))
    [event] = Calendar.from_ical(document.data).walk("VEVENT")
    texts = {key: str(event[key]) for key in ("UID", "SUMMARY", "DESCRIPTION", "URL", "LOCATION")}
    assert texts == {
        "UID": f"{reference}@madoguchi",
        "SUMMARY": r.text("calendar.summary", reference=reference),
        "DESCRIPTION": r.text("calendar.description", link=link, office="ハローワーク品川"),
        "URL": link,
        "LOCATION": link,
    }
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (str(start.tzinfo), start, end, event.decoded("DTSTAMP")) == (
        "Asia/Tokyo",
        datetime(2026, 11, 25, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 30, tzinfo=UTC),
        stamped,
    )


@pytest.mark.parametrize(
    ("lang", "name"), [("en", "Hello Work Shinagawa"), ("ja", "ハローワーク品川")]
)
def test_the_confirmation_and_its_calendar_file_name_the_office_in_the_readers_language(
    sqlite_app: App, lang: str, name: str
):
    with sqlite_app.db.transaction() as session:
        office = offices.get_office(session, "shinagawa")
        offices.update_office(session, office, "name.en", "Hello Work Shinagawa")
    chat = ChatClient(sqlite_app).send("/start")
    chat.walk(lang)
    with sqlite_app.db.transaction() as session:
        link = session.scalars(select(Booking)).one().meeting_url
    message = render_payload(last_payload(chat), now=datetime(2026, 11, 24, tzinfo=UTC))
    [document] = message.documents
    [event] = Calendar.from_ical(document.data).walk("VEVENT")
    r = Renderer(lang)
    assert str(event["DESCRIPTION"]) == r.text("calendar.description", link=link, office=name)
    other = "ハローワーク品川" if lang == "en" else "Hello Work Shinagawa"
    assert other not in message.blocks[0] and other not in str(event["DESCRIPTION"])
