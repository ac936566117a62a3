"""Rendering and planning of Telegram messages: limits, keyboards, as few calls as readable."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot import choice_data, pacing
from bot.pacing import Pacer
from bot.telegram.outbound import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    callback_data,
    plan,
    render,
    split_text,
)
from flows import languages
from flows.codec import reply_to_json
from flows.dialog import ask, choice, say
from flows.model import Choice, Document, Msg, Reply
from flows.terms_document import terms


def payload(*replies: Reply, language: str = "en", turn: int = 3, **extra) -> dict:
    return {
        "language": language,
        "turn": turn,
        "replies": [reply_to_json(r) for r in replies],
        **extra,
    }


def test_replies_of_a_step_become_one_message_with_the_keyboard():
    parts = render(
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
    assert len(parts) == 1
    assert "2022-04-01" in parts[0].text and "Zoom" in parts[0].text
    assert [b.data for row in parts[0].keyboard for b in row] == ["3|app:agree"]


def test_long_texts_split_at_article_boundaries_within_4096():
    whole = Reply(Msg("terms.page", {"number": 1, "total": 15}), document=Document("terms", None))
    for lang in languages.codes():
        parts = render(payload(whole, language=lang))
        total = sum(len(p.text) for p in parts)
        assert (len(parts) > 1) == (total > TEXT_LIMIT)
        assert all(len(p.text) <= TEXT_LIMIT for p in parts)
        headings = [s.heading for s in terms(lang).sections]
        for part in parts[1:]:
            assert any(part.text.startswith(h) for h in headings)  # a chunk starts at an article


def test_split_text_cuts_a_single_huge_paragraph():
    chunks = split_text("x" * 10_000)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]


def test_callback_data_stays_within_64_bytes_and_round_trips():
    data = callback_data(123456, "time:2026-11-25T08:30:00+09:00")
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT
    assert choice_data.decode(data) == (123456, "time:2026-11-25T08:30:00+09:00")
    assert choice_data.decode("garbage") == (None, "")
    with pytest.raises(ValueError):
        callback_data(1, "x" * 70)


def test_a_button_press_edits_the_pressed_message_into_the_next_question():
    p = payload(
        ask(
            "eligibility.registration.ask", choice("reg:office", "eligibility.registration.office")
        ),
        pressed={"message_id": 10, "label": "I agree", "text": "old"},
    )
    calls = plan(p, render(p), keyboard_message_id="10")
    assert [c.method for c in calls] == ["editMessageText"]
    assert calls[0].params["text"].startswith("✓ I agree")


def test_typed_text_sends_a_message_then_takes_the_old_keyboard_off():
    p = payload(
        ask(
            "eligibility.device.ask",
            choice("device:yes", "eligibility.device.yes"),
            meeting_app="Zoom",
        )
    )
    calls = plan(p, render(p), keyboard_message_id="7")
    # the answer first: the user reads it after one call; tidying up follows
    assert [c.method for c in calls] == ["sendMessage", "editMessageReplyMarkup"]


def test_a_press_on_an_old_message_leaves_one_live_keyboard():
    p = payload(
        ask(
            "eligibility.device.ask",
            choice("device:yes", "eligibility.device.yes"),
            meeting_app="Zoom",
        ),
        pressed={"message_id": 5, "label": "Yes", "text": "old"},
    )
    calls = plan(p, render(p), keyboard_message_id="9")
    assert [(c.method, c.params.get("message_id")) for c in calls] == [
        ("editMessageText", 5),
        ("editMessageReplyMarkup", 9),
    ]


def _booked(*choices: Choice) -> Reply:
    from datetime import UTC, datetime

    return Reply(
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
        choices,
        document=Document("calendar"),
    )


def test_the_booking_confirmation_is_the_ics_captioned_with_it_and_its_buttons_two_calls():
    booked = _booked(choice("mine", "eligibility.device.yes"))
    p = payload(booked, pressed={"message_id": 5, "label": "Book", "text": "OK?"})
    parts = render(p)
    calls = plan(p, parts, keyboard_message_id="5")
    assert [c.method for c in calls] == ["sendDocument", "editMessageText"]
    assert calls[1].params == {"message_id": 5, "text": "OK?\n\n✓ Book"}  # closed, no buttons
    (document,) = parts
    assert "HW-ABCDEF" in document.text and "https://meet/x" in document.text
    assert len(document.text) <= CAPTION_LIMIT
    assert [b.data for row in document.keyboard for b in row] == [callback_data(3, "mine")]
    assert calls[0].sets_keyboard  # the file now carries the live keyboard
    ics = document.document.decode()
    assert "DTSTART;TZID=Asia/Tokyo:20261125T090000" in ics and "BEGIN:VTIMEZONE" in ics
    assert document.filename == "HW-ABCDEF.ics"


def test_a_press_on_the_confirmation_takes_its_buttons_off_and_keeps_its_caption():
    p = payload(say("common.welcome"), pressed={"message_id": 8, "label": "Mine", "media": True})
    calls = plan(p, render(p), keyboard_message_id="8")
    assert [(c.method, c.params.get("message_id")) for c in calls] == [
        ("sendMessage", None),
        ("editMessageReplyMarkup", 8),
    ]


def test_a_confirmation_too_long_for_a_caption_goes_first_as_text():
    long_note = say("common.welcome")
    p = payload(*[long_note] * 40, _booked(), pressed={"message_id": 5, "label": "Book"})
    parts = render(p)
    assert [part.document is not None for part in parts][-1]
    assert all(part.document is None for part in parts[:-1]) and len(parts) >= 2
    assert len(parts[-1].text) <= CAPTION_LIMIT


@pytest.mark.asyncio
async def test_pacer_keeps_the_global_rate_and_one_per_chat():
    now = [0.0]
    pacer = Pacer(per_second=10, per_key_interval=1.0, clock=lambda: now[0])

    async def sleep(seconds):  # a virtual clock: sleeping moves time
        now[0] += seconds

    times = []
    original = asyncio.sleep
    asyncio.sleep = sleep  # type: ignore[assignment]
    try:
        for key in ["a", "b", "c", "a", "a"]:
            await pacer.slot(key)
            times.append(round(now[0], 3))
    finally:
        asyncio.sleep = original  # type: ignore[assignment]
    assert times == [0.0, 0.1, 0.2, 1.0, 2.0]


@pytest.mark.asyncio
async def test_pacer_lets_a_quiet_chat_have_a_short_burst_then_one_per_interval():
    now = [0.0]
    pacer = Pacer(per_second=10, per_key_interval=1.0, per_key_burst=2, clock=lambda: now[0])

    async def sleep(seconds):  # a virtual clock: sleeping moves time
        now[0] += seconds

    times = []
    original = asyncio.sleep
    asyncio.sleep = sleep  # type: ignore[assignment]
    try:
        for key, pause in [("a", 0), ("a", 0), ("a", 0), ("b", 0), ("a", 0), ("a", 5), ("a", 0)]:
            now[0] += pause
            await pacer.slot(key)
            times.append(round(now[0], 1))  # the pacer may be 2 ms early
    finally:
        asyncio.sleep = original  # type: ignore[assignment]
    # two at once (at the overall rate), then one a second; after a pause, two at once again
    assert times == [0.0, 0.1, 1.0, 1.1, 2.0, 7.0, 7.1]


async def _reserve_in_order(
    pacer: Pacer, first: int, after: int, *, after_seconds: float = 0.0
) -> list[str]:
    """Answers to `first` chats queue, a tidying call arrives, then (after `after_seconds`)
    `after` more answers; return the order of the reservations."""
    order: list[str] = []

    async def call(key: str, later: bool = False) -> None:
        await pacer.slot(key, later=later)
        order.append(key)

    tasks = [asyncio.create_task(call(f"answer{n}")) for n in range(first)]
    await asyncio.sleep(0)  # they are waiting for the overall rate
    tasks.append(asyncio.create_task(call("tidy", later=True)))
    await asyncio.sleep(after_seconds)
    tasks += [asyncio.create_task(call(f"answer{first + n}")) for n in range(after)]
    await asyncio.gather(*tasks)
    return order


@pytest.mark.asyncio
async def test_tidying_up_gives_way_to_the_answers_waiting():
    order = await _reserve_in_order(Pacer(per_second=50, per_key_interval=0.0), 4, 3)
    assert order == [f"answer{n}" for n in range(7)] + ["tidy"]


@pytest.mark.asyncio
async def test_tidying_up_gives_way_for_a_moment_only(monkeypatch):
    monkeypatch.setattr(pacing, "LATER_AT_MOST", 0.1)
    pacer = Pacer(per_second=50, per_key_interval=0.0)  # 20 answers take 0.4 s
    order = await _reserve_in_order(pacer, 20, 5, after_seconds=0.2)
    # after its moment it takes its place in the queue: before answers that came later
    assert order.index("tidy") < order.index("answer20")


@pytest.mark.asyncio
async def test_the_window_counts_a_call_until_a_second_after_its_answer():
    """At most `window` calls can reach the platform within any second, however late the
    network delivers them: a call counts from its reservation to a second after its answer."""
    pacer = Pacer(per_second=1000, per_key_interval=0.0, window=3)
    sent: list[float] = []
    answered: list[float] = []

    async def call(n: int) -> None:
        await pacer.slot(f"chat{n}")
        sent.append(time.monotonic())
        await asyncio.sleep(0.05)  # the platform takes a while to answer
        answered.append(time.monotonic())
        pacer.finished()

    await asyncio.gather(*(call(n) for n in range(5)))
    assert sent[2] - sent[0] < 0.5  # three at once...
    assert sent[3] >= answered[0] + 1.0 - 0.003  # ...the fourth a second after an answer
    assert sent[4] >= answered[1] + 1.0 - 0.003
