"""The one render step on real outbox payloads: what every channel lays out, in ja and en.

Each test walks the real flow through storage with a `ChatClient`, takes the payload the
outbox holds, and checks the whole rendered message: blocks, choices, documents.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.app import App
from bot.rendered import RenderedChoice, RenderedMessage, render_payload
from bot.rendering import catalog
from flows.intake import State
from flows.terms_document import terms
from storage.models import Booking
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to

WELCOME = {
    "ja": (
        "ハローワークのオンライン職業相談へようこそ。"
        "このチャットで、利用のお申込みを受け付けます。"
    ),
    "en": "Welcome to the Hello Work online job consultation. This chat takes your application.",
}
LANGUAGE_ASK = {"ja": "言語を選んでください。", "en": "Please choose your language."}
NATIVE = {
    "ja": "日本語",
    "en": "English",
    "ja_easy": "やさしい にほんご",
    "vi": "Tiếng Việt",
    "zh": "简体中文",
    "pt": "Português (Brasil)",
}
LANGUAGE_CHOICES = tuple(
    RenderedChoice(id=f"lang:{code}", label=name, short_label=name)
    for code, name in NATIVE.items()
)


def every_language(message_id: str, known: dict[str, str]) -> str:
    """The message in every offered language, one line each (ja and en as written above)."""
    return "\n".join(known.get(code) or catalog(code)[message_id] for code in NATIVE)


TERMS_PAGE = {
    "ja": "利用規約（1／15）",
    "en": "Terms of Use (1 of 15) — reference translation; the Japanese original prevails.",
}
TERMS_CHOICES = {
    "ja": ["次の条へ", "前の条へ", "同意する", "同意しない"],
    "en": ["Next article", "Previous article", "I agree", "I do not agree"],
}
DAYS = {
    "ja": [
        ("2026年11月25日水曜日", "11月25日(水)"),
        ("2026年11月26日木曜日", "11月26日(木)"),
        ("2026年11月27日金曜日", "11月27日(金)"),
        ("2026年11月30日月曜日", "11月30日(月)"),
        ("2026年12月1日火曜日", "12月1日(火)"),
        ("2026年12月2日水曜日", "12月2日(水)"),
        ("2026年12月3日木曜日", "12月3日(木)"),
        ("2026年12月4日金曜日", "12月4日(金)"),
        ("2026年12月7日月曜日", "12月7日(月)"),
        ("2026年12月8日火曜日", "12月8日(火)"),
        ("もっと先の日付", "もっと先の日付"),
    ],
    "en": [
        ("Wednesday, November 25, 2026", "Wed, Nov 25"),
        ("Thursday, November 26, 2026", "Thu, Nov 26"),
        ("Friday, November 27, 2026", "Fri, Nov 27"),
        ("Monday, November 30, 2026", "Mon, Nov 30"),
        ("Tuesday, December 1, 2026", "Tue, Dec 1"),
        ("Wednesday, December 2, 2026", "Wed, Dec 2"),
        ("Thursday, December 3, 2026", "Thu, Dec 3"),
        ("Friday, December 4, 2026", "Fri, Dec 4"),
        ("Monday, December 7, 2026", "Mon, Dec 7"),
        ("Tuesday, December 8, 2026", "Tue, Dec 8"),
        ("Later dates", "Later dates"),
    ],
}
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
DAY_ASK = {"ja": "相談の日を選んでください：", "en": "Please choose a day for your consultation:"}
BOOKED = {
    "ja": (
        "オンライン職業相談の予約が完了しました。\n\n"
        "予約番号：{reference}\n"
        "日時：2026年11月25日水曜日 09:00（日本標準時）\n"
        "会議のリンク（Zoom）：{link}\n\n"
        "ご準備いただくこと：\n"
        "• 端末にZoomをインストールして動作を確認し、カメラとマイクが使える状態にする\n"
        "• 個室又は周囲に他人がいない環境を用意する\n"
        "• 方法を問わず、録画・録音をしない\n\n"
        "相談員に予約を通知しました。このメッセージは保存しておいてください。"
        "リンクはあなた専用です。"
    ),
    "en": (
        "Your online consultation is booked.\n\n"
        "Reference: {reference}\n"
        "Date and time: Wednesday, November 25, 2026, 09:00 (Japan Standard Time)\n"
        "Meeting link (Zoom): {link}\n\n"
        "Please prepare:\n"
        "• Zoom installed and tested on your device, camera and microphone working;\n"
        "• a private room or a place with nobody around;\n"
        "• no recording of any kind.\n\n"
        "The counselors have been notified. Keep this message; the link is personal."
    ),
}
NEW_APPLICATION = {"ja": "新しく申し込む", "en": "Start a new application"}
CALENDAR = {
    "ja": {
        "caption": "相談の予定ファイルです（開くとカレンダーに追加できます）。",
        "summary": "ハローワーク オンライン職業相談（{reference}）",
        "description": (
            "ハローワーク品川のオンライン職業相談です。会議のリンク：{link}\n"
            "個室又は周囲に他人がいない環境から参加してください。録画・録音は禁止です。"
        ),
    },
    "en": {
        "caption": "Calendar file of your consultation (open it to add it to your calendar).",
        "summary": "Hello Work online job consultation ({reference})",
        "description": (
            "Online job consultation with ハローワーク品川. Meeting link: {link}\n"
            "Please join from a private room; recording is not allowed."
        ),
    },
}


def last_payload(chat: ChatClient) -> dict:
    """Return the one outbox payload the last action produced."""
    [payload] = chat.payloads
    return payload


def test_the_language_question_shows_every_language_before_one_is_chosen(sqlite_app: App):
    chat = ChatClient(sqlite_app).send("/start")
    assert render_payload(last_payload(chat)) == RenderedMessage(
        language="ja",  # none chosen yet: the default comes first
        turn=0,
        blocks=(
            every_language("common.welcome", WELCOME),
            every_language("language.ask", LANGUAGE_ASK),
        ),
        choices=LANGUAGE_CHOICES,
        documents=(),
    )


def test_the_language_question_keeps_its_order_after_a_language_was_chosen(sqlite_app: App):
    chat = ChatClient(sqlite_app).send("/start")
    chat.click("language.native.en")
    chat.send("/language")
    assert render_payload(last_payload(chat)) == RenderedMessage(
        language="en",
        turn=2,  # a new question: the buttons of the one before are stale
        blocks=(every_language("language.ask", LANGUAGE_ASK),),
        choices=LANGUAGE_CHOICES,  # the same order as before: people pick by position
        documents=(),
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_terms_page_is_its_heading_then_one_block_per_article(sqlite_app: App, lang: str):
    chat = ChatClient(sqlite_app).send("/start")
    chat.click(f"language.native.{lang}")
    chat.click("terms.choice.read")
    article = terms(lang).sections[0]
    assert render_payload(last_payload(chat)) == RenderedMessage(
        language=lang,
        turn=2,
        blocks=(TERMS_PAGE[lang], f"{article.heading}\n\n{article.body}"),
        choices=tuple(
            RenderedChoice(id=choice_id, label=label, short_label=label)
            for choice_id, label in zip(
                ["page:next", "page:previous", "terms:agree", "terms:decline"],
                TERMS_CHOICES[lang],
                strict=True,
            )
        ),
        documents=(),
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_day_question_has_full_dates_and_compact_short_labels(sqlite_app: App, lang: str):
    chat = ChatClient(sqlite_app).send("/start")
    walk_to(chat, lang, State.CHOOSING_DAY)
    assert render_payload(last_payload(chat)) == RenderedMessage(
        language=lang,
        turn=chat.stored().turn,  # the question the conversation stands at
        blocks=(DAY_ASK[lang],),
        choices=tuple(
            RenderedChoice(id=choice_id, label=full, short_label=short)
            for choice_id, (full, short) in zip(DAY_IDS, DAYS[lang], strict=True)
        ),
        documents=(),
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_confirmation_carries_one_calendar_file_of_the_booking(sqlite_app: App, lang: str):
    chat = ChatClient(sqlite_app).send("/start")
    chat.walk(lang)  # the scripted path books the first free time: Wednesday, November 25, 09:00
    with sqlite_app.db.transaction() as session:
        booking = session.scalars(select(Booking)).one()
    reference, link = booking.reference, booking.meeting_url
    assert link == f"https://meet.madoguchi.invalid/shinagawa/{booking.meeting_token}"
    stamped = datetime(2026, 11, 24, 0, 5, tzinfo=UTC)

    message = render_payload(last_payload(chat), now=stamped)

    [document] = message.documents
    assert message == RenderedMessage(
        language=lang,
        turn=chat.stored().turn,
        blocks=(BOOKED[lang].format(reference=reference, link=link),),
        choices=(
            RenderedChoice(
                id="booked:new", label=NEW_APPLICATION[lang], short_label=NEW_APPLICATION[lang]
            ),
        ),
        documents=(document,),  # its bytes are read as iCalendar below
    )
    assert (document.filename, document.caption) == (
        f"{reference}.ics",
        CALENDAR[lang]["caption"],
    )
    [event] = Calendar.from_ical(document.data).walk("VEVENT")
    texts = {key: str(event[key]) for key in ("UID", "SUMMARY", "DESCRIPTION", "URL", "LOCATION")}
    assert texts == {
        "UID": f"{reference}@madoguchi",
        "SUMMARY": CALENDAR[lang]["summary"].format(reference=reference),
        "DESCRIPTION": CALENDAR[lang]["description"].format(link=link),
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
