"""Apply one stored LINE webhook body: each event to the intake, in order.

The body was verified at the edge before it was stored, so it is parsed here without a
second check. An unfollow only marks the user unreachable (a booking stays as it is); a
follow makes them reachable again before the intake greets them. Never logs user ids.
"""

from __future__ import annotations

import logging
from datetime import datetime

from linebot.v3.webhook import WebhookParser

from bot import events
from bot.app import App
from bot.line import CHANNEL
from bot.line.inbound import Inbound, translate
from storage import contacts, records

log = logging.getLogger("madoguchi.line")

# The signature was checked on the raw bytes before the body was stored (bot/line/webhook.py).
_PARSER = WebhookParser("", skip_signature_verification=lambda: True)


def apply_body(app: App, body: str, received_at: datetime) -> None:
    """Apply every event of a stored webhook body."""
    for event in _PARSER.parse(body, ""):
        inbound = translate(event, received_at=received_at)
        if inbound is None:
            log.debug("LINE %s event ignored", getattr(event, "type", "unknown"))
            continue
        apply(app, inbound)


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
