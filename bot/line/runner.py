"""LINE's parts of a process: the webhook's inbox processing (web) and the sender (worker,
or the web process itself when it runs alone)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from linebot.v3.messaging import AsyncMessagingApi
from linebot.v3.webhook import SignatureValidator

from bot.app import App
from bot.channels.inbox_processor import InboxProcessor
from bot.line import CHANNEL
from bot.line.apply import apply_body
from bot.line.sender import LineSender, make_api
from bot.web import LINE_PATH, LineWebhook

log = logging.getLogger("madoguchi.line.runner")


async def deliver(app: App, stop: asyncio.Event, *, wake: asyncio.Event | None = None) -> None:
    """Run the LINE sender until `stop` is set; `wake` set means new rows are waiting."""
    settings = app.settings.line
    assert settings is not None
    async with make_api(settings.access_token, settings.api_base_url) as client:
        sender = LineSender(app.db, AsyncMessagingApi(client), clock=app.clock)
        if wake is not None:
            sender.wake = wake
        await sender.run(stop)


class LineChannel:
    """LINE inside the web process: the webhook route's inbox, applied in the background,
    and the sender when this process delivers."""

    def __init__(self, app: App, *, with_sender: bool) -> None:
        settings = app.settings.line
        assert settings is not None
        self.app = app
        self.with_sender = with_sender
        self.wake = asyncio.Event()
        self.processor = InboxProcessor(
            app, CHANNEL, apply_body, on_applied=self.wake.set if with_sender else None
        )
        self.hook = LineWebhook(
            validator=SignatureValidator(settings.channel_secret),
            store=self.processor.store,
            submit=self.processor.submit,
            answering=self.processor.count_answering,
        )

    @asynccontextmanager
    async def running(self, stop: asyncio.Event) -> AsyncIterator[None]:
        """Apply the inbox (leftovers first) and deliver, until exit."""
        tasks = [asyncio.create_task(self.processor.run(stop))]
        if self.with_sender:
            tasks.append(asyncio.create_task(deliver(self.app, stop, wake=self.wake)))
        log.info("LINE webhook at %s", LINE_PATH)
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
