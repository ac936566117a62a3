"""Telegram's parts of a process: long polling alone, the webhook, the sender.

`madoguchi` with Telegram alone on long polling runs `run_polling`; otherwise bot/runner.py
puts `TelegramChannel` into the web process and `deliver` into the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot

from bot.app import App
from bot.runner import counselor_sink, start_scheduler, stop_on_signals
from bot.telegram.polling import ALLOWED_UPDATES, poll
from bot.telegram.sender import TelegramSender
from bot.telegram.setup import make_bot, register_commands
from bot.web import TELEGRAM_PATH, TelegramWebhook

log = logging.getLogger("madoguchi.telegram.runner")


def _sender(app: App, bot: Bot) -> TelegramSender:
    assert app.settings.telegram is not None
    per_second = app.settings.telegram.per_second
    return TelegramSender(app.db, bot, clock=app.clock, per_second=per_second)


def _bot(app: App) -> Bot:
    settings = app.settings.telegram
    assert settings is not None
    return make_bot(settings.token, settings.api_base_url)


async def run_polling(app: App) -> None:
    """Poll for updates and deliver replies until SIGINT/SIGTERM."""
    bot = _bot(app)
    async with bot:
        await bot.delete_webhook()
        await register_commands(bot)
        stop = asyncio.Event()
        stop_on_signals(stop)
        sender = _sender(app, bot)
        scheduler = start_scheduler(app)  # single-process mode: this process is the worker
        log.info("Telegram long polling started")
        try:
            await asyncio.gather(
                poll(app, bot, sender, stop), sender.run(stop), counselor_sink(app, stop)
            )
        finally:
            scheduler.shutdown(wait=False)


async def deliver(app: App, stop: asyncio.Event) -> None:
    """Run the Telegram sender until `stop` is set (the worker's part)."""
    bot = _bot(app)
    async with bot:
        await _sender(app, bot).run(stop)


class TelegramChannel:
    """Telegram inside the web process: the webhook (or, in one process, polling), and the
    sender when this process delivers."""

    def __init__(self, app: App, *, with_sender: bool) -> None:
        self.app = app
        self.settings = app.settings.telegram
        assert self.settings is not None
        self.bot = _bot(app)
        self.sender = _sender(app, self.bot) if with_sender else None
        self.hook = (
            TelegramWebhook(
                bot=self.bot,
                secret=self.settings.webhook_secret,
                on_update=self.sender.wake.set if self.sender else None,
            )
            if self.settings.uses_webhook
            else None
        )

    @asynccontextmanager
    async def running(self, stop: asyncio.Event) -> AsyncIterator[None]:
        """Register the webhook (or start polling) and the sender; stop them at exit."""
        assert self.settings is not None
        await self.bot.initialize()
        tasks = []
        if self.hook is not None:
            await self.bot.set_webhook(
                url=self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                max_connections=self.settings.max_connections,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("Telegram webhook registered at %s", TELEGRAM_PATH)
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
