"""Retention: a set time after a consultation, delete what the office need not keep.

Deleted: the intake answers sealed in the booking (number, accommodations, note), the
conversation state, the delivered outbox messages, waitlist entries and processed-event
keys of that user. Kept: the booking record (reference, time, status) and the consent
records, which the office must keep (terms art. 1, 7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.db import changed
from storage.models import (
    Booking,
    Conversation,
    Office,
    OutboxMessage,
    ProcessedEvent,
    WaitlistEntry,
)

log = logging.getLogger("madoguchi.retention")


@dataclass
class Purged:
    """How much one retention run removed."""

    booking_details: int = 0
    conversations: int = 0
    outbox_messages: int = 0
    waitlist_entries: int = 0
    event_keys: int = 0


def purge(session: Session, office: Office, now: datetime) -> Purged:
    """Remove personal data older than the office's retention period; return the counts."""
    cutoff = now - timedelta(days=office.retention_days)
    purged = Purged()
    old = session.execute(
        select(Booking.id, Booking.channel, Booking.user_ref).where(
            Booking.office_id == office.id,
            Booking.starts_at < cutoff,
            Booking.details_purged_at.is_(None),
            Booking.status.in_(["booked", "cancelled", "released"]),
        )
    ).all()
    if old:
        purged.booking_details = changed(
            session.execute(
                update(Booking)
                .where(Booking.id.in_([row.id for row in old]))
                .values(details_sealed="", meeting_token=None, details_purged_at=now)
            )
        )
    # A conversation goes once it has been idle past the period and has no booking ahead.
    upcoming = select(Booking.user_ref).where(
        Booking.channel == Conversation.channel,
        Booking.user_ref == Conversation.user_ref,
        Booking.starts_at >= cutoff,
    )
    purged.conversations = changed(
        session.execute(
            delete(Conversation).where(
                Conversation.office_id == office.id,
                Conversation.updated_at < cutoff,
                ~upcoming.exists(),
            )
        )
    )
    purged.outbox_messages = changed(
        session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status != "pending", OutboxMessage.created_at < cutoff
            )
        )
    )
    purged.waitlist_entries = changed(
        session.execute(
            delete(WaitlistEntry).where(
                WaitlistEntry.office_id == office.id, WaitlistEntry.created_at < cutoff
            )
        )
    )
    purged.event_keys = changed(
        session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < cutoff))
    )
    log.info(
        "retention (%s days): removed %s booking details, %s conversations, %s outbox messages, "
        "%s waitlist entries, %s event keys",
        office.retention_days,
        purged.booking_details,
        purged.conversations,
        purged.outbox_messages,
        purged.waitlist_entries,
        purged.event_keys,
    )
    return purged
