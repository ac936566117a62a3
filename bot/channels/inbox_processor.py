"""Apply stored webhook bodies in the background of the web process, and recover leftovers.

For any channel whose webhook must answer before the work is done (LINE waits 2 s): the
route stores a verified body (storage/inbox.py) and answers at once; this processor applies
it right after, off the request. Rows are leased under this process's stable name for a
short time, renewed while they wait or are applied. At start-up the process takes back the
rows its previous run left (a crash, a restart), at once; every few seconds it also takes
rows whose lease ran out (another process died), so an acknowledged event is never lost. A
body that keeps failing is tried a bounded number of times, then recorded in
`failed_events`, logged and counted, and the inbox moves on. Applying twice is harmless:
every event is deduplicated by its platform key. Bodies are stored sealed and dropped once
applied or given up; never logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import logs
from bot.app import App
from bot.counters import COUNTERS
from storage import inbox, records

log = logging.getLogger("madoguchi.inbox")

ApplyBody = Callable[[App, str, datetime], None]


@dataclass(frozen=True)
class Stored:
    """A body in the inbox: its row, the body, when it was received, and how often it has
    been taken over after its first try."""

    id: int
    body: str
    received_at: datetime
    attempts: int = 0


class InboxProcessor:
    """Applies one channel's stored bodies: those it is handed, its own left from a previous
    run, and abandoned ones.

    One worker by default: bodies are applied in the order they arrived (a user's quick
    taps stay in order), and the web process keeps most of its time for answering
    webhooks within LINE's 2 s. Scale out with more web processes on PostgreSQL; each
    needs its own `owner` name (see `bot.settings.Settings.instance`).
    """

    def __init__(
        self,
        app: App,
        channel: str,
        apply_body: ApplyBody,
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=15),
        sweep_seconds: float = 5.0,
        workers: int = 1,
        on_applied: Callable[[], None] | None = None,
        max_defer: float = 0.5,
    ) -> None:
        self.app = app
        self.channel = channel
        self.apply_body = apply_body
        self.owner = (owner or f"web@{app.settings.instance}")[:64]
        self.lease = lease
        # Renew well before a lease runs out, and look for abandoned rows as often.
        self.tick = min(sweep_seconds, lease.total_seconds() / 3)
        self.workers = workers
        self.on_applied = on_applied
        self.max_defer = max_defer
        self.answering = 0  # webhook requests being answered now; they go first
        self._queue: asyncio.Queue[Stored] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[str, asyncio.Future[Stored]]] = []
        self._writer: asyncio.Task[None] | None = None
        # The rows this run holds (stored, taken, queued or being applied): their leases
        # are renewed; any other row leased to `owner` was left by a previous run.
        self._held: set[int] = set()
        self._holding = threading.Lock()

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
        with self._holding:  # a start-up reclaim never mistakes these rows for leftovers
            with self.app.db.transaction() as session:
                ids = inbox.store_many(
                    session,
                    channel=self.channel,
                    bodies=[inbox.seal_body(self.app.vault, body) for body in bodies],
                    now=now,
                    lease=self.lease,
                    owner=self.owner,
                )
            self._held.update(ids)
        return [Stored(row_id, body, now) for row_id, body in zip(ids, bodies, strict=True)]

    def count_answering(self, delta: int) -> None:
        """Count webhook requests being answered (+1 when one starts, -1 when it ends)."""
        self.answering += delta

    def submit(self, row: Stored) -> None:
        """Apply a stored row soon (call from any thread); a lost hand-over is swept later."""
        if self._queue is None or self._loop is None:
            self._let_go(row.id)  # its lease runs out; then the sweep takes it
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, row)

    async def run(self, stop: asyncio.Event) -> None:
        """Apply rows until `stop` is set: first those this process's previous run left,
        then new and abandoned ones, renewing the leases held meanwhile."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        workers = [asyncio.create_task(self._work(stop)) for _ in range(self.workers)]
        try:
            await self._take(self._reclaim_own)
            await self._take(self._claim_abandoned)  # a dead sibling's, if any
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), self.tick)
                except TimeoutError:
                    pass
                if stop.is_set():
                    break
                await self._take(self._renew)
                await self._take(self._claim_abandoned)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._queue = None

    async def _take(self, step: Callable[[], list[Stored]]) -> None:
        """Run one bookkeeping step in a thread and queue the rows it took; a failing step
        (the database away for a moment) is logged and tried again at the next tick."""
        assert self._queue is not None
        try:
            rows = await asyncio.to_thread(step)
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a database outage
            log.warning("%s inbox: %s failed: %s", self.channel, step.__name__, type(exc).__name__)
            return
        for row in rows:
            self._queue.put_nowait(row)

    async def _work(self, stop: asyncio.Event) -> None:
        assert self._queue is not None
        while not stop.is_set():
            row = await self._queue.get()
            await self._let_answers_go_first()
            try:
                await asyncio.to_thread(self.apply_row, row)
            except Exception as exc:  # noqa: BLE001 - the row stays; its lease runs out
                await self._failed(row, exc)
            if self.on_applied is not None:
                self.on_applied()

    async def _failed(self, row: Stored, exc: Exception) -> None:
        """Leave a failed row to be taken again after its lease, or give it up for good."""
        self._let_go(row.id)
        if row.attempts < inbox.MAX_ATTEMPTS:
            log.warning(
                "%s inbox row %s failed (try %d), tried again later: %s\n%s",
                self.channel,
                row.id,
                row.attempts + 1,
                type(exc).__name__,
                logs.frames(exc),
            )
            return
        try:
            await asyncio.to_thread(self._give_up, row, type(exc).__name__)
        except Exception as again:  # noqa: BLE001 - it is given up when next taken
            log.warning(
                "%s inbox row %s could not be given up yet: %s",
                self.channel,
                row.id,
                type(again).__name__,
            )

    async def _let_answers_go_first(self) -> None:
        """Wait (a little) while webhook requests are being answered.

        Applying an event costs more CPU than answering one; on a busy process, answers
        that wait for it could miss LINE's 2 s. The body is safe in the inbox meanwhile.
        """
        deadline = asyncio.get_running_loop().time() + self.max_defer
        while self.answering and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)

    def _let_go(self, row_id: int) -> None:
        with self._holding:
            self._held.discard(row_id)

    def _reclaim_own(self) -> list[Stored]:
        """Take back at once what this process's previous run held (blocking)."""
        with self._holding:
            with self.app.db.transaction() as session:
                taken = inbox.reclaim_own(
                    session,
                    channel=self.channel,
                    now=self.app.clock(),
                    lease=self.lease,
                    owner=self.owner,
                    keep=set(self._held),
                )
                rows = self._load(session, taken)
            self._held.update(row.id for row in rows)
        if rows:
            log.info(
                "%s inbox: taking back %d row(s) of the previous run", self.channel, len(rows)
            )
        return self._applicable(rows)

    def _claim_abandoned(self) -> list[Stored]:
        """Take rows whose lease ran out (blocking)."""
        with self._holding:
            with self.app.db.transaction() as session:
                taken = inbox.claim_abandoned(
                    session,
                    channel=self.channel,
                    now=self.app.clock(),
                    lease=self.lease,
                    owner=self.owner,
                )
                rows = self._load(session, taken)
            # One of ours whose renewal was missed is queued already.
            rows = [row for row in rows if row.id not in self._held]
            self._held.update(row.id for row in rows)
        if rows:
            log.info("%s inbox: applying %d row(s) left unprocessed", self.channel, len(rows))
        return self._applicable(rows)

    def _renew(self) -> list[Stored]:
        """Extend the leases of the rows this run holds (blocking); take nothing."""
        with self._holding:
            held = set(self._held)
        if held:
            with self.app.db.transaction() as session:
                inbox.renew(
                    session, held, now=self.app.clock(), lease=self.lease, owner=self.owner
                )
        return []

    def _load(self, session: Session, taken: list[tuple[int, int]]) -> list[Stored]:
        rows = []
        for row_id, attempts in taken:
            loaded = inbox.load(session, row_id)
            if loaded is None:
                continue
            try:
                body = inbox.open_body(self.app.vault, loaded[0])
            except ValueError:  # sealed under another key: it can never be applied
                records.record_failed_event(
                    session,
                    channel=self.channel,
                    event_key=f"inbox:{row_id}",
                    pseudonym="",
                    error="given up: does not open with this key",
                    now=self.app.clock(),
                )
                inbox.finish(session, row_id, self.app.clock())
                log.error(
                    "%s inbox row %s does not open with this key; recorded in failed_events",
                    self.channel,
                    row_id,
                )
                COUNTERS.add("failed_events", self.channel)
                continue
            rows.append(Stored(row_id, body, loaded[1], attempts=attempts))
        return rows

    def _applicable(self, rows: list[Stored]) -> list[Stored]:
        """Return the rows to apply; give up (record) those tried too often already."""
        keep = []
        for row in rows:
            if row.attempts > inbox.MAX_ATTEMPTS:
                self._let_go(row.id)
                try:
                    self._give_up(row, "failed before")
                except Exception as exc:  # noqa: BLE001 - taken and given up again later
                    log.warning("%s inbox row %s: %s", self.channel, row.id, type(exc).__name__)
            else:
                keep.append(row)
        return keep

    def _give_up(self, row: Stored, error: str) -> None:
        """Record a row that kept failing, log and count it, and stop taking it (blocking).

        Its body is dropped (it holds personal data); `failed_events` names the row.
        """
        with self.app.db.transaction() as session:
            records.record_failed_event(
                session,
                channel=self.channel,
                event_key=f"inbox:{row.id}",
                pseudonym="",
                error=f"given up: {error}",
                now=self.app.clock(),
            )
            inbox.finish(session, row.id, self.app.clock())
        log.error(
            "%s inbox row %s given up after %d tries, recorded in failed_events: %s",
            self.channel,
            row.id,
            row.attempts + 1,
            error,
        )
        COUNTERS.add("inbox_given_up", self.channel)
        COUNTERS.add("failed_events", self.channel)

    def apply_row(self, row: Stored) -> None:
        """Apply one stored body and mark it processed (blocking)."""
        self.apply_body(self.app, row.body, row.received_at)
        with self.app.db.transaction() as session:
            inbox.finish(session, row.id, self.app.clock())
        self._let_go(row.id)

    def pending(self) -> int:
        """Return how many rows of this channel wait (blocking)."""
        with self.app.db.transaction() as session:
            return inbox.unprocessed_count(session, channel=self.channel)
