"""Pace outbound calls within a platform's limits: a rate overall, and per chat one call
per interval with a small burst (a token bucket).

Reservations are made without awaiting between check and update, so concurrent asyncio
tasks of one sender never exceed the limits. Waiters for the overall rate queue in order,
and a chat that must wait for its own interval waits outside that queue, so one busy chat
never holds the others back. A call that can come `later` (tidying up after an answer) lets
the answers waiting go first, for at most `LATER_AT_MOST` seconds. A 429 pauses everything
for its retry-after.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

LATER_AT_MOST = 1.5
"""The longest a call that can come later gives way to answers (seconds)."""


class Pacer:
    """Spaces calls at most `per_second` overall and one per `per_key_interval` per key, of
    which `per_key_burst` may go at once after a pause; with `window`, also at most `window`
    calls reaching the platform within any second, whatever the network does to them.

    The window counts a call from its reservation until a second after it was answered
    (`finished`): the platform saw it somewhere in between, so any second at the platform
    holds only calls a later reservation counted. Callers with a window call `finished`
    after every call they reserved, answered or not.
    """

    def __init__(
        self,
        *,
        per_second: float,
        per_key_interval: float,
        per_key_burst: int = 1,
        window: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_key_burst < 1:
            raise ValueError("per_key_burst must be at least 1")
        self._gap = 1.0 / per_second
        self._slack = min(0.002, self._gap / 4)
        self._per_key = per_key_interval
        # A key's bucket is kept as the time it would be empty and refilled by one call
        # ("theoretical arrival time"): a call is allowed once that is at most this far ahead.
        self._burst_ahead = (per_key_burst - 1) * per_key_interval
        self._clock = clock
        self._next_any = 0.0
        self._next_key: dict[str, float] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._window = window
        self._in_flight = 0
        self._answered: deque[float] = deque()  # when the calls of the last second ended
        self._answers_waiting = 0

    async def slot(self, key: str, *, later: bool = False) -> None:
        """Wait until a call for `key` is allowed, and reserve it.

        Waiters queue in order on a lock and only the first one sleeps, so thousands of
        waiting messages cost no more than one (no thundering herd). With `later`, the call
        first gives way while answers are waiting (for at most `LATER_AT_MOST` seconds).
        """
        if later:
            until = self._clock() + LATER_AT_MOST
            while self._answers_waiting and self._clock() < until:
                await asyncio.sleep(0.05)
        while True:
            now = self._clock()
            key_ready = self._key_ready(key)
            if key_ready > now:  # this chat must wait anyway: do it outside the queue
                await asyncio.sleep(key_ready - now)
                continue
            self._answers_waiting += int(not later)  # an answer queued for the overall rate
            try:
                if await self._take(key):
                    return
            finally:
                self._answers_waiting -= int(not later)

    async def _take(self, key: str) -> bool:
        """Queue for the overall rate and reserve a call; False when the chat's own bucket
        was emptied meanwhile (wait for it again)."""
        async with self._lock:
            now = self._clock()
            if self._key_ready(key) > now:
                return False
            ready = max(self._next_any, self._paused_until)
            if ready > now:
                await asyncio.sleep(ready - now)
                now = self._clock()
            while self._window and self._counted(now) >= self._window:
                # wait for the oldest answered call to leave the window (all in flight: for
                # one to be answered first)
                wait = self._answered[0] + 1.0 - now if self._answered else 0.005
                await asyncio.sleep(max(0.001, wait))
                now = self._clock()
            # Count from the previous reservation when we woke a little late, so small
            # scheduling delays do not add up; never more than `_slack` early.
            self._next_any = max(self._next_any + self._gap, now + self._gap - self._slack)
            self._next_key[key] = max(self._next_key.get(key, 0.0), now) + self._per_key
            self._in_flight += bool(self._window)
            if len(self._next_key) > 10_000:
                self._next_key = {k: t for k, t in self._next_key.items() if t > now}
            return True

    def _counted(self, now: float) -> int:
        """Return the calls a call reserved `now` must count: in flight, or answered within
        the last second."""
        while self._answered and self._answered[0] <= now - 1.0:
            self._answered.popleft()
        return self._in_flight + len(self._answered)

    def finished(self) -> None:
        """Note that a reserved call was answered (or failed): it counts one more second."""
        if self._window and self._in_flight:
            self._in_flight -= 1
            self._answered.append(self._clock())

    def _key_ready(self, key: str) -> float:
        """Return when the key's bucket has a call left."""
        return self._next_key.get(key, 0.0) - self._burst_ahead

    def pause(self, seconds: float) -> None:
        """Hold every call back for `seconds` (after a 429 with retry-after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
