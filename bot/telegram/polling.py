"""Long polling that never loses an update.

An update is confirmed to Telegram (by asking for the next offset) only after it was
handled and committed; if the process dies in between, Telegram hands it out again and
the stored update_id makes the second delivery a no-op.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from bot.app import App
from bot.telegram.apply import process
from bot.telegram.sender import TelegramSender, _seconds

log = logging.getLogger("madoguchi.telegram.polling")
ALLOWED_UPDATES = ["message", "callback_query"]


async def poll(
    app: App, bot: Bot, sender: TelegramSender | None, stop: asyncio.Event, *, timeout: int = 25
) -> None:
    """Fetch and handle updates until `stop` is set."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
            )
            backoff = 1.0
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            continue
        except (TimedOut, NetworkError) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60)
            continue
        for update in updates:
            callback_id = await asyncio.to_thread(process, app, update)
            offset = update.update_id + 1
            if sender is not None:
                sender.wake.set()
            if callback_id:
                try:
                    await bot.answer_callback_query(callback_id)
                except TelegramError:
                    pass  # the spinner stops by itself; the reply is in the outbox
