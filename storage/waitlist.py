"""The waitlist: jobseekers who asked to be told when a place opens, first come first served."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import WaitlistEntry


def join(
    session: Session, *, office_id: int, channel: str, user_ref: str, pseudonym: str, now: datetime
) -> None:
    """Put a user on the waitlist (once)."""
    existing = session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.channel == channel,
            WaitlistEntry.user_ref == user_ref,
            WaitlistEntry.status == "waiting",
        )
    )
    if existing is None:
        session.add(
            WaitlistEntry(
                office_id=office_id,
                channel=channel,
                user_ref=user_ref,
                pseudonym=pseudonym,
                status="waiting",
                created_at=now,
            )
        )
        session.flush()


def leave(session: Session, *, channel: str, user_ref: str) -> None:
    """Take a user off the waitlist."""
    session.execute(
        update(WaitlistEntry)
        .where(
            WaitlistEntry.channel == channel,
            WaitlistEntry.user_ref == user_ref,
            WaitlistEntry.status == "waiting",
        )
        .values(status="done")
    )


def next_waiting(session: Session, office_id: int, *, after_id: int = 0) -> WaitlistEntry | None:
    """Return the first user waiting at an office after entry `after_id`, locked, or None.

    One entry at a time: a freed place is usually taken by the first one, so the rest of the
    list is neither loaded nor locked. On PostgreSQL an entry another transaction is offering
    is skipped.
    """
    query = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.office_id == office_id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.id > after_id,
        )
        .order_by(WaitlistEntry.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def mark(session: Session, entry: WaitlistEntry, status: str, now: datetime) -> None:
    """Record that an entry was offered a place, or is done."""
    entry.status = status
    if status == "offered":
        entry.offered_at = now
