"""Send the reminders that are due: claim them in storage and queue their message, together.

One transaction per batch, so the claim (pending → sent) and the outbox row commit together
or not at all: a reminder is sent exactly once. It never sends anything itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flows.codec import reply_to_json
from flows.dialog import say
from storage import outbox, reminders
from storage.db import Database

log = logging.getLogger("madoguchi.reminders")


@dataclass
class SweepResult:
    """What one sweep did."""

    sent: int = 0
    dropped: int = 0
    withdrawn: int = 0


def send_due(db: Database, now: datetime, *, limit: int = 1000) -> SweepResult:
    """Queue every reminder due by `now`, once, in one transaction; return what was done."""
    with db.transaction() as session:
        claimed = reminders.claim_due(session, now, limit=limit)
        for due in claimed.due:
            reply = say(
                "reminder.message", reference=due.reference, at=due.starts_at, link=due.meeting_url
            )
            outbox.enqueue(
                session,
                channel=due.channel,
                recipient=due.user_ref,
                payload={
                    "language": due.language,
                    "turn": -1,
                    "replies": [reply_to_json(reply)],
                    "keep_keyboard": True,
                    "kind": "reminder",
                    "reminder_id": due.reminder_id,
                },
                now=now,
            )
    result = SweepResult(
        sent=len(claimed.due), dropped=claimed.dropped, withdrawn=claimed.withdrawn
    )
    if result.sent or result.dropped:
        log.info(
            "reminders: %s sent, %s dropped, %s withdrawn",
            result.sent,
            result.dropped,
            result.withdrawn,
        )
    return result
