"""What a messenger channel provides to the processes: its settings, its web part (route
with its edge check, background work), its worker part, and how it runs alone.

Only the shape: this module never imports a channel, an SDK or the registry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from starlette.routing import Route

from bot.app import App
from bot.checks import Check

log = logging.getLogger("madoguchi.channels")

Runner = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""Work that goes on until the event is set (a sender, long polling)."""

Running = Callable[[asyncio.Event], AbstractAsyncContextManager[None]]
"""Work started before the web app serves and stopped after it (the event is set at exit)."""

S = TypeVar("S")


@dataclass(frozen=True)
class WebPart:
    """What a channel adds to the web process."""

    route: Route | None = None  # its webhook: a path and an endpoint that checks at the edge
    running: Running | None = None  # what runs beside it (inbox, sender, webhook registration)


class Channel(Protocol[S]):
    """A messenger channel: one package under `bot/`, one line in `bot/channels/registry.py`.

    `S` is the channel's settings type; the processes hand each method back what
    `read_settings` returned, and never call a method of a channel that is off.
    """

    name: str  # its key in `Settings.channels` (and `settings.<name>`)
    outbox: str  # the outbox channel its sender drains
    jobseekers: bool  # jobseekers talk through it (else: counselors)

    def read_settings(self, env: Mapping[str, str], problems: list[str]) -> S | None:
        """Read this channel's settings, adding each problem; None when it is not enabled."""
        ...

    def web(self, app: App, settings: S, *, with_worker: bool) -> WebPart | None:
        """Return what this channel adds to the web process; None when nothing.

        `with_worker` is True when the web process is the worker too (one process): the
        channel then runs its sender there as well.
        """
        ...

    def worker(self, app: App, settings: S) -> Runner:
        """Return this channel's part of the worker process (its sender, and so on)."""
        ...

    def alone(self, app: App, settings: S) -> Runner | None:
        """Return this channel's work in a process without a web server (receiving and
        sending, e.g. Telegram's long polling); None when it needs the web server."""
        ...

    def doctor(self, settings: S) -> list[Check]:
        """Check the platform with harmless, read-only calls (`madoguchi doctor`)."""
        ...


def running_task(runner: Runner, name: str) -> Running:
    """Return `runner` as a `Running`: a task started with the app, stopped and awaited after."""

    @asynccontextmanager
    async def running(stop: asyncio.Event) -> AsyncIterator[None]:
        task = asyncio.create_task(runner(stop), name=name)
        try:
            yield
        finally:
            stop.set()
            try:
                await task
            except Exception as exc:  # noqa: BLE001 - stopping: say so, let the others stop
                log.error("%s stopped with %s", name, type(exc).__name__)

    return running


Channels = tuple[Channel[Any], ...]
