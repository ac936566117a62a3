"""A reply resumed after the worker died, a timeout or a 5xx reaches the user once (issue 12):
the reply API has no retry key, so a resumed reply tries its token again while it is fresh;
LINE calling a fresh token invalid means the attempt before used it (delivered, not pushed
again). The sender runs on the real line-bot-sdk client against the fake Messaging API over
HTTP on 127.0.0.1, on both backends; what each user was shown is what the fake received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from linebot.v3.messaging import AsyncMessagingApi
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import App, utc_now
from bot.line import CHANNEL
from bot.line.sender import LineSender, make_api
from bot.rendering import Renderer
from flows.dialog import say
from storage import outbox
from storage.models import OutboxMessage
from tests.bot.line.harness import queue_to
from tests.conftest import make_app
from tests.fakes.line_api import FakeLine
from tests.waiting import wait_until

USER = "U" + "7be2c01d9a" * 3 + "e4"
WELCOME = Renderer("en").text("common.welcome")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLine]:
    """The fake Messaging API, served in the test's loop."""
    async with FakeLine() as server:
        yield server


@pytest.fixture
def live_app(db_url: str, tmp_path: Path) -> Iterator[App]:
    """The application on the real clock: retries are scheduled in real time."""
    app = make_app(db_url, utc_now, tmp_path)
    try:
        yield app
    finally:
        app.db.dispose()


def queue_answer(app: App, fake: FakeLine) -> int:
    """Queue an answer to an event of USER that just arrived with a fresh reply token, as
    the intake does; return the outbox row id."""
    return queue_to(
        app,
        USER,
        [say("common.welcome")],
        language="en",
        reply_token=fake.issue_reply_token(USER),
        received_at=app.clock().isoformat(),
        redelivered=False,
    )


def new_sender(app: App, api: AsyncMessagingApi, request_timeout: float) -> LineSender:
    """A sender as the worker makes it (its lease name is this host's, kept over restarts)."""
    return LineSender(
        app.db, api, clock=app.clock, idle_seconds=0.02, request_timeout=request_timeout
    )


@asynccontextmanager
async def sending(
    app: App, fake: FakeLine, *, request_timeout: float = 5.0
) -> AsyncIterator[LineSender]:
    """Run a sender in this loop. Leaving the block stops it where it stands, as a killed
    worker stops: a request in flight is abandoned and nothing more is recorded (no grace,
    unlike a SIGTERM, which waits for the answer: tests/bot/telegram/test_delivery.py)."""
    client = make_api(fake.access_token, fake.url)
    sender = new_sender(app, AsyncMessagingApi(client), request_timeout)
    sender.stop_grace = 0.0
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await asyncio.sleep(0.05)  # the abandoned deliveries take their cancellation
        await client.close()


async def claim_and_die(app: App, fake: FakeLine) -> dict[str, Any]:
    """A worker that is killed right after its claim committed, before any request: the row
    is leased under its name with its plan fixed. Return that plan."""
    client = make_api(fake.access_token, fake.url)
    try:
        dying = new_sender(app, AsyncMessagingApi(client), 5.0)
        [(_, _, _, _, _, context)] = await asyncio.to_thread(dying._claim, 10)
    finally:
        await client.close()
    return context


def idle(app: App) -> bool:
    with app.db.transaction() as session:
        return not outbox.pending(session, channel=CHANNEL, recipient=USER)


def row_of(app: App, row_id: int) -> OutboxMessage:
    with app.db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        session.expunge(row)
        return row


def shown(fake: FakeLine) -> list[tuple[str, str]]:
    """What USER was shown: (reply or push, text) per message, in order."""
    return [(d.kind, m["text"]) for d in fake.deliveries(USER) for m in d.messages]


def calls(fake: FakeLine) -> list[tuple[str, int]]:
    """Every request the fake answered, by arrival."""
    return [(c.endpoint, c.status) for c in sorted(fake.calls, key=lambda c: c.at)]


def counted(app: App, what: str) -> float:
    """The LINE sender's counter `what`, as /metrics shows it."""
    for family in text_string_to_metric_families(metrics.render(app.db, app.clock).decode()):
        for sample in family.samples:
            if sample.name == "madoguchi_sender_total" and sample.labels == {
                "channel": CHANNEL,
                "what": what,
            }:
                return sample.value
    return 0.0


@pytest.mark.asyncio
async def test_a_reply_line_took_before_the_worker_died_is_shown_once(app, fake, clock):
    before = counted(app, "reply_used_before")
    row_id = queue_answer(app, fake)
    fake.answer_late("reply", 3.0)  # LINE takes the reply; the worker dies before the answer
    async with sending(app, fake):
        await wait_until(lambda: len(fake.deliveries(USER)) == 1)
    left = row_of(app, row_id)  # as a killed worker leaves it: leased, nothing recorded
    assert (left.status, left.parts_sent, left.claimed_by is not None) == ("pending", 0, True)
    assert left.plan_context is not None and left.plan_context["reply"] is True
    clock.advance(seconds=4)  # restarted on the same host: it takes its unrenewed row back
    async with sending(app, fake) as restarted:
        await wait_until(lambda: idle(app))
        await wait_until(lambda: len(fake.calls) == 2)  # the late answer of the first reply
    assert shown(fake) == [("reply", WELCOME)]
    assert calls(fake) == [("reply", 200), ("reply", 400)]  # tried again: used; no push
    assert restarted.stats.reply_used_before == 1 and restarted.stats.delivered == 1
    assert restarted.stats.pushes == restarted.stats.reply_fallbacks == 0
    assert counted(app, "reply_used_before") == before + 1
    assert row_of(app, row_id).status == "sent"


@pytest.mark.asyncio
async def test_a_reply_planned_but_not_sent_before_the_worker_died_goes_out_once_by_reply(
    app, fake, clock
):
    row_id = queue_answer(app, fake)
    plan = await claim_and_die(app, fake)
    assert plan["reply"] is True and plan["resumed"] is False
    clock.advance(seconds=4)  # the restart, 4 s later: the token is still fresh
    async with sending(app, fake) as restarted:
        await wait_until(lambda: idle(app))
    assert shown(fake) == [("reply", WELCOME)]
    assert calls(fake) == [("reply", 200)]
    assert restarted.stats.replies == 1 and restarted.stats.reply_used_before == 0
    assert row_of(app, row_id).status == "sent"


@pytest.mark.asyncio
async def test_a_resumed_reply_whose_token_is_past_50_s_is_pushed_once(app, fake, clock):
    queue_answer(app, fake)
    await claim_and_die(app, fake)
    clock.advance(seconds=55)
    async with sending(app, fake) as restarted:
        await wait_until(lambda: idle(app))
    assert shown(fake) == [("push", WELCOME)]
    assert calls(fake) == [("push", 200)]  # the stale token is not even tried
    assert restarted.stats.pushes == 1 and restarted.stats.reply_used_before == 0


@pytest.mark.asyncio
async def test_a_reply_answered_5xx_is_retried_as_a_reply_and_shown_once(live_app, fake):
    fake.fail_next("reply", status=500)  # LINE took nothing
    queue_answer(live_app, fake)
    async with sending(live_app, fake) as sender:
        await wait_until(lambda: idle(live_app), timeout=30)
    assert shown(fake) == [("reply", WELCOME)]
    assert calls(fake) == [("reply", 500), ("reply", 200)]
    assert sender.stats.retried == 1 and sender.stats.reply_used_before == 0


@pytest.mark.asyncio
async def test_a_reply_answered_too_late_is_not_pushed_again(live_app, fake):
    fake.answer_late("reply", 1.5)  # LINE takes the reply; the answer comes after the timeout
    queue_answer(live_app, fake)
    async with sending(live_app, fake, request_timeout=0.5) as sender:
        await wait_until(lambda: idle(live_app), timeout=30)
        await wait_until(lambda: len(fake.calls) == 2)
    assert shown(fake) == [("reply", WELCOME)]
    assert calls(fake) == [("reply", 200), ("reply", 400)]  # by arrival; the 200 came late
    assert sender.stats.retried == 1 and sender.stats.reply_used_before == 1
    assert sender.stats.pushes == 0


@pytest.mark.asyncio
async def test_a_token_refused_at_the_first_try_then_a_failed_push_is_pushed_again(live_app, fake):
    fake.reply_token_seconds = 0.0  # LINE refuses the token, though we think it fresh
    fake.fail_next("push", status=500)
    row_id = queue_answer(live_app, fake)
    async with sending(live_app, fake) as sender:
        await wait_until(lambda: idle(live_app), timeout=30)
    # the retry pushes with the same key: a refused token is not taken for a used one
    assert shown(fake) == [("push", WELCOME)]
    assert calls(fake) == [("reply", 400), ("push", 500), ("push", 200)]
    assert len({c.retry_key for c in fake.calls if c.endpoint == "push"}) == 1
    assert sender.stats.reply_fallbacks == 1 and sender.stats.reply_used_before == 0
    plan = row_of(live_app, row_id).plan_context
    assert plan is not None and plan["reply"] is False
