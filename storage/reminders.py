"""Reminders: created with a booking, claimed once by the worker's sweep, never for a booking
that was cancelled or moved, and dropped (with a log line) once the consultation started.

"Once" is a conditional update (pending → sent) that the caller commits with the outbox
message; a second worker finds nothing to claim. It never builds the message itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.db import later
from storage.models import Booking, Office, Reminder

log = logging.getLogger("madoguchi.reminders")


_SCHEDULE = insert(Reminder).inline()  # built once, written later (storage/db.py)


def schedule(session: Session, booking: Booking, office: Office, now: datetime) -> int:
    """Create the booking's reminders that are still in the future; return how many."""
    rows = [
        {"booking_id": booking.id, "offset_minutes": minutes, "due_at": due, "status": "pending"}
        for minutes in office.reminder_offsets or []
        if (due := booking.starts_at - timedelta(minutes=minutes)) > now
    ]
    if rows:  # one statement for all of them
        later(session, _SCHEDULE, rows)
    return len(rows)


def cancel_for(session: Session, booking_id: int, now: datetime) -> None:
    """Withdraw the pending reminders of a booking (cancelled, moved, suspended)."""
    session.execute(
        update(Reminder)
        .where(Reminder.booking_id == booking_id, Reminder.status == "pending")
        .values(status="cancelled", done_at=now)
    )


@dataclass(frozen=True)
class ReminderDue:
    """A reminder claimed for sending (pending → sent): who to tell of which consultation."""

    reminder_id: int
    channel: str
    user_ref: str
    language: str | None
    reference: str
    starts_at: datetime
    meeting_url: str


@dataclass
class Claimed:
    """What one claim did: the reminders to send now, and how many it dropped or withdrew."""

    due: list[ReminderDue] = field(default_factory=list)
    dropped: int = 0
    withdrawn: int = 0


def _claim(session: Session, reminder_id: int, status: str, now: datetime) -> bool:
    result = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == "pending")
        .values(status=status, done_at=now)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def claim_due(session: Session, now: datetime, *, limit: int = 1000) -> Claimed:
    """Claim every reminder due by `now`, once; drop those whose consultation has started.

    The claim (pending → sent) is only final with the caller's commit: queue the message of
    each returned reminder in the same transaction.
    """
    claimed = Claimed()
    query = (
        select(Reminder, Booking)
        .join(Booking, Booking.id == Reminder.booking_id)
        .where(Reminder.status == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Reminder, skip_locked=True)
    rows = session.execute(query).all()
    latest_due: dict[int, int] = {}
    for reminder, booking in rows:  # ordered by due time: the last one of a booking wins
        latest_due[booking.id] = reminder.id
    for reminder, booking in rows:
        if booking.status == "booked" and latest_due[booking.id] != reminder.id:
            # Two reminders due at once (the worker was down): only the latest one is sent.
            if _claim(session, reminder.id, "dropped", now):
                log.info(
                    "reminder %s of %s superseded by a later one", reminder.id, booking.reference
                )
                claimed.dropped += 1
            continue
        if booking.status != "booked":
            if _claim(session, reminder.id, "cancelled", now):
                claimed.withdrawn += 1
            continue
        if booking.starts_at <= now:
            if _claim(session, reminder.id, "dropped", now):
                log.warning(
                    "reminder %s of %s dropped: due %s, the consultation started at %s",
                    reminder.id,
                    booking.reference,
                    reminder.due_at.isoformat(),
                    booking.starts_at.isoformat(),
                )
                claimed.dropped += 1
            continue
        if not _claim(session, reminder.id, "sent", now):
            continue
        claimed.due.append(
            ReminderDue(
                reminder_id=reminder.id,
                channel=booking.channel,
                user_ref=booking.user_ref,
                language=booking.language,
                reference=booking.reference or "",
                starts_at=booking.starts_at,
                meeting_url=booking.meeting_url or "",
            )
        )
    return claimed
