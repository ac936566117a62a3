"""Apply one translated platform event to the intake, for every channel adapter.

A handler failure never escapes: it is recorded (without content), the user is asked to try
again, and the next event of that user is handled normally. Never log the user id or text.
"""

from __future__ import annotations

import logging
from typing import Any

from bot import logs
from bot.app import App
from flows.codec import reply_to_json
from flows.dialog import say
from flows.model import Event
from storage import outbox, records

log = logging.getLogger("madoguchi.events")


def apply(
    app: App,
    channel: str,
    user_ref: str,
    event: Event,
    *,
    event_key: str,
    delivery: dict[str, Any],
    error_delivery: dict[str, Any] | None = None,
) -> None:
    """Handle one event; on failure record it and queue the "please try again" reply.

    `error_delivery` is channel data for that reply (e.g. keep the question's buttons, or
    the reply token to answer with).
    """
    try:
        app.intake.handle_event(channel, user_ref, event, event_key=event_key, delivery=delivery)
    except Exception as exc:  # noqa: BLE001 - one bad event must not stop the chat
        pseudonym = app.vault.pseudonym(channel, user_ref)
        log.error(
            "%s event %s of %s failed: %s\n%s",
            channel,
            event_key,
            pseudonym,
            type(exc).__name__,
            logs.frames(exc),
        )
        with app.db.transaction() as session:
            records.record_failed_event(
                session,
                channel=channel,
                event_key=event_key,
                pseudonym=pseudonym,
                error=type(exc).__name__,
                now=app.clock(),
            )
            outbox.enqueue(
                session,
                channel=channel,
                recipient=user_ref,
                payload={
                    "language": None,
                    "turn": -1,
                    "replies": [reply_to_json(say("common.error"))],
                    **(error_delivery or {}),
                },
                now=app.clock(),
            )
