"""The inbox processor applies stored bodies after the 200, answers first, leftovers too:
a restart takes its own rows back at once, leases are renewed while a body is applied, and
a body that keeps failing is given up, recorded, logged and counted (on both backends)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.inbox_processor import InboxProcessor
from bot.counters import COUNTERS
from storage import inbox
from storage.models import FailedEvent, InboundEvent
from storage.vault import Vault
from tests.conftest import make_app
from tests.waiting import wait_until


@pytest.mark.asyncio
async def test_applying_waits_while_webhooks_are_answered_then_catches_up(sqlite_app):
    applied: list[tuple[str, float]] = []
    processor = InboxProcessor(
        sqlite_app,
        "line",
        lambda app, body, at: applied.append((body, time.monotonic())),
        max_defer=5.0,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(processor.run(stop))
    await wait_until(lambda: processor._queue is not None)  # it takes rows from now on
    processor.count_answering(+1)  # a webhook request is being answered
    stored = await asyncio.gather(*(processor.store(f"body {n}") for n in range(3)))
    for row in stored:
        processor.submit(row)
    await asyncio.sleep(0.3)  # a quiet spell for what must not happen, not a wait
    assert applied == []  # the answer goes first
    released = time.monotonic()
    processor.count_answering(-1)
    await wait_until(lambda: len(applied) == 3)
    stop.set()
    await running
    assert [body for body, _ in applied] == ["body 0", "body 1", "body 2"]  # arrival order
    assert all(at >= released for _, at in applied)
    assert processor.pending() == 0


def failed_keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return list(session.scalars(select(FailedEvent.event_key).order_by(FailedEvent.id)))


@asynccontextmanager
async def running(processor: InboxProcessor) -> AsyncIterator[None]:
    """Run a processor in the test's loop for the block (it takes rows once started)."""
    stop = asyncio.Event()
    task = asyncio.create_task(processor.run(stop))
    await wait_until(lambda: processor._queue is not None)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.asyncio
async def test_a_restarted_process_takes_its_own_rows_back_at_once_not_a_siblings(app, tmp_path):
    applied: list[tuple[str, str]] = []

    def by(name: str):  # type: ignore[no-untyped-def]
        return lambda app, body, at: applied.append((name, body))

    dying = InboxProcessor(app, "line", by("dead"), owner="web@host-a:8000")
    for n in range(3):  # stored and answered 200, then the process was killed
        await dying.store(f"body {n}")
    sibling = InboxProcessor(
        app, "line", by("sibling"), owner="web@host-b:8000", sweep_seconds=0.05
    )
    restarted = make_app(app.db.url, app.clock, tmp_path)  # the same host and port
    try:
        again = InboxProcessor(restarted, "line", by("again"), owner="web@host-a:8000")
        async with running(sibling):
            await asyncio.sleep(0.3)  # a quiet spell for what must not happen, not a wait
            assert applied == []  # the leases are live: a sibling waits for them
            started = time.monotonic()
            async with running(again):
                await wait_until(lambda: len(applied) == 3, timeout=5)
            took = time.monotonic() - started
    finally:
        restarted.db.dispose()
    # at once, and with the clock never moved: long before the old 15 s lease ran out
    assert took < 3 and again.lease.total_seconds() >= 15
    assert applied == [("again", f"body {n}") for n in range(3)]
    assert again.pending() == 0


@pytest.mark.asyncio
async def test_a_lease_is_renewed_while_its_body_is_applied(app, clock):
    release = threading.Event()
    started = threading.Event()
    taken_by_sibling: list[str] = []

    def slow(app, body, at):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(20)

    busy = InboxProcessor(app, "line", slow, owner="web@host-a:8000", sweep_seconds=0.05)
    sibling = InboxProcessor(
        app,
        "line",
        lambda app, body, at: taken_by_sibling.append(body),
        owner="web@host-b:8000",
        sweep_seconds=0.05,
    )
    async with running(busy), running(sibling):
        busy.submit(await busy.store("slow body"))
        await wait_until(started.is_set)
        for _ in range(6):  # a minute and a half of applying, in steps under the lease
            clock.advance(seconds=10)
            await asyncio.sleep(0.3)  # some ticks: the lease is renewed meanwhile
        assert taken_by_sibling == []
        release.set()
        await wait_until(lambda: busy.pending() == 0)
    assert taken_by_sibling == []


@pytest.mark.asyncio
async def test_a_body_failing_every_time_is_given_up_recorded_logged_counted(app, clock, caplog):
    caplog.set_level(logging.INFO)
    counted = COUNTERS.get("inbox_given_up", "line")
    tries: list[str] = []

    def apply_body(app, body, at):  # type: ignore[no-untyped-def]
        tries.append(body)
        if body == "poison":
            raise RuntimeError("fails every time")

    processor = InboxProcessor(app, "line", apply_body, sweep_seconds=0.05)
    async with running(processor):
        poison = await processor.store("poison")
        processor.submit(poison)
        processor.submit(await processor.store("good"))
        await wait_until(lambda: tries.count("good") == 1)  # the inbox went on meanwhile
        for n in range(2, inbox.MAX_ATTEMPTS + 2):  # each lease runs out, the row is retaken
            await wait_until(lambda tried=n - 1: tries.count("poison") == tried)
            clock.advance(seconds=16)
            await wait_until(lambda tried=n: tries.count("poison") == tried)
        await wait_until(lambda: processor.pending() == 0)
        clock.advance(seconds=16)
        await asyncio.sleep(0.3)  # a quiet spell for what must not happen, not a wait
    assert tries.count("poison") == inbox.MAX_ATTEMPTS + 1  # bounded
    assert failed_keys(app) == [f"inbox:{poison.id}"]
    assert COUNTERS.get("inbox_given_up", "line") == counted + 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and f"row {poison.id} given up" in errors[0]


@pytest.mark.asyncio
async def test_a_body_waits_sealed_and_is_dropped_once_applied(app, clock):
    applied: list[str] = []
    processor = InboxProcessor(app, "line", lambda app, body, at: applied.append(body))
    secret = '{"events": [{"source": {"userId": "U-sealed-while-waiting"}}]}'
    row = await processor.store(secret)
    with app.db.transaction() as s:
        assert "U-sealed-while-waiting" not in s.get(InboundEvent, row.id).body
    processor.apply_row(row)
    assert applied == [secret]
    with app.db.transaction() as s:
        assert s.get(InboundEvent, row.id).body == ""


@pytest.mark.asyncio
async def test_a_body_sealed_under_another_key_is_given_up_not_retried(app, clock, caplog):
    with app.db.transaction() as s:
        row_id = inbox.store(
            s,
            channel="line",
            body=Vault(Vault.new_key()).seal("{}"),
            now=clock(),
            lease=timedelta(seconds=15),
            owner="web@gone",
        )
    clock.advance(seconds=16)
    applied: list[str] = []
    processor = InboxProcessor(app, "line", lambda app, body, at: applied.append(body))
    with caplog.at_level(logging.ERROR, logger="madoguchi.inbox"):
        assert processor._claim_abandoned() == []
    assert applied == [] and processor.pending() == 0
    with app.db.transaction() as s:
        assert s.get(InboundEvent, row_id).body == ""
        assert s.scalars(select(FailedEvent.event_key)).all() == [f"inbox:{row_id}"]
    assert "does not open with this key" in caplog.text
