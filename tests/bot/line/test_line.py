"""The intake on LINE, end to end: our webhook route, inbox and sender on the real
line-bot-sdk client, against a fake Messaging API server over HTTP on 127.0.0.1; webhook
requests signed as LINE signs them; all of it in the test's own event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from linebot.v3.webhook import SignatureValidator
from sqlalchemy import func, select

from bot import logs
from bot.app import utc_now
from bot.line import CHANNEL
from bot.rendering import Renderer
from flows import languages
from flows.dialog import say
from flows.model import Document, Msg, Reply
from storage.models import (
    AuditEntry,
    Booking,
    ChannelContact,
    Conversation,
    InboundEvent,
    OutboxMessage,
    ProcessedEvent,
)
from tests.bot.intake_walk import walk_to_booking, walk_to_day
from tests.bot.line.harness import LineHarness, LineUser, queue_to
from tests.chat_client import LANGUAGE_MENU
from tests.conftest import make_app
from tests.fakes.line_api import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    FakeLine,
    follow_event,
    sign,
    text_event,
    unfollow_event,
    webhook_body,
)
from tests.fakes.server import serving
from tests.flows.test_transcripts import zone_name
from tests.waiting import wait_until

USER = "U" + "4af4980629" * 3 + "ab"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLine]:
    """The fake Messaging API, served in the test's loop."""
    async with FakeLine() as server:
        yield server


@pytest_asyncio.fixture
async def harness(sqlite_app, fake) -> AsyncIterator[LineHarness]:  # type: ignore[no-untyped-def]
    """The channel (webhook, processor, sender) on SQLite, for the whole test."""
    async with LineHarness(sqlite_app, fake) as h:
        yield h


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def queue(app, *replies: Reply, language: str = "en", **delivery):  # type: ignore[no-untyped-def]
    """Queue replies to USER as the intake (or a counselor) would; `delivery` as the webhook."""
    return queue_to(app, USER, list(replies), language=language, **delivery)


def fresh_token(fake: FakeLine, app) -> dict:  # type: ignore[no-untyped-def]
    """Return the delivery data of an event that just arrived with a reply token."""
    token = fake.issue_reply_token(USER)
    return {"reply_token": token, "received_at": app.clock().isoformat(), "redelivered": False}


async def run_intake(user: LineUser, lang: str) -> None:
    """Go from following the account to a booked consultation, tapping by label."""
    await user.follow()
    assert [a["label"] for a in user.quick_replies] == LANGUAGE_MENU
    await walk_to_booking(user, lang)


@pytest.mark.parametrize("lang", languages.codes())
@pytest.mark.asyncio
async def test_full_intake_books_with_quick_replies_and_reply_tokens(
    sqlite_app, harness, fake, lang
):
    user = LineUser(harness, USER)
    await run_intake(user, lang)
    texts = "\n".join(m["text"] for m in user.messages)
    booked = Renderer(lang).text(
        "booking.booked", reference="X", at="", link="", meeting_app="Zoom"
    )
    assert booked.split("\n")[0] in user.last_text
    assert "https://meet.madoguchi.invalid/shinagawa/" in user.last_text
    assert zone_name(lang) in texts
    # every answer used the event's fresh reply token: no push was needed
    assert {d.kind for d in fake.deliveries(USER)} == {"reply"}
    assert all(len(d.messages) <= 5 for d in fake.deliveries(USER))
    with sqlite_app.db.transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(Booking).where(Booking.status == "booked"))
            == 1
        )
        assert s.scalar(select(Booking.channel)) == CHANNEL


@pytest.mark.asyncio
async def test_the_time_list_over_13_choices_is_numbered_and_typing_a_number_works(
    sqlite_app, harness
):
    user = LineUser(harness, USER, language="en")
    await user.follow()
    await walk_to_day(user, "en")
    await user.press_index(0)  # a whole day: 16 times and "another day"
    assert len(user.quick_replies) == 13
    assert Renderer("en").text("line.choice.type_number") in user.last_text
    assert "\n14. 15:30" in user.last_text
    assert "\n17. " + Renderer("en").text("booking.choice.other_day") in user.last_text
    assert user.quick_replies[-1]["label"].startswith("17. ")  # the way out stays a button
    await user.send("14")  # a time without a button
    assert Renderer("en").text("booking.choice.confirm") in [
        a["displayText"] for a in user.quick_replies
    ]


@pytest.mark.asyncio
async def test_stale_postbacks_get_a_friendly_answer_and_the_current_question(harness):
    user = LineUser(harness, USER, language="en")
    await user.follow()
    await user.click("language.native.en")
    old_agree = next(
        a
        for a in user.quick_replies
        if a["displayText"] == Renderer("en").text("terms.choice.agree_terms")
    )
    await user.tap(old_agree)
    await user.tap(old_agree)  # the same button again (an old chat bubble, a delayed delivery)
    assert user.sees("common.hint.stale")
    question = Renderer("en").text("meeting_app.question", meeting_app="Zoom")
    assert question in user.last_text  # the question alone, not its explanation:
    assert Renderer("en").text("meeting_app.ask", meeting_app="Zoom", terms="")[:30] not in (
        user.last_text
    )
    await user.tap({"data": "garbage"})  # forged or garbled data is stale too, never an error
    assert user.sees("common.hint.stale")
    await user.click("meeting_app.choice.agree")
    assert user.sees("eligibility.registration.ask")


@pytest.mark.asyncio
async def test_a_redelivered_event_has_one_effect(app, fake):
    async with LineHarness(app, fake) as h:
        user = LineUser(h, USER, language="en")
        await user.follow()
        token = fake.issue_reply_token(USER)
        event = text_event(USER, "2", reply_token=token)
        await user.deliver(event)
        again = json.loads(json.dumps(event))
        again["deliveryContext"]["isRedelivery"] = True
        assert (await h.post(webhook_body(again))).status_code == 200
        assert (await h.post(webhook_body(event))).status_code == 200
        await wait_until(lambda: h.processor.pending() == 0)
        await wait_until(lambda: h.idle(USER))
        with app.db.transaction() as s:
            assert s.scalar(select(Conversation.state)) == "reviewing_terms"
            assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        assert len(fake.deliveries(USER)) == 2


@pytest.mark.asyncio
async def test_forged_missing_and_reserialised_signatures_are_refused_without_a_trace(
    sqlite_app, harness
):
    async def status(body: bytes, **signature: str) -> int:
        return (await harness.post(body, **signature)).status_code

    body = webhook_body(text_event(USER, "/start"))
    assert await status(body, signature="") == 400
    assert await status(body, signature=sign(body, "another-secret")) == 401
    reserialised = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert await status(reserialised, signature=sign(body)) == 401
    assert await status(b"\xff\xfe" + body, signature=sign(body)) == 401
    big = b'{"events": [], "x": "' + b"a" * 300_000 + b'"}'
    assert await status(big) == 413
    assert await status(b"{not json") == 400
    assert await status(b'{"events": "none"}') == 400
    assert await status(b'{"destination": "U1", "events": []}') == 200  # "Verify"
    unknown = {**text_event(USER, "x"), "type": "a_future_event_type"}
    assert await status(webhook_body(unknown)) == 200
    await wait_until(lambda: harness.processor.pending() == 0)
    assert count(sqlite_app, Conversation) == 0
    assert count(sqlite_app, OutboxMessage) == 0
    assert count(sqlite_app, InboundEvent) == 1  # only the signed unknown event, ignored


def test_our_signature_helper_is_what_the_sdk_validator_accepts():
    body = webhook_body(text_event(USER, "こんにちは"))
    validator = SignatureValidator(CHANNEL_SECRET)
    assert validator.validate(body.decode("utf-8"), sign(body))
    assert not validator.validate(body.decode("utf-8"), sign(body, "x"))


@pytest.mark.asyncio
async def test_a_push_retried_after_a_timeout_reaches_the_user_once(sqlite_url, fake, tmp_path):
    app = make_app(sqlite_url, utc_now, tmp_path)  # retries are scheduled in real time
    async with LineHarness(app, fake, request_timeout=0.5) as h:
        fake.answer_late("push", 1.5)  # LINE takes the push, the answer comes too late
        queue(app, say("common.welcome"))  # a counselor-initiated message: always a push
        await wait_until(lambda: h.idle(USER), timeout=30)
        await wait_until(lambda: len(fake.calls) == 2)  # the late answer of the first push
    assert [m["text"] for m in fake.messages(USER)] == [Renderer("en").text("common.welcome")]
    pushes = sorted((c for c in fake.calls if c.endpoint == "push"), key=lambda c: c.at)
    assert [c.status for c in pushes] == [200, 409]  # by arrival; the 200 came back too late
    assert pushes[0].retry_key == pushes[1].retry_key
    assert h.sender is not None and h.sender.stats.accepted_before == 1


@pytest.mark.asyncio
async def test_429_and_5xx_are_retried_with_the_same_key_and_arrive_once(
    sqlite_url, fake, tmp_path
):
    app = make_app(sqlite_url, utc_now, tmp_path)
    async with LineHarness(app, fake) as h:
        fake.fail_next("push", status=429)
        fake.fail_next("push", status=500)
        queue(app, say("common.welcome"), language="ja")
        await wait_until(lambda: h.idle(USER), timeout=30)
    assert len(fake.messages(USER)) == 1
    pushes = [c for c in fake.calls if c.endpoint == "push"]
    assert [c.status for c in pushes] == [429, 500, 200]
    assert len({c.retry_key for c in pushes}) == 1


@pytest.mark.asyncio
async def test_an_old_or_refused_reply_token_falls_back_to_a_push(
    sqlite_app, harness, fake, clock
):
    user = LineUser(harness, USER, language="en")
    await user.follow()
    fake.reply_token_seconds = 0.0  # LINE no longer takes it, though we think it fresh
    await user.click("language.native.en")
    fake.reply_token_seconds = 60.0
    assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
    assert [c.status for c in fake.calls[-2:]] == [400, 200]
    assert fake.deliveries(USER)[-1].kind == "push"
    assert harness.sender is not None and harness.sender.stats.reply_fallbacks == 1
    # an event handled 55 s after it arrived does not even try its token
    calls_before = len(fake.calls)
    row_id = queue(sqlite_app, say("common.help"), **fresh_token(fake, sqlite_app))
    with sqlite_app.db.transaction() as s:  # not sent before the clock moves
        s.get(OutboxMessage, row_id).next_attempt_at = clock() + timedelta(seconds=1)
    clock.advance(seconds=55)
    await wait_until(lambda: harness.idle(USER))
    assert [c.endpoint for c in fake.calls[calls_before:]] == ["push"]


@pytest.mark.asyncio
async def test_a_long_text_goes_out_in_requests_of_five_first_reply_then_push(
    sqlite_app, harness, fake, clock
):
    whole = Reply(Msg("terms.page", {"number": 1, "total": 15}), document=Document("terms"))
    queue(sqlite_app, *[whole] * 10, language="ja", **fresh_token(fake, sqlite_app))
    await wait_until(lambda: harness.idle(USER))
    kinds = [(d.kind, len(d.messages)) for d in fake.deliveries(USER)]
    assert kinds[0] == ("reply", 5) and all(kind == "push" for kind, _ in kinds[1:])
    assert all(n <= 5 for _, n in kinds) and len(kinds) >= 2
    text = "".join(m["text"] for m in fake.messages(USER))
    assert text.count("第14条") == 10  # nothing lost


@pytest.mark.asyncio
async def test_mydata_typed_erases_a_line_user_and_the_receipt_still_arrives(app, fake):
    from tests.storage.test_privacy_retention import dump

    async with LineHarness(app, fake) as h:
        user = LineUser(h, USER, language="en")
        await run_intake(user, "en")
        await user.send("/mydata")
        assert user.sees("mydata.summary", channel="", answers="", bookings="", consents="")
        assert [a["displayText"] for a in user.quick_replies] == [
            Renderer("en").text("mydata.choice.delete"),
            Renderer("en").text("mydata.choice.keep"),
        ]
        assert USER in dump(app)
        await user.click("mydata.choice.delete")
        with app.db.transaction() as s:
            receipt = s.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "erased")
            ).one()
        assert receipt["receipt"] in user.last_text and user.quick_replies == []
        assert USER not in dump(app)  # webhook bodies, contacts, the receipt row: all gone
        await user.send("hello")  # the next message starts a fresh conversation
        assert user.sees("common.welcome")


@pytest.mark.asyncio
async def test_follow_greets_and_starts_the_intake(harness):
    user = LineUser(harness, USER)
    await user.follow()
    assert Renderer("ja").text("common.welcome") in user.messages[0]["text"]
    assert Renderer("en").text("common.welcome") in user.messages[0]["text"]  # no language yet
    assert user.sees("language.ask")


@pytest.mark.asyncio
async def test_unfollow_stops_messages_and_keeps_the_booking(sqlite_app, harness, fake, clock):
    user = LineUser(harness, USER)
    await run_intake(user, "en")
    shown = len(user.messages)
    response = await harness.post(webhook_body(unfollow_event(USER)))
    assert response.status_code == 200
    await wait_until(lambda: harness.processor.pending() == 0)
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(ChannelContact.unreachable_since)) is not None
    queue(sqlite_app, say("common.welcome_back"))  # e.g. a counselor's message
    await wait_until(lambda: harness.idle(USER))
    assert len(user.messages) == shown  # nothing reaches a user who blocked the account
    with sqlite_app.db.transaction() as s:
        assert s.scalar(select(Booking.status)) == "booked"
        assert (
            s.scalar(select(OutboxMessage.last_error).order_by(OutboxMessage.id.desc()))
            == "unfollowed"
        )
    await user.follow()  # unblocked: reachable again, and welcomed back where they stand
    assert user.sees("common.welcome_back")
    assert count(sqlite_app, Booking) == 1


@pytest.mark.asyncio
async def test_the_200_comes_before_slow_processing(app, fake):
    release = threading.Event()  # the apply step runs in a worker thread
    real = app.intake.handle_event

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(10)  # e.g. a database under load
        return real(*args, **kwargs)

    app.intake.handle_event = slow  # type: ignore[method-assign]
    async with LineHarness(app, fake) as h:
        try:
            token = fake.issue_reply_token(USER)
            event = text_event(USER, "/start", reply_token=token)
            started = time.perf_counter()
            response = await h.post(webhook_body(event))
            answered = time.perf_counter() - started
            assert response.status_code == 200
            assert answered < 1.0  # LINE gives up after 2 s
            assert not h.processed(event["webhookEventId"]) and not fake.messages(USER)
            release.set()
            await wait_until(lambda: h.processed(event["webhookEventId"]) and h.idle(USER))
            assert LineUser(h, USER).sees("language.ask")
        finally:
            release.set()


@pytest.mark.asyncio
async def test_a_crash_between_the_200_and_processing_loses_nothing(app, fake, clock, tmp_path):
    events = [text_event(USER, "/start"), text_event(USER, "2")]
    async with LineHarness(app, fake, processing=False, sending=False) as dying:
        for event in events:  # acknowledged, stored, then the process dies
            assert (await dying.post(webhook_body(event))).status_code == 200
    assert count(app, InboundEvent) == 2 and count(app, Conversation) == 0
    restarted = make_app(app.db.url, clock, tmp_path)  # the same host and port: its own rows
    try:
        started = time.monotonic()
        async with LineHarness(restarted, fake) as h:
            await wait_until(lambda: h.processor.pending() == 0 and h.idle(USER), timeout=5)
            took = time.monotonic() - started
    finally:
        restarted.db.dispose()
    # taken back at start-up, long before the dead process's lease would have run out
    assert took < 3 and h.processor.lease >= timedelta(seconds=15)
    assert count(app, ProcessedEvent) == 2
    with app.db.transaction() as s:
        assert s.scalar(select(Conversation.state)) == "reviewing_terms"
    assert {d.kind for d in fake.deliveries(USER)} == {"push"}  # no reply token left to use
    assert len(fake.deliveries(USER)) == 2


@pytest.mark.asyncio
async def test_logs_carry_no_user_id_number_text_or_secret(sqlite_app, harness, caplog):
    logs.quiet_third_parties()
    caplog.set_level(logging.DEBUG)
    await run_intake(LineUser(harness, USER), "en")
    await harness.post(webhook_body(unfollow_event(USER)))
    await wait_until(lambda: harness.processor.pending() == 0)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "madoguchi.inbound" in {r.name for r in caplog.records}
    for secret in (USER, "12345678", CHANNEL_SECRET, ACCESS_TOKEN):
        assert secret not in logged


@pytest.mark.asyncio
async def test_one_process_serves_the_webhook_applies_it_and_replies(
    sqlite_url, fake, clock, tmp_path
):
    from bot.web import web_app

    app = make_app(
        sqlite_url,
        clock,
        tmp_path,
        LINE_CHANNEL_SECRET=CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        LINE_API_BASE_URL=fake.url,
    )
    try:
        async with (
            serving(web_app(app, with_worker=True), name="web") as base,
            httpx.AsyncClient(timeout=30) as http,
        ):
            body = webhook_body(follow_event(USER, reply_token=fake.issue_reply_token(USER)))
            response = await http.post(
                f"{base}/line/webhook", content=body, headers={"x-line-signature": sign(body)}
            )
            assert response.status_code == 200
            await wait_until(lambda: len(fake.messages(USER)) == 1)
            assert Renderer("en").text("language.ask") in fake.messages(USER)[0]["text"]
            assert fake.deliveries(USER)[0].kind == "reply"
    finally:
        app.db.dispose()


@pytest.mark.asyncio
async def test_the_worker_process_delivers_line_messages(sqlite_url, fake, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import TEST_KEY

    app = make_app(sqlite_url, utc_now, tmp_path)
    queue(app, say("common.welcome"))  # e.g. a reminder: the worker pushes it
    app.db.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_SECRET_KEY": TEST_KEY,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": fake.url,
    }
    root = Path(__file__).resolve().parents[3]
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_until(lambda: len(fake.messages(USER)) == 1 or worker.poll() is not None)
    finally:
        worker.terminate()
        # in a thread: the fake it may still be talking to runs in this loop
        _, err = await asyncio.to_thread(worker.communicate, timeout=20)
    assert [d.kind for d in fake.deliveries(USER)] == ["push"], err.decode()[-2000:]
