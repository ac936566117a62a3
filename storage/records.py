"""Records the office must keep: consents (terms art. 1, 4) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.db import later
from storage.models import AuditEntry, Consent, ProcessedEvent


def record_consent(
    session: Session,
    *,
    pseudonym: str,
    channel: str,
    document: str,
    version: str,
    text_hash: str,
    language: str,
    now: datetime,
) -> Consent:
    """Store that a user agreed to a document, as it was shown to them."""
    consent = Consent(
        pseudonym=pseudonym,
        channel=channel,
        document=document,
        version=version,
        text_hash=text_hash,
        language=language,
        agreed_at=now,
    )
    session.add(consent)
    return consent


_AUDIT = insert(AuditEntry).inline()  # built once, written later (storage/db.py)


def audit(
    session: Session,
    *,
    actor_kind: str,
    actor: str,
    action: str,
    now: datetime,
    booking_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one line to the audit log (never personal data in `detail`).

    Written with `storage.db.later` (nothing reads the line back); a `booking_id` comes
    from a booking already flushed, which is the only way it has an id.
    """
    later(
        session,
        _AUDIT,
        {
            "at": now,
            "actor_kind": actor_kind,
            "actor": actor,
            "action": action,
            "booking_id": booking_id,
            "detail": detail or {},
        },
    )


def record_failed_event(
    session: Session, *, channel: str, event_key: str, pseudonym: str, error: str, now: datetime
) -> None:
    """Remember that an authenticated event could not be handled (no content kept)."""
    from storage.models import FailedEvent

    session.add(
        FailedEvent(
            channel=channel, event_key=event_key, pseudonym=pseudonym, error=error[:200], at=now
        )
    )


def first_processing(session: Session, *, channel: str, event_key: str, now: datetime) -> bool:
    """Record a platform event key; return False when it was recorded before (a duplicate)."""
    from sqlalchemy.exc import IntegrityError

    from storage.models import ProcessedEvent

    try:
        with session.begin_nested():
            session.add(ProcessedEvent(channel=channel, event_key=event_key, processed_at=now))
    except IntegrityError:
        return False
    return True


_PROCESSED = insert(ProcessedEvent).inline()  # built once, written later (storage/db.py)


def mark_processed(session: Session, *, channel: str, event_key: str, now: datetime) -> None:
    """Record a platform event key in this transaction.

    A key recorded before fails the transaction with IntegrityError (the unique key), so
    nothing of a duplicate stays. Written with `storage.db.later`: on PostgreSQL it goes
    with the transaction's next statement or its commit, not in a round trip of its own.
    """
    later(
        session,
        _PROCESSED,
        {"channel": channel, "event_key": event_key, "processed_at": now},
    )


def was_processed(session: Session, *, channel: str, event_key: str) -> bool:
    """Return True when this platform event key was recorded."""
    from sqlalchemy import select

    from storage.models import ProcessedEvent

    found = session.scalar(
        select(ProcessedEvent.id).where(
            ProcessedEvent.channel == channel, ProcessedEvent.event_key == event_key
        )
    )
    return found is not None
