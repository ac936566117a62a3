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
    ids = _ids(session, select(Conversation.id).where(idle).limit(limit))
    if ids:
        purged.conversations = changed(
            session.execute(delete(Conversation).where(Conversation.id.in_(ids), idle))
        )
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
    ids = _ids(session, select(ChannelContact.id).where(remembered).limit(limit))
    if ids:
        purged.channel_contacts = changed(
            session.execute(delete(ChannelContact).where(ChannelContact.id.in_(ids), remembered))
        )
    # Undelivered too: a message still pending after the whole period will never be sent.
    old_message = OutboxMessage.created_at < cutoff
    ids = _ids(session, select(OutboxMessage.id).where(old_message).limit(limit))
    if ids:
        purged.outbox_messages = changed(
            session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids), old_message))
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
    received = InboundEvent.received_at < cutoff
    ids = _ids(session, select(InboundEvent.id).where(received).limit(limit))
    if ids:
        purged.inbox_rows = changed(
            session.execute(delete(InboundEvent).where(InboundEvent.id.in_(ids), received))
        )
    failed = FailedEvent.at < cutoff
    ids = _ids(session, select(FailedEvent.id).where(failed).limit(limit))
    if ids:
        purged.failed_events = changed(
            session.execute(delete(FailedEvent).where(FailedEvent.id.in_(ids), failed))
        )
    # Who was told of a terms change: kept while their conversation is (so nobody is told
    # twice), gone with it once past the period.
    told = and_(
        TermsNotice.version_id.in_(
            select(TermsVersion.id).where(TermsVersion.office_id == office.id)
        ),
        TermsNotice.told_at < cutoff,
        ~select(Conversation.id).where(Conversation.pseudonym == TermsNotice.pseudonym).exists(),
    )
    ids = _ids(session, select(TermsNotice.id).where(told).limit(limit))
    if ids:
        purged.terms_notices = changed(
            session.execute(delete(TermsNotice).where(TermsNotice.id.in_(ids), told))
        )
    return purged


def report(office: Office, purged: Purged) -> None:
    """Log what a whole retention run removed, per table (counts only, never whose)."""
    log.info(
        "retention (%s days): removed %s",
        office.retention_days,
        ", ".join(f"{TABLES[name]}: {getattr(purged, name)}" for name in _KINDS),
    )
