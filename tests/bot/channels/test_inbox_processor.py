"""The inbox processor applies stored bodies after the 200, answers first, leftovers too."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.channels.inbox_processor import InboxProcessor
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
