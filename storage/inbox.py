"""The inbox: verified webhook bodies stored before the 200, applied after it.

A channel that must answer faster than it can apply an event (LINE: 2 s) stores the body in
one small insert, leased to the receiving process, then applies it in the background. A row
whose lease ran out unprocessed (its process died) is taken by any process. Never store a
body that was not verified, and never read one into a log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from storage.models import InboundEvent


def store_many(
    session: Session, *, channel: str, bodies: list[str], now: datetime, lease: timedelta
) -> list[int]:
    """Keep verified bodies, leased to the caller; return their ids in the same order."""
    if not bodies:
        return []
    rows = [
        {
            "channel": channel,
            "body": body,
            "received_at": now,
            "claimed_until": now + lease,
            "attempts": 0,
        }
        for body in bodies
    ]
    query = insert(InboundEvent).returning(InboundEvent.id, sort_by_parameter_order=True)
    return [int(row_id) for row_id in session.scalars(query, rows)]


def store(session: Session, *, channel: str, body: str, now: datetime, lease: timedelta) -> int:
    """Keep one verified body, leased to the caller; return its id."""
    return store_many(session, channel=channel, bodies=[body], now=now, lease=lease)[0]


MAX_ATTEMPTS = 5
"""A row taken over this often without being applied stays as it is, for an operator."""


def claim_abandoned(
    session: Session, *, channel: str, now: datetime, lease: timedelta, limit: int = 100
) -> list[int]:
    """Lease unprocessed rows whose lease ran out (or never was), oldest first."""
    query = (
        select(InboundEvent.id)
        .where(
            InboundEvent.channel == channel,
            InboundEvent.processed_at.is_(None),
            InboundEvent.attempts < MAX_ATTEMPTS,
            or_(InboundEvent.claimed_until.is_(None), InboundEvent.claimed_until < now),
        )
        .order_by(InboundEvent.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(ids))
            .values(claimed_until=now + lease, attempts=InboundEvent.attempts + 1)
        )
    return ids


def load(session: Session, row_id: int) -> tuple[str, datetime] | None:
    """Return the body and receive time of an unprocessed row (None once processed)."""
    row = session.get(InboundEvent, row_id)
    if row is None or row.processed_at is not None:
        return None
    return row.body, row.received_at


def finish(session: Session, row_id: int, now: datetime) -> None:
    """Mark a row applied; it is never taken again."""
    session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == row_id)
        .values(processed_at=now, claimed_until=None)
    )


def unprocessed_count(session: Session, *, channel: str) -> int:
    """Return how many rows of a channel wait to be applied."""
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(InboundEvent)
            .where(InboundEvent.channel == channel, InboundEvent.processed_at.is_(None))
        )
        or 0
    )
