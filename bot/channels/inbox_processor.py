"""Apply stored webhook bodies in the background of the web process, and recover leftovers.

For any channel whose webhook must answer before the work is done (LINE waits 2 s): the
route stores a verified body (storage/inbox.py) and answers at once; this
processor applies it right after, off the request. At start-up, and every few seconds, it
also takes rows whose lease ran out unprocessed (a process died between the 200 and the
work), so an acknowledged event is never lost. Applying twice is harmless: every event is
deduplicated by its platform key. Never logs bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import logs
from bot.app import App
from storage import inbox

log = logging.getLogger("madoguchi.inbox")

ApplyBody = Callable[[App, str, datetime], None]


@dataclass(frozen=True)
class Stored:
    """A body in the inbox: its row, the body, and when it was received."""

    id: int
    body: str
    received_at: datetime


class InboxProcessor:
    """Applies one channel's stored bodies: those it is handed, and abandoned ones.

    One worker by default: bodies are applied in the order they arrived (a user's quick
    taps stay in order), and the web process keeps most of its time for answering
    webhooks within LINE's 2 s. Scale out with more web processes on PostgreSQL.
    """

    def __init__(
        self,
        app: App,
        channel: str,
        apply_body: ApplyBody,
        *,
        lease: timedelta = timedelta(seconds=60),
        sweep_seconds: float = 5.0,
        workers: int = 1,
        on_applied: Callable[[], None] | None = None,
        max_defer: float = 0.5,
    ) -> None:
        self.app = app
        self.channel = channel
        self.apply_body = apply_body
        self.lease = lease
        self.sweep_seconds = sweep_seconds
        self.workers = workers
        self.on_applied = on_applied
        self.max_defer = max_defer
        self.answering = 0  # webhook requests being answered now; they go first
        self._queue: asyncio.Queue[Stored] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[str, asyncio.Future[Stored]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, body: str) -> Stored:
        """Keep a verified body durably; return once it is committed.

        Bodies arriving while a write is under way are written together in the next one
        (group commit): one transaction for many webhook requests keeps the 200 fast.
        """
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:200], self._waiting[200:]
            try:
                stored = await asyncio.to_thread(self._store_many, [body for body, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each request answers 500; LINE resends
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), row in zip(batch, stored, strict=True):
                future.set_result(row)

    def _store_many(self, bodies: list[str]) -> list[Stored]:
        now = self.app.clock()
        with self.app.db.transaction() as session:
            ids = inbox.store_many(
                session, channel=self.channel, bodies=bodies, now=now, lease=self.lease
            )
        return [Stored(row_id, body, now) for row_id, body in zip(ids, bodies, strict=True)]

    def count_answering(self, delta: int) -> None:
        """Count webhook requests being answered (+1 when one starts, -1 when it ends)."""
        self.answering += delta

    def submit(self, row: Stored) -> None:
        """Apply a stored row soon (call from any thread); a lost hand-over is swept later."""
        if self._queue is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, row)

    async def run(self, stop: asyncio.Event) -> None:
        """Apply rows until `stop` is set, starting with any a dead process left behind."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        workers = [asyncio.create_task(self._work(stop)) for _ in range(self.workers)]
        try:
            while not stop.is_set():
                for row in await asyncio.to_thread(self._claim_abandoned):
                    self._queue.put_nowait(row)
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
            row = await self._queue.get()
            await self._let_answers_go_first()
            try:
                await asyncio.to_thread(self.apply_row, row)
            except Exception as exc:  # noqa: BLE001 - the row stays; its lease runs out
                log.error(
                    "%s inbox row %s failed: %s\n%s",
                    self.channel,
                    row.id,
                    type(exc).__name__,
                    logs.frames(exc),
                )
            if self.on_applied is not None:
                self.on_applied()

    async def _let_answers_go_first(self) -> None:
        """Wait (a little) while webhook requests are being answered.

        Applying an event costs more CPU than answering one; on a busy process, answers
        that wait for it could miss LINE's 2 s. The body is safe in the inbox meanwhile.
        """
        deadline = asyncio.get_running_loop().time() + self.max_defer
        while self.answering and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)

    def _claim_abandoned(self) -> list[Stored]:
        with self.app.db.transaction() as session:
            ids = inbox.claim_abandoned(
                session, channel=self.channel, now=self.app.clock(), lease=self.lease
            )
            rows = [
                Stored(row_id, *loaded)
                for row_id in ids
                if (loaded := inbox.load(session, row_id))
            ]
        if rows:
            log.info("%s inbox: applying %d row(s) left unprocessed", self.channel, len(rows))
        return rows

    def apply_row(self, row: Stored) -> None:
        """Apply one stored body and mark it processed (blocking)."""
        self.apply_body(self.app, row.body, row.received_at)
        with self.app.db.transaction() as session:
            inbox.finish(session, row.id, self.app.clock())

    def pending(self) -> int:
        """Return how many rows of this channel wait (blocking)."""
        with self.app.db.transaction() as session:
            return inbox.unprocessed_count(session, channel=self.channel)
