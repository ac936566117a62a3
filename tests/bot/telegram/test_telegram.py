"""The intake on Telegram, end to end: the real python-telegram-bot client, our polling and
webhook, our sender, against a fake Bot API server over HTTP on 127.0.0.1; all of it in the
test's own event loop."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot import events, logs
from bot.rendering import Renderer
from bot.telegram.setup import make_bot, register_commands
from flows import languages
from storage.models import AuditEntry, Booking, Conversation, FailedEvent, OutboxMessage
from tests.bot.intake_walk import walk_to_booking
from tests.bot.telegram.harness import Harness, TelegramUser
from tests.chat_client import LANGUAGE_MENU
from tests.conftest import make_app
from tests.fakes.telegram_api import FakeTelegram, message_update
from tests.waiting import wait_until


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, served in the test's loop, with limits loose enough for a walk."""
    async with FakeTelegram(
        per_chat_per_second=50, global_per_second=1000, max_poll_seconds=0.5
    ) as server:
        yield server


@pytest_asyncio.fixture
async def webhook(sqlite_app, fake) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    """The channel on its webhook (and its sender), on SQLite, for the whole test."""
    async with Harness(sqlite_app, fake, mode="webhook") as h:
        yield h


async def run_intake(user: TelegramUser, lang: str) -> None:
    """Go from /start to a booked consultation, clicking by label."""
    await user.send("/start")
    # each language in its own name, in one order whatever the user's Telegram language
    assert [b["text"] for b in user.buttons()] == LANGUAGE_MENU
    await walk_to_booking(user, lang)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("lang", languages.codes())
@pytest.mark.asyncio
async def test_full_intake_books_with_link_and_calendar_file(sqlite_app, fake, mode, lang):
    async with Harness(sqlite_app, fake, mode=mode) as h:
        user = TelegramUser(h, 7001, language_code=lang)
        await run_intake(user, lang)
    texts = "\n".join(m.get("text") or m.get("caption") or "" for m in user.messages)
    assert (
        Renderer(lang)
        .text("booking.booked", reference="X", at="", link="", meeting_app="Zoom")
        .split("\n")[0]
        in texts
    )
    assert "https://meet.madoguchi.invalid/shinagawa/" in texts
    documents = fake.calls_to("sendDocument")
    assert len(documents) == 1 and documents[0].params["document_filename"].endswith(".ics")
    assert b"TZID=Asia/Tokyo" in documents[0].params["document_bytes"]
    assert len(user.keyboard_messages) == 1  # old buttons do not pile up
    with sqlite_app.db.transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(Booking).where(Booking.status == "booked"))
            == 1
        )
    if mode == "webhook":  # button presses are answered inside the webhook response
        assert any(a.get("method") == "answerCallbackQuery" for a in h.webhook_answers)
    else:
        assert fake.calls_to("answerCallbackQuery")


@pytest.mark.asyncio
async def test_each_button_step_costs_one_call(webhook, fake):
    user = TelegramUser(webhook, 7002, language_code="en")
    await user.send("/start")
    await user.click("language.native.en")
    user.language = "en"
    before = len(
        [
            c
            for c in fake.calls
            if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
        ]
    )
    await user.click("terms.choice.agree_terms")
    await user.click("meeting_app.choice.agree")
    await user.click("eligibility.registration.office")
    after = len(
        [
            c
            for c in fake.calls
            if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
        ]
    )
    assert after - before == 3
    assert user.last_text.startswith("✓ " + Renderer("en").text("eligibility.registration.office"))


@pytest.mark.asyncio
async def test_stale_buttons_get_a_friendly_answer_and_the_current_question(webhook):
    user = TelegramUser(webhook, 7003, language_code="en")
    await user.send("/start")
    await user.click("language.native.en")
    user.language = "en"
    old_terms = copy.deepcopy(user.keyboard_messages[-1])  # yesterday's message
    await user.click("terms.choice.agree_terms")
    await user.press_text(Renderer("en").text("terms.choice.agree_terms"), message=old_terms)
    assert user.sees("common.hint.stale")
    question = Renderer("en").text("meeting_app.question", meeting_app="Zoom")
    assert question in user.last_text  # the question alone, not its explanation:
    assert Renderer("en").text("meeting_app.ask", meeting_app="Zoom", terms="")[:30] not in (
        user.last_text
    )
    assert len(user.keyboard_messages) == 1
    # a forged or garbled callback_data is stale too, never an error
    forged = copy.deepcopy(user.keyboard_messages[-1])
    forged["reply_markup"]["inline_keyboard"][0][0]["callback_data"] = "garbage"
    await user.press_text(forged["reply_markup"]["inline_keyboard"][0][0]["text"], message=forged)
    assert user.sees("common.hint.stale")


@pytest.mark.asyncio
async def test_webhook_refuses_forged_oversized_and_malformed_requests(sqlite_app, webhook):
    update = {"update_id": 99, **message_update(7004, "/start")}
    assert (await webhook.post(update, secret=None)).status_code == 403
    assert (await webhook.post(update, secret="wrong")).status_code == 403
    big = b'{"update_id": 1, "x": "' + b"a" * 300_000 + b'"}'
    assert (await webhook.post(content=big)).status_code == 413
    assert (await webhook.post(content=b"{not json")).status_code == 400
    # authenticated but not an update Telegram would send: 200 (it would resend a 400 for
    # hours), recorded as failed
    assert (await webhook.post(content=b"[1, 2]")).status_code == 200
    assert (await webhook.post({"update_id": 5, "message": {"bogus": True}})).status_code == 200
    assert (
        await webhook.post({"update_id": 6, "a_future_update_type": {"id": "1"}})
    ).status_code == 200  # a kind of update the intake does not serve: ignored
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 0
        assert s.scalars(select(FailedEvent.event_key)).all() == ["", "5"]


@pytest.mark.asyncio
async def test_a_failing_handler_answers_200_is_recorded_and_the_chat_keeps_working(
    sqlite_app, webhook, monkeypatch
):
    real = sqlite_app.intake.handle_event
    tries = {"n": 0}

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("event_key") == "4242":  # this update fails however often it is tried
            tries["n"] += 1
            raise RuntimeError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite_app.intake, "handle_event", failing)
    user = TelegramUser(webhook, 7005, language_code="en")
    await user.send("/start")
    response = await webhook.deliver(
        {"update_id": 4242, **message_update(7005, "hello", language_code="en")}
    )
    assert response.status_code == 200
    await wait_until(lambda: webhook.idle(7005))
    assert Renderer("ja").text("common.error")[:20] in user.last_text
    await user.click("language.native.en")
    user.language = "en"
    assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
    with sqlite_app.db.transaction() as s:
        failed = s.scalars(select(FailedEvent)).one()
        assert failed.event_key == "4242" and failed.error == "RuntimeError"
    assert tries["n"] == events.ATTEMPTS


@pytest.mark.asyncio
async def test_the_same_update_twice_in_a_row_and_concurrently_has_one_effect(app, fake):
    async with Harness(app, fake, mode="webhook") as h:
        update = {"update_id": 500, **message_update(7006, "/start", language_code="en")}
        assert (await h.post(update)).status_code == 200
        assert (await h.post(update)).status_code == 200
        twice = {"update_id": 501, **message_update(7006, "2", language_code="en")}
        results = await asyncio.gather(*(h.post(twice) for _ in range(4)))  # at once
        assert [r.status_code for r in results] == [200] * 4
        await wait_until(lambda: h.idle(7006))
        with app.db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
            assert s.scalar(select(Conversation.state)) == "reviewing_terms"


@pytest.mark.asyncio
async def test_429_is_honoured_and_the_message_arrives_once(sqlite_url, fake, tmp_path):
    from bot.app import utc_now

    sqlite_app = make_app(sqlite_url, utc_now, tmp_path)  # retries are scheduled in real time
    async with Harness(sqlite_app, fake, mode="webhook") as h:
        fake.fail_next("sendMessage", status=429, retry_after=1)
        fake.fail_next("sendMessage", status=502)
        user = TelegramUser(h, 7007, language_code="en")
        await user.send("/start")
    assert len(user.messages) == 1
    assert h.sender.stats.rate_limited == 1 and h.sender.stats.retried == 1
    statuses = [c.status for c in fake.calls if c.method == "sendMessage"]
    assert statuses == [429, 502, 200]


@pytest.mark.asyncio
async def test_polling_loses_no_update_when_killed_between_fetch_and_processing(sqlite_app, fake):
    fake.push_update(message_update(7008, "/start", language_code="en"))
    async with make_bot(fake.token, fake.base_url.removesuffix("/bot")) as fetcher:
        # a process that fetched, then died before handling
        assert len(await fetcher.get_updates(timeout=0)) == 1
    async with Harness(sqlite_app, fake, mode="polling"):
        await wait_until(lambda: len(fake.messages(7008)) == 1)
    assert Renderer("en").text("language.ask") in fake.messages(7008)[0]["text"]


@pytest.mark.asyncio
async def test_a_restarted_process_continues_the_conversation(sqlite_app, fake, clock, tmp_path):
    async with Harness(sqlite_app, fake, mode="polling") as h:
        user = TelegramUser(h, 7009, language_code="en")
        await user.send("/start")
        await user.click("language.native.en")
        user.language = "en"
        await user.click("terms.choice.agree_terms")
    # the process went away; another one starts on the same database
    restarted = make_app(sqlite_app.db.url, clock, tmp_path)
    async with Harness(restarted, fake, mode="polling") as h2:
        user.h = h2
        await user.click("meeting_app.choice.agree")
        assert user.sees("eligibility.registration.ask")


@pytest.mark.asyncio
async def test_mydata_erases_a_telegram_user_and_the_receipt_still_arrives(app, fake):
    from tests.storage.test_privacy_retention import dump

    chat_id = 987654321987
    async with Harness(app, fake, mode="webhook") as h:
        user = TelegramUser(h, chat_id, language_code="en")
        await run_intake(user, "en")
        await user.send("/mydata")
        assert user.sees("mydata.summary", channel="", answers="", bookings="", consents="")
        assert str(chat_id) in dump(app)
        await user.click("mydata.choice.delete")
        with app.db.transaction() as s:
            receipt = s.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "erased")
            ).one()
        assert "DEL-" in user.last_text and receipt["receipt"] in user.last_text
        assert user.buttons(user.messages[-1]) == []  # nothing more to press
        assert str(chat_id) not in dump(app)  # the receipt was the last trace, dropped once sent
        await user.send("hello")  # the next message starts a fresh conversation
        assert user.sees("common.welcome")
    assert str(chat_id) in dump(app)  # (a new conversation, as it should)


@pytest.mark.asyncio
async def test_commands_menu_is_registered_in_every_language_telegram_can_name(fake):
    async with make_bot(fake.token, fake.base_url.removesuffix("/bot")) as bot:
        await register_commands(bot)
    assert {c["command"] for c in fake.commands["ja"]} == {
        "start",
        "help",
        "mybooking",
        "mydata",
        "language",
        "restart",
        "cancel",
    }
    assert fake.commands["en"][0]["description"] == Renderer("en").text("telegram.command.start")
    assert fake.commands["vi"][0]["description"] == Renderer("vi").text("telegram.command.start")
    # Telegram names languages by two letters: easy Japanese readers get the default menu
    assert set(fake.commands) == {"", "ja", "en", "vi", "zh", "pt"}
    assert fake.commands[""] == fake.commands["ja"]


@pytest.mark.asyncio
async def test_logs_carry_no_chat_id_number_or_token(sqlite_app, fake, caplog):
    logs.quiet_third_parties()
    caplog.set_level(logging.DEBUG)
    async with Harness(sqlite_app, fake, mode="webhook") as h:
        await run_intake(TelegramUser(h, 987654321, language_code="en"), "en")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("987654321", "12345678", fake.token):
        assert secret not in logged
