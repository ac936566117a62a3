"""LINE's running parts: the webhook's inbox applied in the background (web process) and
the sender (worker, or the web process itself when it runs alone).

Wired by `bot/line/channel.py`; this module never reads the environment and never names
another channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from linebot.v3.messaging import AsyncMessagingApi
from linebot.v3.webhook import SignatureValidator

from bot.app import App
from bot.channels.inbox_processor import InboxProcessor
from bot.line import CHANNEL, webhook
from bot.line.apply import apply_body
from bot.line.sender import LineSender, make_api
from bot.line.settings import LineSettings

log = logging.getLogger("madoguchi.line.runner")


async def deliver(
    app: App, settings: LineSettings, stop: asyncio.Event, *, wake: asyncio.Event | None = None
) -> None:
    """Run the LINE sender until `stop` is set; `wake` set means new rows are waiting."""
    async with make_api(settings.access_token, settings.api_base_url) as client:
        sender = LineSender(app.db, AsyncMessagingApi(client), clock=app.clock)
        if wake is not None:
            sender.wake = wake
        await sender.run(stop)


class InWebProcess:
    """LINE inside the web process: the webhook route's inbox, applied in the background,
    and the sender when this process delivers."""

    def __init__(self, app: App, settings: LineSettings, *, with_sender: bool) -> None:
        self.app = app
        self.settings = settings
        self.with_sender = with_sender
        self.wake = asyncio.Event()
        self.processor = InboxProcessor(
            app, CHANNEL, apply_body, on_applied=self.wake.set if with_sender else None
        )
        self.route = webhook.route(
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
            tasks.append(
                asyncio.create_task(deliver(self.app, self.settings, stop, wake=self.wake))
            )
        log.info("LINE webhook at %s", webhook.PATH)
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
