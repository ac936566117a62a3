"""Retention: a set time after a consultation, delete what the office need not keep.

Every table that can hold personal data is covered:

- bookings (every status, no-shows too): the sealed intake answers (number,
  accommodations, note), the meeting token and URL, the channel's user id, the keyed
  jobseeker-number hash and the link to the booking's usage record are cleared;
- conversations idle past the period with no booking ahead, and then the channel contacts
  (a sender's memory of a chat id) left without a conversation or a booking ahead;
- outbox messages (replies, counselor notifications with notes and interpreter language),
  whatever their status;
- waitlist entries, processed-event keys, inbox rows (their bodies are dropped once
  applied) and failed-event records;
- the records that a user was told of a terms change (art. 13), once past the period and
  their conversation is gone (while it stays, the record keeps them from being told twice).

Kept: the booking record (reference, time, status, pseudonym), the consent records and the
audit log, which the office must keep (terms art. 1, 7); the usage statistics
(storage/usage.py), which name nobody (a conversation's link to them goes with it).
Suspensions (a counselor's decision, keyed by pseudonym and number hash) are ended by an
operator, not by time.
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
    ChannelContact,
    Conversation,
    FailedEvent,
    InboundEvent,
    Office,
    OutboxMessage,
    ProcessedEvent,
    TermsNotice,
    TermsVersion,
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
    channel_contacts: int = 0
    inbox_rows: int = 0
    failed_events: int = 0
    terms_notices: int = 0

    def add(self, other: Purged) -> None:
        """Count another batch in."""
        for name in _KINDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def most(self) -> int:
        """Return the largest count of one kind (a batch below its limit was the last)."""
        return max(getattr(self, name) for name in _KINDS)


_KINDS = (
    "booking_details",
    "conversations",
    "channel_contacts",
    "outbox_messages",
    "waitlist_entries",
    "event_keys",
    "inbox_rows",
    "failed_events",
    "terms_notices",
)
# What each count removed, by table (the report names both).
TABLES = {
    "booking_details": "bookings (answers, meeting token and URL, user id)",
    "conversations": "conversations",
    "channel_contacts": "channel_contacts",
    "outbox_messages": "outbox",
    "waitlist_entries": "waitlist",
    "event_keys": "processed_events",
    "inbox_rows": "inbound_events",
    "failed_events": "failed_events",
    "terms_notices": "terms_notices",
}


def _ids(session: Session, query: Select[Any]) -> list[int]:
    return list(session.scalars(query))


def _delete_batch(session: Session, model: Any, condition: Any, limit: int) -> int:
    """Delete up to `limit` rows of `model` matching `condition` (chosen by id first, the
    condition checked again at the delete); return how many went."""
    ids = _ids(session, select(model.id).where(condition).limit(limit))
    if not ids:
        return 0
    return changed(session.execute(delete(model).where(model.id.in_(ids), condition)))


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
    )
    ids = _ids(session, select(Booking.id).where(old_booking).limit(limit))
    if ids:
        purged.booking_details = changed(
            session.execute(
                update(Booking)
                .where(Booking.id.in_(ids), old_booking)
                .values(
                    details_sealed="",
                    meeting_token=None,
                    meeting_url=None,
                    user_ref="",
                    jobseeker_key=None,
                    usage_id=None,
                    details_purged_at=now,
                )
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
    purged.conversations = _delete_batch(session, Conversation, idle, limit)
    # A contact goes with the last conversation and booking ahead of its chat.
    remembered = and_(
        ~select(Conversation.id)
        .where(
            Conversation.channel == ChannelContact.channel,
            Conversation.user_ref == ChannelContact.user_ref,
        )
        .exists(),
        ~select(Booking.id)
        .where(
            Booking.channel == ChannelContact.channel,
            Booking.user_ref == ChannelContact.user_ref,
            Booking.starts_at >= cutoff,
        )
        .exists(),
    )
    purged.channel_contacts = _delete_batch(session, ChannelContact, remembered, limit)
    # Undelivered too: a message still pending after the whole period will never be sent.
    old_message = OutboxMessage.created_at < cutoff
    purged.outbox_messages = _delete_batch(session, OutboxMessage, old_message, limit)
    waited = and_(WaitlistEntry.office_id == office.id, WaitlistEntry.created_at < cutoff)
    purged.waitlist_entries = _delete_batch(session, WaitlistEntry, waited, limit)
    purged.event_keys = _delete_batch(
        session, ProcessedEvent, ProcessedEvent.processed_at < cutoff, limit
    )
    received = InboundEvent.received_at < cutoff
    purged.inbox_rows = _delete_batch(session, InboundEvent, received, limit)
    failed = FailedEvent.at < cutoff
    purged.failed_events = _delete_batch(session, FailedEvent, failed, limit)
    # Who was told of a terms change: kept while their conversation is (so nobody is told
    # twice), gone with it once past the period.
    told = and_(
        TermsNotice.version_id.in_(
            select(TermsVersion.id).where(TermsVersion.office_id == office.id)
        ),
        TermsNotice.told_at < cutoff,
        ~select(Conversation.id).where(Conversation.pseudonym == TermsNotice.pseudonym).exists(),
    )
    purged.terms_notices = _delete_batch(session, TermsNotice, told, limit)
    return purged


def report(office: Office, purged: Purged) -> None:
    """Log what a whole retention run removed, per table (counts only, never whose)."""
    log.info(
        "retention (%s days): removed %s",
        office.retention_days,
        ", ".join(f"{TABLES[name]}: {getattr(purged, name)}" for name in _KINDS),
    )
