"""Reminders: created with a booking, sent once by the worker's sweep, never for a booking
that was cancelled or moved, and dropped (with a log line) once the consultation started.

"Once" is a conditional update (pending → sent) in the same transaction as the outbox
message, so a second worker started by mistake finds nothing to claim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows.codec import reply_to_json
from flows.dialog import say
from storage import outbox
from storage.models import Booking, Office, Reminder

log = logging.getLogger("madoguchi.reminders")


def schedule(session: Session, booking: Booking, office: Office, now: datetime) -> int:
    """Create the booking's reminders that are still in the future; return how many."""
    created = 0
    for minutes in office.reminder_offsets or []:
        due = booking.starts_at - timedelta(minutes=minutes)
        if due > now:
            session.add(Reminder(booking_id=booking.id, offset_minutes=minutes, due_at=due, status="pending"))
            created += 1
    return created


def cancel_for(session: Session, booking_id: int, now: datetime) -> None:
    """Withdraw the pending reminders of a booking (cancelled, moved, suspended)."""
    session.execute(
        update(Reminder)
        .where(Reminder.booking_id == booking_id, Reminder.status == "pending")
        .values(status="cancelled", done_at=now)
    )


@dataclass
class SweepResult:
    """What one sweep did."""

    sent: int = 0
    dropped: int = 0
    withdrawn: int = 0


def _claim(session: Session, reminder_id: int, status: str, now: datetime) -> bool:
    result = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == "pending")
        .values(status=status, done_at=now)
    )
    return result.rowcount == 1


def send_due(session: Session, now: datetime, *, limit: int = 1000) -> SweepResult:
    """Send every reminder due by `now`, once; drop those whose consultation has started."""
    result = SweepResult()
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
                log.info("reminder %s of %s superseded by a later one", reminder.id, booking.reference)
                result.dropped += 1
            continue
        if booking.status != "booked":
            if _claim(session, reminder.id, "cancelled", now):
                result.withdrawn += 1
            continue
        if booking.starts_at <= now:
            if _claim(session, reminder.id, "dropped", now):
                log.warning(
                    "reminder %s of %s dropped: due %s, the consultation started at %s",
                    reminder.id, booking.reference, reminder.due_at.isoformat(), booking.starts_at.isoformat(),
                )
                result.dropped += 1
            continue
        if not _claim(session, reminder.id, "sent", now):
            continue
        reply = say("reminder.message", reference=booking.reference or "", at=booking.starts_at,
                    link=booking.meeting_url or "")
        outbox.enqueue(
            session,
            channel=booking.channel,
            recipient=booking.user_ref,
            payload={
                "language": booking.language,
                "turn": -1,
                "replies": [reply_to_json(reply)],
                "keep_keyboard": True,
                "kind": "reminder",
                "reminder_id": reminder.id,
            },
            now=now,
        )
        result.sent += 1
    if result.sent or result.dropped:
        log.info("reminders: %s sent, %s dropped, %s withdrawn", result.sent, result.dropped, result.withdrawn)
    return result
