"""The part of every channel's sender that is the same: lease outbox rows, run one delivery
task per row, give rows back for a retry with backoff, and mark them finished.

Claims are fair across recipients (each one's oldest message, `storage.outbox.claim_batch`).
Leases are short and renewed while a delivery is in progress; they carry the sender's name,
so after a crash the restarted sender takes its own rows back at once, and any other takes
them when the short lease runs out. A channel's sender subclasses `OutboxSender` with how
it claims (what its plan depends on) and how it delivers one row. Nothing here talks to a
platform or logs message content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import logs, metrics
from storage import outbox
from storage.db import Database

log = logging.getLogger("madoguchi.delivery")

LEASE = timedelta(seconds=15)
"""How long a claimed row is held without a renewal before any sender may take it."""
RENEW_SECONDS = 1.0
"""How often a running sender renews the leases of the rows it is delivering."""
STOP_GRACE_SECONDS = 5.0
"""On a stop, how long a platform call already on its way may take to be answered and
recorded. Such a call is never cut off halfway: the platform may have taken it already, and
the next run would send it again. Deliveries waiting for their turn stop at once."""
RECLAIM_AFTER = timedelta(seconds=3)
"""A row leased under this sender's name and not renewed for this long is its own previous
run's (which stopped): taken back at once, without waiting for the lease to run out."""


def default_owner(channel: str) -> str:
    """Return the name a sender leases under: this host and the channel.

    A restart on the same host (the worker's or the single process's) keeps the name.
    """
    return f"{socket.gethostname()[:80]}/{channel}"


@dataclass
class SenderStats:
    """Counters a benchmark or an operator can read; with a `channel`, every increment is
    also counted in `/metrics` (`madoguchi_sender_total{channel, what}`)."""

    channel: str = ""
    calls: int = 0
    rate_limited: int = 0
    retried: int = 0
    failed: int = 0
    delivered: int = 0

    def __setattr__(self, name: str, value: object) -> None:
        before = self.__dict__.get(name)
        super().__setattr__(name, value)
        if (
            self.__dict__.get("channel")
            and isinstance(before, int)
            and isinstance(value, int)
            and value > before
        ):
            metrics.sender_did(self.channel, name, value - before)


class OutboxSender:
    """Drains one channel's outbox; subclasses implement `_claim` and `_deliver`."""

    channel: str

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        lease: timedelta = LEASE,
        idle_seconds: float = 0.2,
        batch: int = 200,
        max_in_flight: int = 100,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lease = lease
        self.owner = owner or default_owner(self.channel)
        self.renew_seconds = RENEW_SECONDS
        self.idle_seconds = idle_seconds
        self.batch = batch
        # About three seconds of messages at 30/s: leases stay short, and the pacer never
        # holds thousands of waiting tasks.
        self.max_in_flight = max_in_flight
        self.stats = SenderStats(channel=self.channel)
        self.wake = asyncio.Event()
        self.stop_grace = STOP_GRACE_SECONDS
        self.stopping = False
        """Set when `run` was told to stop: a delivery makes no further call."""
        self._calling: set[int] = set()

    @contextlib.contextmanager
    def in_call(self, row_id: int) -> Iterator[None]:
        """Mark a row's platform call (and the recording of its answer) as under way: a stop
        waits for it (`STOP_GRACE_SECONDS`) instead of cutting it off."""
        self._calling.add(row_id)
        try:
            yield
        finally:
            self._calling.discard(row_id)

    def _claim(self, room: int) -> list[tuple[Any, ...]]:
        """Lease at most `room` rows; return one argument tuple per row for `_deliver`."""
        raise NotImplementedError

    async def _deliver(self, row_id: int, *args: Any) -> None:
        """Deliver one leased row."""
        raise NotImplementedError

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; wake early when `wake` is set."""
        tasks: dict[int, asyncio.Task[None]] = {}
        loop = asyncio.get_running_loop()
        self.stopping = False
        next_renewal = loop.time() + self.renew_seconds
        while not stop.is_set():
            room = self.max_in_flight - len(tasks)
            self.wake.clear()
            rows = await asyncio.to_thread(self._claim, room) if room > 0 else []
            for row in rows:
                running = tasks.get(row[0])
                if running is not None and not running.done():
                    continue
                if running is not None:  # a finished row whose id was given to a new one
                    self._reap(row[0], tasks.pop(row[0]))
                tasks[row[0]] = asyncio.create_task(self._deliver(*row))
            done = [rid for rid, task in tasks.items() if task.done()]
            for rid in done:
                self._reap(rid, tasks.pop(rid))
            if tasks and loop.time() >= next_renewal:
                await asyncio.to_thread(self._renew, list(tasks))
                next_renewal = loop.time() + self.renew_seconds
            if rows:
                await asyncio.sleep(0)
                continue
            # Nothing new: wait for a new message (wake) or, with deliveries in flight, look
            # again shortly, as a finished row may let that recipient's next one go.
            try:
                await asyncio.wait_for(self.wake.wait(), 0.05 if tasks else self.idle_seconds)
            except TimeoutError:
                pass
        await self._stop(tasks)

    async def _stop(self, tasks: dict[int, asyncio.Task[None]]) -> None:
        """Stop the deliveries: those waiting for their turn at once, those whose call is on
        its way once it is answered and recorded (within the grace), the rest after it."""
        self.stopping = True
        calling, waiting = [], []
        for row_id, task in tasks.items():
            if task.done():
                continue
            if row_id in self._calling:
                calling.append(task)
            else:
                task.cancel()
                waiting.append(row_id)
        if waiting:  # no call made for them in this part: another sender may go on at once
            await asyncio.to_thread(self._give_back, waiting)
        if calling:
            await asyncio.wait(calling, timeout=self.stop_grace)
        for task in tasks.values():
            task.cancel()

    def _give_back(self, row_ids: list[int]) -> None:
        with self.db.transaction() as session:
            outbox.give_back(session, row_ids, owner=self.owner)

    def _reap(self, row_id: int, task: asyncio.Task[None]) -> None:
        """Log a finished delivery task that crashed.

        (SQLite gives a deleted row's id to the next row: the last message to an erased
        person is deleted once sent, so a finished task's id may come back as a new row.)
        """
        exc = task.exception()
        if exc is not None:
            log.error(
                "delivery of outbox %s crashed: %s\n%s",
                row_id,
                type(exc).__name__,
                logs.frames(exc),
            )

    async def drain(self, *, timeout: float = 30.0) -> None:
        """Deliver everything pending now (tests, benchmarks, the polling loop's tail)."""
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if not await asyncio.to_thread(self._pending_count):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await runner

    def _claim_rows(self, session: Any, room: int) -> list[Any]:
        """Lease at most `room` rows (at most `batch`) for this sender, fairly."""
        return outbox.claim_batch(
            session,
            channel=self.channel,
            now=self.clock(),
            lease=self.lease,
            limit=min(room, self.batch),
            owner=self.owner,
            reclaim_after=RECLAIM_AFTER,
        )

    def _renew(self, row_ids: list[int]) -> None:
        with self.db.transaction() as session:
            outbox.renew(session, row_ids, owner=self.owner, now=self.clock(), lease=self.lease)

    def _pending_count(self) -> int:
        with self.db.transaction() as session:
            return len(outbox.pending(session, channel=self.channel, limit=1))

    def _finish(self, row_id: int, *, status: str = "sent", error: str | None = None) -> None:
        with self.db.transaction() as session:
            outbox.finish(session, row_id, self.clock(), status=status, error=error)

    def _retry(self, row_id: int, attempts: int, error: str) -> None:
        delay = min(300.0, 0.5 * 2 ** min(attempts, 10))
        with self.db.transaction() as session:
            outbox.retry_later(session, row_id, self.clock() + timedelta(seconds=delay), error)
