"""Wait in an async test for a condition, never for a fixed time: poll it with `asyncio.sleep`
(so the servers and tasks of the test's loop keep running) and fail after a timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(
    predicate: Callable[[], object], *, timeout: float = 20.0, every: float = 0.02
) -> None:
    """Return once `predicate()` is true; raise AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        await asyncio.sleep(every)
