"""Telegram's running parts: the sender (worker), the webhook or polling inside the web
process, and long polling alone in a process of its own.

Wired by `bot/telegram/channel.py`; this module never reads the environment, never starts
the scheduler and never names another channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot

from bot.app import App
from bot.telegram import webhook
from bot.telegram.polling import ALLOWED_UPDATES, poll
from bot.telegram.sender import TelegramSender
from bot.telegram.settings import TelegramSettings
from bot.telegram.setup import make_bot, register_commands

log = logging.getLogger("madoguchi.telegram.runner")


def _sender(app: App, settings: TelegramSettings, bot: Bot) -> TelegramSender:
    return TelegramSender(app.db, bot, clock=app.clock, per_second=settings.per_second)


def _bot(settings: TelegramSettings) -> Bot:
    return make_bot(settings.token, settings.api_base_url)


async def poll_alone(app: App, settings: TelegramSettings, stop: asyncio.Event) -> None:
    """Poll for updates and deliver replies until `stop` is set (no web server)."""
    bot = _bot(settings)
    async with bot:
        await bot.delete_webhook()
        await register_commands(bot)
        sender = _sender(app, settings, bot)
        log.info("Telegram long polling started")
        await asyncio.gather(poll(app, bot, sender, stop), sender.run(stop))


async def deliver(app: App, settings: TelegramSettings, stop: asyncio.Event) -> None:
    """Run the Telegram sender until `stop` is set (the worker's part)."""
    bot = _bot(settings)
    async with bot:
        await _sender(app, settings, bot).run(stop)


class InWebProcess:
    """Telegram inside the web process: the webhook (or, in one process, polling), and the
    sender when this process delivers."""

    def __init__(self, app: App, settings: TelegramSettings, *, with_sender: bool) -> None:
        self.app = app
        self.settings = settings
        self.bot = _bot(settings)
        self.sender = _sender(app, settings, self.bot) if with_sender else None
        self.route = (
            webhook.route(
                app,
                self.bot,
                secret=settings.webhook_secret,
                on_update=self.sender.wake.set if self.sender else None,
            )
            if settings.uses_webhook
            else None
        )

    @asynccontextmanager
    async def running(self, stop: asyncio.Event) -> AsyncIterator[None]:
        """Register the webhook (or start polling) and the sender; stop them at exit."""
        await self.bot.initialize()
        tasks = []
        if self.route is not None:
            await self.bot.set_webhook(
                url=self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                max_connections=self.settings.max_connections,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("Telegram webhook registered at %s", webhook.PATH)
        else:
            await self.bot.delete_webhook()
            tasks.append(asyncio.create_task(poll(self.app, self.bot, self.sender, stop)))
            log.info("Telegram long polling started")
        await register_commands(self.bot)
        if self.sender is not None:
            tasks.append(asyncio.create_task(self.sender.run(stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.bot.shutdown()
