"""Apply stored webhook bodies in the background of the web process, and recover leftovers.

The webhook route stores a verified body (storage/inbox.py) and answers at once; this
processor applies it right after, off the request. At start-up, and every few seconds, it
also takes rows whose lease ran out unprocessed (a process died between the 200 and the
work), so an acknowledged event is never lost. Applying twice is harmless: every event is
deduplicated by its platform key. Never logs bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import logs
from bot.app import App
from storage import inbox

log = logging.getLogger("madoguchi.inbox")

ApplyBody = Callable[[App, str, datetime], None]


class InboxProcessor:
    """Applies one channel's stored bodies: those it is handed, and abandoned ones."""

    def __init__(
        self,
        app: App,
        channel: str,
        apply_body: ApplyBody,
        *,
        lease: timedelta = timedelta(seconds=60),
        sweep_seconds: float = 5.0,
        workers: int = 4,
        on_applied: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.channel = channel
        self.apply_body = apply_body
        self.lease = lease
        self.sweep_seconds = sweep_seconds
        self.workers = workers
        self.on_applied = on_applied
        self._queue: asyncio.Queue[int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def store(self, body: str) -> int:
        """Keep a verified body (blocking: call it in a thread); return its row id."""
        with self.app.db.transaction() as session:
            return inbox.store(
                session, channel=self.channel, body=body, now=self.app.clock(), lease=self.lease
            )

    def submit(self, row_id: int) -> None:
        """Apply a stored row soon (call from any thread); a lost hand-over is swept later."""
        if self._queue is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, row_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Apply rows until `stop` is set, starting with any a dead process left behind."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        workers = [asyncio.create_task(self._work(stop)) for _ in range(self.workers)]
        try:
            while not stop.is_set():
                for row_id in await asyncio.to_thread(self._claim_abandoned):
                    self._queue.put_nowait(row_id)
                try:
                    await asyncio.wait_for(stop.wait(), self.sweep_seconds)
                except TimeoutError:
                    pass
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._queue = None

    async def _work(self, stop: asyncio.Event) -> None:
        assert self._queue is not None
        while not stop.is_set():
            row_id = await self._queue.get()
            try:
                await asyncio.to_thread(self.apply_row, row_id)
            except Exception as exc:  # noqa: BLE001 - the row stays; its lease runs out
                log.error(
                    "%s inbox row %s failed: %s\n%s",
                    self.channel, row_id, type(exc).__name__, logs.frames(exc),
                )
            if self.on_applied is not None:
                self.on_applied()

    def _claim_abandoned(self) -> list[int]:
        with self.app.db.transaction() as session:
            ids = inbox.claim_abandoned(
                session, channel=self.channel, now=self.app.clock(), lease=self.lease
            )
        if ids:
            log.info("%s inbox: applying %d row(s) left unprocessed", self.channel, len(ids))
        return ids

    def apply_row(self, row_id: int) -> None:
        """Apply one stored body and mark it processed (blocking)."""
        with self.app.db.transaction() as session:
            loaded = inbox.load(session, row_id)
        if loaded is None:
            return  # already applied (by this process or another)
        body, received_at = loaded
        self.apply_body(self.app, body, received_at)
        with self.app.db.transaction() as session:
            inbox.finish(session, row_id, self.app.clock())

    def pending(self) -> int:
        """Return how many rows of this channel wait (blocking)."""
        with self.app.db.transaction() as session:
            return inbox.unprocessed_count(session, channel=self.channel)
