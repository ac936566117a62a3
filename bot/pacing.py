"""Pace outbound calls within a platform's limits: a rate overall and an interval per chat.

Reservations are made without awaiting between check and update, so concurrent asyncio
tasks of one sender never exceed the limits. A 429 pauses everything for its retry-after.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """Spaces calls at most `per_second` overall and one per `per_key_interval` per key."""

    def __init__(
        self,
        *,
        per_second: float,
        per_key_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gap = 1.0 / per_second
        self._slack = min(0.002, self._gap / 4)
        self._per_key = per_key_interval
        self._clock = clock
        self._next_any = 0.0
        self._next_key: dict[str, float] = {}
        self._paused_until = 0.0

    async def slot(self, key: str) -> None:
        """Wait until a call for `key` is allowed, and reserve it."""
        while True:
            now = self._clock()
            ready = max(self._next_any, self._next_key.get(key, 0.0), self._paused_until)
            if ready <= now:
                # Count from the previous reservation when we woke a little late, so small
                # scheduling delays do not add up; never more than `_slack` early.
                self._next_any = max(self._next_any + self._gap, now + self._gap - self._slack)
                self._next_key[key] = now + self._per_key
                if len(self._next_key) > 10_000:
                    self._next_key = {k: t for k, t in self._next_key.items() if t > now}
                return
            await asyncio.sleep(ready - now)

    def pause(self, seconds: float) -> None:
        """Hold every call back for `seconds` (after a 429 with retry-after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
