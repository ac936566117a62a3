"""The intake on Telegram, end to end: the real python-telegram-bot client, our polling and
webhook, our sender, against a fake Bot API server over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import copy
import logging
import threading

import httpx
import pytest
from sqlalchemy import func, select

from bot import logs
from bot.rendering import Renderer
from bot.telegram.setup import make_bot, register_commands
from storage.models import Booking, Conversation, FailedEvent, OutboxMessage
from tests.bot.intake_walk import walk_to_booking
from tests.bot.telegram.harness import WEBHOOK_SECRET, Harness, TelegramUser, wait_until
from tests.conftest import make_app
from tests.fakes.telegram_api import FakeTelegram, message_update


@pytest.fixture
def fake():
    with FakeTelegram(
        per_chat_per_second=50, global_per_second=1000, max_poll_seconds=0.5
    ) as server:
        yield server


def harness_for(app, fake, mode):  # type: ignore[no-untyped-def]
    h = Harness(app, fake, mode=mode).start()
    return h


def run_intake(user: TelegramUser, lang: str) -> None:
    """Go from /start to a booked consultation, clicking by label."""
    user.send("/start")
    first = user.buttons()[0]["text"]
    assert first == Renderer(lang).text(f"language.native.{lang}")  # pre-selected by language_code
    walk_to_booking(user, lang)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_full_intake_books_with_link_and_calendar_file(sqlite_app, fake, mode, lang):
    h = harness_for(sqlite_app, fake, mode)
    try:
        user = TelegramUser(h, 7001, language_code=lang)
        run_intake(user, lang)
    finally:
        h.stop()
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


def test_each_button_step_costs_one_call(sqlite_app, fake):
    h = harness_for(sqlite_app, fake, "webhook")
    try:
        user = TelegramUser(h, 7002, language_code="en")
        user.send("/start")
        user.click("language.native.en")
        user.language = "en"
        before = len(
            [
                c
                for c in fake.calls
                if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
            ]
        )
        user.click("terms.choice.agree")
        user.click("meeting_app.choice.agree")
        user.click("eligibility.registration.office")
        after = len(
            [
                c
                for c in fake.calls
                if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
            ]
        )
    finally:
        h.stop()
    assert after - before == 3
    assert user.last_text.startswith("✓ " + Renderer("en").text("eligibility.registration.office"))


def test_stale_buttons_get_a_friendly_answer_and_the_current_question(sqlite_app, fake):
    h = harness_for(sqlite_app, fake, "webhook")
    try:
        user = TelegramUser(h, 7003, language_code="en")
        user.send("/start")
        user.click("language.native.en")
        user.language = "en"
        old_terms = copy.deepcopy(user.keyboard_messages[-1])  # yesterday's message
        user.click("terms.choice.agree")
        user.press_text(Renderer("en").text("terms.choice.agree"), message=old_terms)
        assert user.sees("common.hint.stale")
        assert Renderer("en").text("meeting_app.ask", meeting_app="Zoom")[:30] in user.last_text
        assert len(user.keyboard_messages) == 1
        # a forged or garbled callback_data is stale too, never an error
        forged = copy.deepcopy(user.keyboard_messages[-1])
        forged["reply_markup"]["inline_keyboard"][0][0]["callback_data"] = "garbage"
        user.press_text(forged["reply_markup"]["inline_keyboard"][0][0]["text"], message=forged)
        assert user.sees("common.hint.stale")
    finally:
        h.stop()


def test_webhook_refuses_forged_oversized_and_malformed_requests(sqlite_app, fake):
    h = harness_for(sqlite_app, fake, "webhook")
    try:
        update = {"update_id": 99, **message_update(7004, "/start")}
        assert httpx.post(h.webhook_url, json=update).status_code == 403
        assert (
            httpx.post(
                h.webhook_url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            ).status_code
            == 403
        )
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        big = b'{"update_id": 1, "x": "' + b"a" * 300_000 + b'"}'
        assert httpx.post(h.webhook_url, content=big, headers=headers).status_code == 413
        assert httpx.post(h.webhook_url, content=b"{not json", headers=headers).status_code == 400
        assert httpx.post(h.webhook_url, content=b"[1, 2]", headers=headers).status_code == 400
        assert (
            httpx.post(
                h.webhook_url, json={"update_id": 5, "message": {"bogus": True}}, headers=headers
            ).status_code
            == 200
        )
        assert (
            httpx.post(
                h.webhook_url,
                json={"update_id": 6, "a_future_update_type": {"id": "1"}},
                headers=headers,
            ).status_code
            == 200
        )
        with sqlite_app.db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Conversation)) == 0
            assert s.scalar(select(func.count()).select_from(FailedEvent)) == 1
    finally:
        h.stop()


def test_a_failing_handler_answers_200_is_recorded_and_the_chat_keeps_working(
    sqlite_app, fake, monkeypatch
):
    h = harness_for(sqlite_app, fake, "webhook")
    real = sqlite_app.intake.handle_event
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database hiccup")
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite_app.intake, "handle_event", flaky)
    try:
        user = TelegramUser(h, 7005, language_code="en")
        user.send("/start")
        response = h.deliver(
            {"update_id": 4242, **message_update(7005, "hello", language_code="en")}
        )
        assert response.status_code == 200
        wait_until(lambda: h.idle(7005))
        assert Renderer("ja").text("common.error")[:20] in user.last_text
        user.click("language.native.en")
        user.language = "en"
        assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
        with sqlite_app.db.transaction() as s:
            failed = s.scalars(select(FailedEvent)).one()
            assert failed.event_key == "4242" and failed.error == "RuntimeError"
    finally:
        h.stop()


def test_the_same_update_twice_in_a_row_and_concurrently_has_one_effect(app, fake):
    h = harness_for(app, fake, "webhook")
    try:
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        update = {"update_id": 500, **message_update(7006, "/start", language_code="en")}
        assert httpx.post(h.webhook_url, json=update, headers=headers).status_code == 200
        assert httpx.post(h.webhook_url, json=update, headers=headers).status_code == 200
        twice = {"update_id": 501, **message_update(7006, "2", language_code="en")}
        results = []
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    httpx.post(h.webhook_url, json=twice, headers=headers, timeout=30).status_code
                )
            )
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 4
        wait_until(lambda: h.idle(7006))
        with app.db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
            assert s.scalar(select(Conversation.state)) == "reviewing_terms"
    finally:
        h.stop()


def test_429_is_honoured_and_the_message_arrives_once(sqlite_url, fake, tmp_path):
    from bot.app import utc_now

    sqlite_app = make_app(sqlite_url, utc_now, tmp_path)  # retries are scheduled in real time
    h = harness_for(sqlite_app, fake, "webhook")
    try:
        fake.fail_next("sendMessage", status=429, retry_after=1)
        fake.fail_next("sendMessage", status=502)
        user = TelegramUser(h, 7007, language_code="en")
        user.send("/start")
    finally:
        h.stop()
    assert len(user.messages) == 1
    assert h.sender.stats.rate_limited == 1 and h.sender.stats.retried == 1
    statuses = [c.status for c in fake.calls if c.method == "sendMessage"]
    assert statuses == [429, 502, 200]


def test_polling_loses_no_update_when_killed_between_fetch_and_processing(sqlite_app, fake):
    fake.push_update(message_update(7008, "/start", language_code="en"))
    fetcher = make_bot(fake.token, fake.base_url.removesuffix("/bot"))

    async def fetch_only():  # a process that fetched, then died before handling
        async with fetcher:
            return await fetcher.get_updates(timeout=0)

    assert len(asyncio.run(fetch_only())) == 1
    h = harness_for(sqlite_app, fake, "polling")
    try:
        wait_until(lambda: len(fake.messages(7008)) == 1)
    finally:
        h.stop()
    assert Renderer("en").text("language.ask") in fake.messages(7008)[0]["text"]


def test_a_restarted_process_continues_the_conversation(sqlite_app, fake, clock, tmp_path):
    h = harness_for(sqlite_app, fake, "polling")
    user = TelegramUser(h, 7009, language_code="en")
    user.send("/start")
    user.click("language.native.en")
    user.language = "en"
    user.click("terms.choice.agree")
    h.stop()  # the process goes away
    restarted = make_app(sqlite_app.db.url, clock, tmp_path)
    h2 = harness_for(restarted, fake, "polling")
    user.h = h2
    try:
        user.click("meeting_app.choice.agree")
        assert user.sees("eligibility.registration.ask")
    finally:
        h2.stop()


def test_commands_menu_is_registered_in_both_languages(fake):
    bot = make_bot(fake.token, fake.base_url.removesuffix("/bot"))

    async def register():
        async with bot:
            await register_commands(bot)

    asyncio.run(register())
    assert {c["command"] for c in fake.commands["ja"]} == {
        "start",
        "help",
        "mybooking",
        "language",
        "restart",
        "cancel",
    }
    assert fake.commands["en"][0]["description"] == Renderer("en").text("telegram.command.start")
    assert fake.commands[""] == fake.commands["ja"]


def test_logs_carry_no_chat_id_number_or_token(sqlite_app, fake, caplog):
    logs.quiet_third_parties()
    caplog.set_level(logging.DEBUG)
    h = harness_for(sqlite_app, fake, "webhook")
    try:
        run_intake(TelegramUser(h, 987654321, language_code="en"), "en")
    finally:
        h.stop()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("987654321", "12345678", fake.token):
        assert secret not in logged
