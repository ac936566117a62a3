"""In-process counters of what went wrong at the edges; `/metrics` exposes them (bot.metrics).

A counter is a name and a channel (`failed_events`, `line`); values only grow while the
process lives. Never put a user id, a pseudonym or any text from a message in a name.
"""

from __future__ import annotations

import threading
from collections import Counter

from bot import metrics


class Counters:
    """Named counts, safe to bump from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, name: str, channel: str, amount: int = 1) -> None:
        """Add `amount` to the count of `name` for `channel`."""
        with self._lock:
            self._counts[(name, channel)] += amount
        metrics.count(name, channel, amount)

    def get(self, name: str, channel: str) -> int:
        """Return the count of `name` for `channel` (0 when never counted)."""
        with self._lock:
            return self._counts[(name, channel)]

    def snapshot(self) -> dict[tuple[str, str], int]:
        """Return every count, keyed by (name, channel)."""
        with self._lock:
            return dict(self._counts)


COUNTERS = Counters()
"""This process's counters: `failed_events` (an event recorded as failed) and
`inbox_given_up` (a stored body that kept failing, recorded for an operator)."""
