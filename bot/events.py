"""Apply one translated platform event to the intake, for every channel adapter.

A handler failure never escapes: the event is tried again a few times (each try is one
transaction, and a repeated event key has no effect), then recorded (without content),
logged, counted, and the user asked to try again; the next event of that user is handled
normally. An event that cannot even be read is recorded the same way. Never log the user
id or text.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot import logs
from bot.app import App
from bot.counters import COUNTERS
from flows.codec import reply_to_json
from flows.dialog import say
from flows.model import Event
from storage import outbox, records

log = logging.getLogger("madoguchi.events")

ATTEMPTS = 3
"""How often one event is tried before it is recorded as failed."""
RETRY_PAUSE = 0.1
"""Seconds before the second try (twice that before the third): a lock or a lost
connection has time to clear, and a webhook still answers well within its limit."""
MAX_KEY = 128
"""The longest event key kept (the column's width)."""


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
    """Handle one event, trying it up to `ATTEMPTS` times; then record it as failed.

    On the last failure the "please try again" reply is queued; `error_delivery` is channel
    data for it (e.g. keep the question's buttons, or the reply token to answer with).
    Raises only when even the failure cannot be recorded (the database is gone): the
    caller's platform or inbox then brings the event again.
    """
    pseudonym = app.vault.pseudonym(channel, user_ref)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            app.intake.handle_event(
                channel, user_ref, event, event_key=event_key, delivery=delivery
            )
            return
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the chat
            failure = exc
            if attempt < ATTEMPTS:
                log.warning(
                    "%s event %s of %s failed (try %d of %d): %s",
                    channel,
                    event_key,
                    pseudonym,
                    attempt,
                    ATTEMPTS,
                    type(exc).__name__,
                )
                time.sleep(RETRY_PAUSE * attempt)
    log.error(
        "%s event %s of %s failed %d times, recorded: %s\n%s",
        channel,
        event_key,
        pseudonym,
        ATTEMPTS,
        type(failure).__name__,
        logs.frames(failure),
    )
    with app.db.transaction() as session:
        records.record_failed_event(
            session,
            channel=channel,
            event_key=event_key[:MAX_KEY],
            pseudonym=pseudonym,
            error=type(failure).__name__,
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
    COUNTERS.add("failed_events", channel)


def record_unreadable(
    app: App, channel: str, *, event_key: str, error: str, pseudonym: str = ""
) -> None:
    """Record an authenticated event that could not be read (once per key); log, count it.

    Its key is marked processed too, so a redelivery of the same unreadable event is not
    recorded twice. Nothing of its content is kept.
    """
    key = event_key[:MAX_KEY]
    with app.db.transaction() as session:
        if key and not records.first_processing(
            session, channel=channel, event_key=key, now=app.clock()
        ):
            return
        records.record_failed_event(
            session,
            channel=channel,
            event_key=key,
            pseudonym=pseudonym,
            error=error,
            now=app.clock(),
        )
    log.warning("%s event %s unreadable, recorded: %s", channel, key or "(no key)", error)
    COUNTERS.add("failed_events", channel)
