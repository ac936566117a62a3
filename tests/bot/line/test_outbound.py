"""Rendering of LINE messages: within LINE's limits, nothing lost, buttons readable."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot import choice_data
from bot.line.inbound import translate
from bot.line.outbound import (
    LABEL_LIMIT,
    POSTBACK_DATA_LIMIT,
    TEXT_LIMIT,
    postback_data,
    render,
    requests,
    shorten,
)
from bot.rendering import Renderer
from bot.splitting import utf16_units
from flows import languages
from flows.codec import reply_to_json
from flows.dialog import ask, choice, say
from flows.model import Document, Msg, Reply, Time
from flows.terms_document import terms


def payload(*replies: Reply, language: str = "en", turn: int = 3) -> dict:
    return {"language": language, "turn": turn, "replies": [reply_to_json(r) for r in replies]}


def items(message: dict) -> list[dict]:
    return [i["action"] for i in message.get("quickReply", {}).get("items", [])]


def test_a_step_is_one_message_with_its_choices_as_quick_replies():
    messages = render(
        payload(
            say("terms.agreed", version="2022-04-01"),
            ask(
                "meeting_app.ask",
                choice("app:agree", "meeting_app.choice.agree"),
                meeting_app="Zoom",
                terms="",
            ),
        )
    )
    assert len(messages) == 1
    assert "2022-04-01" in messages[0]["text"] and "Zoom" in messages[0]["text"]
    [button] = items(messages[0])
    assert button["data"] == "3|app:agree"
    assert button["displayText"] == Renderer("en").text("meeting_app.choice.agree")


def test_long_texts_split_at_article_boundaries_within_5000_utf16_units():
    whole = Reply(Msg("terms.page", {"number": 1, "total": 15}), document=Document("terms"))
    split = set()
    for lang in languages.codes():
        messages = render(payload(whole, whole, language=lang))
        joined = "\n\n".join(m["text"] for m in messages)
        # split exactly when one message could not carry it (compact 简体中文 fits in one)
        assert (len(messages) > 1) == (utf16_units(joined) > TEXT_LIMIT), lang
        split |= {lang} if len(messages) > 1 else set()
        assert all(utf16_units(m["text"]) <= TEXT_LIMIT for m in messages)
        headings = [s.heading for s in terms(lang).sections]
        for message in messages[1:]:
            assert any(message["text"].startswith(h) for h in headings)
    assert {"ja", "en"} <= split


def test_text_is_measured_in_utf16_units_as_line_counts():
    emoji = "😀" * 3000  # 6,000 UTF-16 units in 3,000 characters
    messages = render(payload(Reply(Msg("common.hint.too_long", {"max": emoji}))))
    assert len(messages) == 2
    assert all(utf16_units(m["text"]) <= TEXT_LIMIT for m in messages)
    assert "".join(m["text"] for m in messages).count("😀") == 3000


def test_long_labels_are_cut_to_20_and_the_full_choices_are_listed_by_number():
    reply = ask(
        "eligibility.registration.ask",
        choice("reg:office", "eligibility.registration.office"),
        choice("reg:online", "eligibility.registration.online"),
        choice("reg:no", "eligibility.registration.not_yet"),
    )
    for lang in languages.codes():
        [message] = render(payload(reply, language=lang))
        labels = [a["label"] for a in items(message)]
        full = [
            Renderer(lang).text(f"eligibility.registration.{k}")
            for k in ("office", "online", "not_yet")
        ]
        assert all(1 <= utf16_units(label) <= LABEL_LIMIT for label in labels)
        if any(utf16_units(f) > LABEL_LIMIT for f in full):
            assert labels[0].startswith("1. ")
            assert all(f"{n}. {text}" in message["text"] for n, text in enumerate(full, 1))
        assert [a["displayText"] for a in items(message)] == full


def test_days_get_short_labels_and_the_long_date_is_echoed():
    days = [date(2026, 11, 25 + n) for n in range(3)]
    reply = ask(
        "booking.day.ask", *(choice(f"day:{d}", "booking.day.label", date=d) for d in days)
    )
    [message] = render(payload(reply))
    assert [a["label"] for a in items(message)] == ["Wed, Nov 25", "Thu, Nov 26", "Fri, Nov 27"]
    assert items(message)[0]["displayText"] == "Wednesday, November 25, 2026"
    [ja] = render(payload(reply, language="ja"))
    assert items(ja)[0]["label"] == "11月25日(水)"


def test_more_than_13_choices_keep_13_buttons_and_number_every_option():
    at = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    times = [
        choice(f"time:{n}", "booking.time.label", time=Time(at.replace(minute=0, hour=n)))
        for n in range(17)
    ]
    reply = ask(
        "booking.time.ask",
        *times,
        choice("times:other_day", "booking.choice.other_day"),
        date=at.date(),
    )
    [message] = render(payload(reply))
    buttons = items(message)
    assert len(buttons) == 13
    assert [b["data"] for b in buttons][-1] == "3|times:other_day"
    assert "\n18. " + Renderer("en").text("booking.choice.other_day") in message["text"]
    assert Renderer("en").text("line.choice.type_number") in message["text"]


def test_requests_hold_at_most_five_messages():
    messages = [{"type": "text", "text": str(n)} for n in range(12)]
    assert [len(r) for r in requests(messages)] == [5, 5, 2]
    assert [m for r in requests(messages) for m in r] == messages


def test_postback_data_round_trips_and_stays_within_300():
    data = postback_data(123456, "time:2026-11-25T08:30:00+09:00")
    assert choice_data.decode(data) == (123456, "time:2026-11-25T08:30:00+09:00")
    assert choice_data.decode("garbage") == (None, "")
    with pytest.raises(ValueError):
        postback_data(1, "x" * POSTBACK_DATA_LIMIT)


def test_shorten_marks_a_cut():
    assert shorten("short", 20) == "short"
    cut = shorten("Wednesday, November 25, 2026", 20)
    assert cut.endswith("…") and utf16_units(cut) == 20


def test_the_booking_confirmation_carries_the_link_and_no_file():
    booked = Reply(
        Msg(
            "booking.booked",
            {
                "reference": "HW-ABCDEF",
                "at": datetime(2026, 11, 25, 0, 0, tzinfo=UTC),
                "link": "https://meet/x",
                "meeting_app": "Zoom",
                "minutes": 30,
            },
        ),
        document=Document("calendar"),
    )
    messages = render(payload(booked))
    assert len(messages) == 1 and "https://meet/x" in messages[0]["text"]
    assert all(m["type"] == "text" for m in messages)


def test_group_events_and_standby_events_are_ignored():
    from linebot.v3.webhooks import Event as LineEvent

    base = {
        "type": "message",
        "timestamp": 1,
        "webhookEventId": "01X",
        "replyToken": "t",
        "deliveryContext": {"isRedelivery": False},
        "message": {"type": "text", "id": "1", "quoteToken": "q", "text": "hi"},
    }
    now = datetime(2026, 11, 24, tzinfo=UTC)
    group = LineEvent.from_dict(
        {**base, "mode": "active", "source": {"type": "group", "groupId": "C1", "userId": "U1"}}
    )
    standby = LineEvent.from_dict(
        {**base, "mode": "standby", "source": {"type": "user", "userId": "U1"}}
    )
    direct = LineEvent.from_dict(
        {**base, "mode": "active", "source": {"type": "user", "userId": "U1"}}
    )
    assert translate(group, received_at=now) is None
    assert translate(standby, received_at=now) is None
    inbound = translate(direct, received_at=now)
    assert inbound is not None and inbound.event is not None and inbound.event.value == "hi"
    assert inbound.delivery["reply_token"] == "t"
