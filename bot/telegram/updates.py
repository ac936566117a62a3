"""Apply one Telegram update to the intake; shared by the webhook and long polling.

A handler failure never escapes: it is recorded (without content), the user is told to try
again, and the next update of that chat is handled normally.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Update

from bot import logs
from bot.app import App
from bot.telegram import CHANNEL
from bot.telegram.inbound import translate
from flows.codec import reply_to_json
from flows.dialog import say
from storage import outbox, records

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
    try:
        app.intake.handle_event(
            CHANNEL,
            inbound.user_ref,
            inbound.event,
            event_key=inbound.event_key,
            delivery=inbound.delivery,
        )
    except Exception as exc:  # noqa: BLE001 - one bad update must not stop the chat
        pseudonym = app.vault.pseudonym(CHANNEL, inbound.user_ref)
        log.error(
            "update %s of %s failed: %s\n%s",
            inbound.event_key, pseudonym, type(exc).__name__, logs.frames(exc),
        )
        with app.db.transaction() as session:
            records.record_failed_event(
                session,
                channel=CHANNEL,
                event_key=inbound.event_key,
                pseudonym=pseudonym,
                error=type(exc).__name__,
                now=app.clock(),
            )
            outbox.enqueue(
                session,
                channel=CHANNEL,
                recipient=inbound.user_ref,
                payload={
                    "language": None,
                    "turn": -1,
                    "replies": [reply_to_json(say("common.error"))],
                    "keep_keyboard": True,  # the question's buttons stay usable
                },
                now=app.clock(),
            )
    return inbound.callback_query_id


def record_unreadable(app: App, update_id: int) -> None:
    """Record an authenticated update that PTB could not read."""
    with app.db.transaction() as session:
        records.record_failed_event(
            session, channel=CHANNEL, event_key=str(update_id), pseudonym="", error="unreadable",
            now=app.clock(),
        )
