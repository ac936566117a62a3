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
from typing import Any

from sqlalchemy import Select, and_, delete, select, update
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
    """How much one retention run (or one batch of it) removed."""

    booking_details: int = 0
    conversations: int = 0
    outbox_messages: int = 0
    waitlist_entries: int = 0
    event_keys: int = 0

    def add(self, other: Purged) -> None:
        """Count another batch in."""
        for name in _KINDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def most(self) -> int:
        """Return the largest count of one kind (a batch below its limit was the last)."""
        return max(getattr(self, name) for name in _KINDS)


_KINDS = ("booking_details", "conversations", "outbox_messages", "waitlist_entries", "event_keys")


def _ids(session: Session, query: Select[Any]) -> list[int]:
    return list(session.scalars(query))


def purge(session: Session, office: Office, now: datetime, *, limit: int) -> Purged:
    """Remove up to `limit` rows of each kind older than the office's retention period.

    Call it again, each time in a new short transaction, until `most()` of the result is
    below `limit`. Each kind is chosen through an index (the ids first, a batch at a time)
    and deleted or cleared by id, its conditions checked again so a row changed meanwhile
    stays.
    """
    cutoff = now - timedelta(days=office.retention_days)
    purged = Purged()
    old_booking = and_(
        Booking.office_id == office.id,
        Booking.details_purged_at.is_(None),
        Booking.starts_at < cutoff,
        Booking.status.in_(["booked", "cancelled", "released"]),
    )
    ids = _ids(session, select(Booking.id).where(old_booking).limit(limit))
    if ids:
        purged.booking_details = changed(
            session.execute(
                update(Booking)
                .where(Booking.id.in_(ids), old_booking)
                .values(details_sealed="", meeting_token=None, details_purged_at=now)
            )
        )
    # A conversation goes once it has been idle past the period and has no booking ahead.
    upcoming = select(Booking.id).where(
        Booking.channel == Conversation.channel,
        Booking.user_ref == Conversation.user_ref,
        Booking.starts_at >= cutoff,
    )
    idle = and_(
        Conversation.office_id == office.id,
        Conversation.updated_at < cutoff,
        ~upcoming.exists(),
    )
    ids = _ids(session, select(Conversation.id).where(idle).limit(limit))
    if ids:
        purged.conversations = changed(
            session.execute(delete(Conversation).where(Conversation.id.in_(ids), idle))
        )
    delivered = and_(OutboxMessage.created_at < cutoff, OutboxMessage.status != "pending")
    ids = _ids(session, select(OutboxMessage.id).where(delivered).limit(limit))
    if ids:
        purged.outbox_messages = changed(
            session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids), delivered))
        )
    waited = and_(WaitlistEntry.office_id == office.id, WaitlistEntry.created_at < cutoff)
    ids = _ids(session, select(WaitlistEntry.id).where(waited).limit(limit))
    if ids:
        purged.waitlist_entries = changed(
            session.execute(delete(WaitlistEntry).where(WaitlistEntry.id.in_(ids), waited))
        )
    ids = _ids(
        session, select(ProcessedEvent.id).where(ProcessedEvent.processed_at < cutoff).limit(limit)
    )
    if ids:
        purged.event_keys = changed(
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.id.in_(ids)))
        )
    return purged


def report(office: Office, purged: Purged) -> None:
    """Log what a whole retention run removed (counts only, never whose)."""
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
