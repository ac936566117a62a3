"""Delivery on Telegram against the fake Bot API's limits: fair across chats, a short burst
per chat, the booking confirmation in two calls, and a restarted sender taking its own rows
back at once. Orders and counts are asserted, never durations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import App
from bot.telegram import CHANNEL
from bot.telegram.sender import TelegramSender
from bot.telegram.setup import make_bot
from flows.codec import reply_to_json
from flows.dialog import say
from flows.intake import State
from storage import outbox
from storage.models import OutboxMessage
from tests.bot.intake_walk import walk, walk_to_day
from tests.bot.telegram.harness import Harness, TelegramUser
from tests.fakes.telegram_api import FakeTelegram
from tests.waiting import wait_until

RATE_LIMITED = ("sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup")


@pytest_asyncio.fixture
async def strict() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API with Telegram's limits: 30/s overall, about 1/s per chat, burst 3."""
    async with FakeTelegram(max_poll_seconds=0.5) as server:
        yield server


def queue(app: App, chat_id: int, count: int) -> list[int]:
    """Queue `count` plain messages for a chat, as a flood of replies would."""
    with app.db.transaction() as session:
        return [
            outbox.enqueue(
                session,
                channel=CHANNEL,
                recipient=str(chat_id),
                payload={"language": "en", "turn": 1, "replies": [reply_to_json(say(m))]},
                now=app.clock(),
            )
            for m in ["common.welcome"] * count
        ]


def statuses(app: App, chat_id: int) -> list[str]:
    """The status of each message to a chat, oldest first."""
    with app.db.transaction() as session:
        return list(
            session.scalars(
                select(OutboxMessage.status)
                .where(OutboxMessage.recipient == str(chat_id))
                .order_by(OutboxMessage.id)
            )
        )


def pending(app: App, chat_id: int) -> int:
    return statuses(app, chat_id).count("pending")


def lease_of(app: App, row_id: int) -> datetime | None:
    with app.db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return row.claimed_until


def sends_to(fake: FakeTelegram, chat_id: int) -> list[int]:
    """Positions in the fake's call log of the successful sends and edits to a chat."""
    return [
        n
        for n, c in enumerate(fake.calls)
        if c.method in RATE_LIMITED and c.status == 200 and c.params.get("chat_id") == chat_id
    ]


@pytest.mark.asyncio
async def test_a_chat_with_600_queued_does_not_hold_back_another_chats_reply(sqlite_app, strict):
    queue(sqlite_app, 8001, 600)
    async with Harness(sqlite_app, strict, mode="webhook", per_chat_interval=1.05) as h:
        await wait_until(lambda: sends_to(strict, 8001))  # the flood is being delivered
        user = TelegramUser(h, 8002, language_code="en")
        await user.send("/start")
        (reply,) = sends_to(strict, 8002)
    before = [n for n in sends_to(strict, 8001) if n < reply]
    assert len(before) <= 10  # B went out at once, not after A's backlog
    assert pending(sqlite_app, 8001) >= 580
    assert strict.count_429 == 0


@pytest.mark.asyncio
async def test_a_quiet_chat_gets_two_answers_at_once_then_waits_its_turn(sqlite_app):
    # One call a minute per chat, a burst of two, for the fake and the bot alike: without
    # the burst the second answer would wait a minute, longer than the test waits.
    async with FakeTelegram(per_chat_per_second=1 / 60, per_chat_burst=2) as fake:
        queue(sqlite_app, 8003, 3)
        async with Harness(
            sqlite_app, fake, mode="webhook", per_chat_interval=60, per_chat_burst=2
        ):
            await wait_until(lambda: pending(sqlite_app, 8003) == 1)
            # the third waits for the bucket to refill
            assert len(fake.calls_to("sendMessage")) == 2
        assert fake.count_429 == 0
        assert statuses(sqlite_app, 8003) == ["sent", "sent", "pending"]


@pytest.mark.asyncio
async def test_the_booking_confirmation_is_two_calls_and_its_buttons_work(sqlite_app):
    async with (
        FakeTelegram(per_chat_per_second=50, global_per_second=1000) as strict,
        Harness(sqlite_app, strict, mode="webhook") as h,
    ):
        user = TelegramUser(h, 8004, language_code="en")
        await user.send("/start")
        await walk_to_day(user, "en")
        await walk(user, "en", until=State.CONFIRMING_BOOKING)
        before = len(strict.calls)
        await walk(user, "en")  # confirm the booking
        confirmation = [c for c in strict.calls[before:] if c.method in RATE_LIMITED]
        assert [c.method for c in confirmation] == ["sendDocument", "editMessageText"]
        document = confirmation[0].params
        assert "HW-" in document["caption"] and "https://meet." in document["caption"]
        assert document["document_filename"].endswith(".ics") and document["reply_markup"]
        (shown,) = user.keyboard_messages  # the file carries the only live buttons
        assert shown["document"] and shown["caption"] == document["caption"]
        await user.press_index(0)  # a next step, pressed on the file
    (confirmed,) = [m for m in user.messages if m.get("document")]
    assert confirmed["caption"] == document["caption"] and "reply_markup" not in confirmed
    assert len(user.keyboard_messages) == 1 and user.keyboard_messages[0] is not confirmed
    assert set(statuses(sqlite_app, 8004)) == {"sent"}  # nothing failed or left behind
    assert strict.count_429 == 0


@pytest.mark.asyncio
async def test_a_restarted_sender_takes_its_own_leases_back_at_once(sqlite_app, clock, strict):
    rows = [queue(sqlite_app, chat, 1)[0] for chat in (8005, 8006, 8007)]
    bot = make_bot(strict.token, strict.base_url.removesuffix("/bot"))
    async with bot:

        def sender(owner: str) -> TelegramSender:
            return TelegramSender(sqlite_app.db, bot, clock=clock, owner=owner, idle_seconds=0.02)

        crashed = sender("host-1/telegram")
        assert [r[0] for r in await asyncio.to_thread(crashed._claim, 10)] == rows
        expiry = clock() + crashed.lease  # it died here, holding three leases
        clock.advance(seconds=4)  # a restart takes a few seconds; the lease has 11 left
        assert await asyncio.to_thread(sender("host-2/telegram")._claim, 10) == []
        await sender("host-1/telegram").drain(timeout=10)
    assert clock() < expiry
    assert [pending(sqlite_app, chat) for chat in (8005, 8006, 8007)] == [0, 0, 0]
    assert len(strict.calls_to("sendMessage")) == 3 and strict.count_429 == 0


@pytest.mark.asyncio
async def test_a_running_sender_renews_its_leases_and_keeps_them(sqlite_app, clock, strict):
    (row,) = queue(sqlite_app, 8008, 1)
    bot = make_bot(strict.token, strict.base_url.removesuffix("/bot"))
    async with bot:
        mine = TelegramSender(sqlite_app.db, bot, clock=clock, owner="host-1/telegram")
        mine.renew_seconds = 0.0
        strict.fail_next("sendMessage", status=429, retry_after=2)  # the delivery waits
        stop = asyncio.Event()
        running = asyncio.create_task(mine.run(stop))
        await wait_until(lambda: strict.count_429 == 1)
        clock.advance(seconds=10)  # time passes while the delivery waits out the 429
        renewed = clock() + timedelta(seconds=14)
        await wait_until(lambda: (lease_of(sqlite_app, row) or clock()) >= renewed)
        other = TelegramSender(sqlite_app.db, bot, clock=clock, owner="host-2/telegram")
        assert await asyncio.to_thread(other._claim, 10) == []  # renewed: still held
        await wait_until(lambda: pending(sqlite_app, 8008) == 0)
        stop.set()
        await running
    assert len(strict.calls_to("sendMessage")) == 1


@pytest.mark.asyncio
async def test_a_stop_waits_for_the_answer_of_a_call_on_its_way_so_nothing_shows_twice(
    sqlite_app, clock, strict
):
    (row,) = queue(sqlite_app, 8010, 1)
    strict.answer_delay = 0.5  # Telegram shows the message; its answer comes later
    bot = make_bot(strict.token, strict.base_url.removesuffix("/bot"))
    async with bot:
        first = TelegramSender(sqlite_app.db, bot, clock=clock, idle_seconds=0.02)
        stop = asyncio.Event()
        running = asyncio.create_task(first.run(stop))
        await wait_until(lambda: len(strict.messages(8010)) == 1)
        stop.set()  # SIGTERM (a deploy) while the answer is on its way
        await running
        assert statuses(sqlite_app, 8010) == ["sent"]
        strict.answer_delay = 0.0
        await TelegramSender(sqlite_app.db, bot, clock=clock, idle_seconds=0.02).drain()
    assert len(strict.messages(8010)) == 1 and len(strict.calls_to("sendMessage")) == 1


@pytest.mark.asyncio
async def test_a_stop_does_not_wait_for_deliveries_that_wait_their_turn(sqlite_app, clock, strict):
    queue(sqlite_app, 8011, 1)
    queue(sqlite_app, 8012, 1)
    bot = make_bot(strict.token, strict.base_url.removesuffix("/bot"))
    async with bot:
        # one call an hour: the second chat's message waits for its turn
        slow = TelegramSender(
            sqlite_app.db, bot, clock=clock, idle_seconds=0.02, per_second=1 / 3600
        )
        stop = asyncio.Event()
        running = asyncio.create_task(slow.run(stop))
        await wait_until(lambda: len(strict.calls_to("sendMessage")) == 1)
        stop.set()
        await asyncio.wait_for(running, timeout=60)  # a guard: the waiting one does not hold it
        assert sorted(statuses(sqlite_app, c)[0] for c in (8011, 8012)) == ["pending", "sent"]
        # handed back: another host's sender takes it at once (the clock has not moved)
        other = TelegramSender(
            sqlite_app.db, bot, clock=clock, idle_seconds=0.02, owner="host-2/telegram"
        )
        await other.drain()
    assert [len(strict.messages(c)) for c in (8011, 8012)] == [1, 1]
    assert len(strict.calls_to("sendMessage")) == 2
