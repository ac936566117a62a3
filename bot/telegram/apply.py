"""Apply one Telegram update to the intake, whatever its shape; shared by the webhook and
long polling.

An authenticated update that cannot be read (wrong types, missing fields, ids out of any
real range) is recorded in `failed_events` and otherwise ignored; a handler failure is
tried again, then recorded and the user told to try again; the next update of that chat is
handled normally. Nothing here raises for an update's content.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Update

from bot import events
from bot.app import App
from bot.telegram import CHANNEL
from bot.telegram.inbound import MAX_ID, translate

log = logging.getLogger("madoguchi.telegram")


def update_id_of(data: Any) -> int | None:
    """Return the update_id of a decoded update when it is one Telegram could have sent."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if isinstance(update_id, int) and not isinstance(update_id, bool) and 0 <= update_id < MAX_ID:
        return update_id
    return None


def handle(app: App, data: Any, bot: Bot) -> str | None:
    """Handle one decoded update (any JSON value); return the callback query id to answer.

    Raises only when the database cannot take even the record of a failure.
    """
    update_id = update_id_of(data)
    if update_id is None:
        events.record_unreadable(app, CHANNEL, event_key="", error="not an update")
        return None
    try:
        inbound = translate(Update.de_json(data, bot))
    except Exception as exc:  # noqa: BLE001 - authenticated but unreadable: record it
        events.record_unreadable(
            app, CHANNEL, event_key=str(update_id), error=f"unreadable: {type(exc).__name__}"
        )
        return None
    if inbound is None:
        log.debug("update %s ignored (not a private message or button)", update_id)
        return None
    events.apply(
        app,
        CHANNEL,
        inbound.user_ref,
        inbound.event,
        event_key=inbound.event_key,
        delivery=inbound.delivery,
        error_delivery={"keep_keyboard": True},  # the question's buttons stay usable
    )
    return inbound.callback_query_id
