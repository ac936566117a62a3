"""Apply one Telegram update to the intake; shared by the webhook and long polling.

A handler failure never escapes: it is recorded (without content), the user is told to try
again, and the next update of that chat is handled normally.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Update

from bot import events
from bot.app import App
from bot.telegram import CHANNEL
from bot.telegram.inbound import translate
from storage import records

log = logging.getLogger("madoguchi.telegram")


def parse(data: dict[str, Any], bot: Bot) -> Update:
    """Return the PTB Update of a decoded webhook body."""
    return Update.de_json(data, bot)


def process(app: App, update: Update) -> str | None:
    """Handle one update; return the callback query id to answer, if any."""
    inbound = translate(update)
    if inbound is None:
        log.debug("update %s ignored (not a private message or button)", update.update_id)
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


def record_unreadable(app: App, update_id: int) -> None:
    """Record an authenticated update that PTB could not read."""
    with app.db.transaction() as session:
        records.record_failed_event(
            session,
            channel=CHANNEL,
            event_key=str(update_id),
            pseudonym="",
            error="unreadable",
            now=app.clock(),
        )
