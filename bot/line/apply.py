"""Apply one stored LINE webhook body: each event to the intake, in order, each on its own.

The body was verified at the edge before it was stored, so it is parsed here without a
second check, one event at a time: an event that cannot be read (a type the SDK does not
know, a field of the wrong type) is recorded in `failed_events` and the others are applied
all the same. An unfollow only marks the user unreachable (a booking stays as it is); a
follow makes them reachable again before the intake greets them. Never logs user ids.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from linebot.v3.webhooks import Event as LineEvent

from bot import events
from bot.app import App
from bot.line import CHANNEL
from bot.line.inbound import Inbound, Unreadable, translate
from storage import contacts, records

log = logging.getLogger("madoguchi.line")


class EventsFailed(Exception):
    """Some events of a body could not be applied (the others were); try the body again."""


def apply_body(app: App, body: str, received_at: datetime) -> None:
    """Apply every event of a stored webhook body; raise EventsFailed after the rest if some
    could not be applied (those already applied are not applied twice)."""
    failed = 0
    for raw in json.loads(body).get("events") or []:
        inbound = read(app, raw, received_at=received_at)
        if inbound is None:
            continue
        try:
            apply(app, inbound)
        except Exception as exc:  # noqa: BLE001 - the other events of the body go on
            failed += 1
            log.warning("LINE event %s not applied: %s", inbound.event_key, type(exc).__name__)
    if failed:
        raise EventsFailed(f"{failed} event(s) not applied")


def read(app: App, raw: Any, *, received_at: datetime) -> Inbound | None:
    """Return one raw event translated; None when it is ignored or was recorded unreadable."""
    try:
        inbound = translate(LineEvent.from_dict(raw), received_at=received_at)
    except Exception as exc:  # noqa: BLE001 - the SDK's models raise several kinds
        key, user = _identity(raw)
        events.record_unreadable(
            app,
            CHANNEL,
            event_key=key,
            error=str(exc) if isinstance(exc, Unreadable) else type(exc).__name__,
            pseudonym=app.vault.pseudonym(CHANNEL, user) if user else "",
        )
        return None
    if inbound is None:
        log.debug("LINE %s event ignored", raw.get("type") if isinstance(raw, dict) else "?")
    return inbound


def _identity(raw: Any) -> tuple[str, str]:
    """Return the event id and the user id of a raw event, where they are plain strings."""
    if not isinstance(raw, dict):
        return "", ""
    key = raw.get("webhookEventId")
    source = raw.get("source")
    user = source.get("userId") if isinstance(source, dict) else None
    return (
        key if isinstance(key, str) else "",
        user if isinstance(user, str) and len(user) <= 128 else "",
    )


def apply(app: App, inbound: Inbound) -> None:
    """Apply one translated event: reachability first, then the intake."""
    if inbound.reachable is not None:
        with app.db.transaction() as session:
            # Its own key: a redelivered unfollow must not undo a later follow.
            key = f"{inbound.event_key}:reachable"
            if records.first_processing(session, channel=CHANNEL, event_key=key, now=app.clock()):
                since = None if inbound.reachable else app.clock()
                contacts.mark_unreachable(session, CHANNEL, inbound.user_ref, since)
        if not inbound.reachable:
            log.info("LINE user %s unfollowed", app.vault.pseudonym(CHANNEL, inbound.user_ref))
    if inbound.event is None:
        return
    events.apply(
        app,
        CHANNEL,
        inbound.user_ref,
        inbound.event,
        event_key=inbound.event_key,
        delivery=inbound.delivery,
        error_delivery=inbound.delivery,  # the apology may use the reply token too
    )
