"""Long polling that never loses an update and never stops on one.

An update is confirmed to Telegram (by asking for the next offset) only after it was
handled and committed; if the process dies in between, Telegram hands it out again and
the stored update_id makes the second delivery a no-op. Updates are fetched as plain JSON
and read one by one (`apply.handle`), so one of an unexpected shape is recorded as failed
and confirmed like any other, instead of failing the whole batch again and again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.app import App
from bot.telegram.apply import handle, update_id_of
from bot.telegram.sender import TelegramSender, _seconds

log = logging.getLogger("madoguchi.telegram.polling")
ALLOWED_UPDATES = ["message", "callback_query"]


async def fetch(bot: Bot, offset: int | None, timeout: int) -> list[Any]:
    """Return the next updates as decoded JSON, unread (PTB's `get_updates` would parse the
    whole batch and fail on any one update it cannot read)."""
    result = await bot.do_api_request(
        # Bot API method names are case-insensitive; this spelling is not one of the Bot's
        # own methods, so PTB sends it without a "use get_updates instead" warning.
        "getupdates",
        api_kwargs={"offset": offset, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES},
        read_timeout=timeout + 15,
    )
    return result if isinstance(result, list) else []


async def poll(
    app: App, bot: Bot, sender: TelegramSender | None, stop: asyncio.Event, *, timeout: int = 25
) -> None:
    """Fetch and handle updates until `stop` is set."""
    offset: int | None = None
    backoff = 1.0  # after a failed getUpdates
    pause = 1.0  # after an update that could not even be recorded (the database away)
    while not stop.is_set():
        try:
            updates = await fetch(bot, offset, timeout)
            backoff = 1.0
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            continue
        except InvalidToken:
            raise  # nothing to retry: the configuration is wrong
        except TelegramError as exc:  # a network error, a conflict, an unreadable answer
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60)
            continue
        confirmed = offset
        for data in updates:
            try:
                callback_id = await asyncio.to_thread(handle, app, data, bot)
            except Exception as exc:  # noqa: BLE001 - not even recorded: fetch it again later
                log.error(
                    "update %s not handled (%s); fetching it again in %.0f s",
                    update_id_of(data),
                    type(exc).__name__,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60)
                break
            pause = 1.0
            update_id = update_id_of(data)
            if update_id is not None:
                offset = max(offset or 0, update_id + 1)
            if sender is not None:
                sender.wake.set()
            if callback_id:
                try:
                    await bot.answer_callback_query(callback_id)
                except TelegramError:
                    pass  # the spinner stops by itself; the reply is in the outbox
        if updates and offset == confirmed:
            await asyncio.sleep(1.0)  # nothing could be confirmed: don't ask again at once
