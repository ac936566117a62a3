"""Pace outbound calls within a platform's limits: a rate overall, and per chat one call
per interval with a small burst (a token bucket).

Reservations are made without awaiting between check and update, so concurrent asyncio
tasks of one sender never exceed the limits. Waiters for the overall rate queue in order,
and a chat that must wait for its own interval waits outside that queue, so one busy chat
never holds the others back. A 429 pauses everything for its retry-after.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class Pacer:
    """Spaces calls at most `per_second` overall and one per `per_key_interval` per key, of
    which `per_key_burst` may go at once after a pause; with `window`, also at most `window`
    calls within any second."""

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
        self._recent: deque[float] = deque(maxlen=max(1, window))

    async def slot(self, key: str) -> None:
        """Wait until a call for `key` is allowed, and reserve it.

        Waiters queue in order on a lock and only the first one sleeps, so thousands of
        waiting messages cost no more than one (no thundering herd).
        """
        while True:
            now = self._clock()
            key_ready = self._key_ready(key)
            if key_ready > now:  # this chat must wait anyway: do it outside the queue
                await asyncio.sleep(key_ready - now)
                continue
            async with self._lock:
                now = self._clock()
                if self._key_ready(key) > now:
                    continue
                ready = max(self._next_any, self._paused_until)
                if self._window and len(self._recent) == self._recent.maxlen:
                    # never more than the platform's count within any second, even when a
                    # stall lets several late reservations go out back to back
                    ready = max(ready, self._recent[0] + 1.02)
                if ready > now:
                    await asyncio.sleep(ready - now)
                    now = self._clock()
                # Count from the previous reservation when we woke a little late, so small
                # scheduling delays do not add up; never more than `_slack` early.
                self._next_any = max(self._next_any + self._gap, now + self._gap - self._slack)
                self._next_key[key] = max(self._next_key.get(key, 0.0), now) + self._per_key
                self._recent.append(now)
                if len(self._next_key) > 10_000:
                    self._next_key = {k: t for k, t in self._next_key.items() if t > now}
                return

    def _key_ready(self, key: str) -> float:
        """Return when the key's bucket has a call left."""
        return self._next_key.get(key, 0.0) - self._burst_ahead

    def pause(self, seconds: float) -> None:
        """Hold every call back for `seconds` (after a 429 with retry-after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
