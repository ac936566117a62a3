"""Messages waiting for delivery, written in the same transaction as the state they follow.

A crash after commit and before delivery resends; nothing is lost. Delivery marks a row sent
only once (conditional update), so two dispatchers never both claim it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.db import changed
from storage.models import OutboxMessage

COUNSELORS = "counselors"
"""The outbox channel of counselor notifications (recipient: the office code)."""


def enqueue(
    session: Session, *, channel: str, recipient: str, payload: dict[str, Any], now: datetime
) -> OutboxMessage:
    """Queue a message for delivery after commit."""
    row = OutboxMessage(
        channel=channel,
        recipient=recipient,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=now,
    )
    session.add(row)
    return row


def pending(
    session: Session, *, channel: str, recipient: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Return pending messages of a channel (optionally one recipient), oldest first."""
    query = select(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.channel == channel
    )
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))


def mark_sent(session: Session, message_id: int, now: datetime) -> bool:
    """Mark a pending message sent; return False when another dispatcher already did so."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        .values(status="sent", sent_at=now, attempts=OutboxMessage.attempts + 1)
    )
    return changed(result) == 1


def claim_batch(
    session: Session, *, channel: str, now: datetime, lease: timedelta, limit: int = 200
) -> list[OutboxMessage]:
    """Lease up to `limit` deliverable messages of a channel, oldest first.

    A message is deliverable when pending, not leased (or its lease ran out after a crash)
    and not waiting for a retry. Only the oldest pending message of each recipient is
    leased, so one user's messages go out in order.
    """
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.channel == channel,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit * 4)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    heads = _oldest_pending_ids(session, channel, {row.recipient for row in rows})
    chosen = [
        row
        for row in rows
        if row.id == heads.get(row.recipient)
        and (row.next_attempt_at is None or row.next_attempt_at <= now)
    ][:limit]
    for row in chosen:
        row.claimed_until = now + lease
    session.flush()
    return chosen


def _oldest_pending_ids(session: Session, channel: str, recipients: set[str]) -> dict[str, int]:
    if not recipients:
        return {}
    rows = session.execute(
        select(OutboxMessage.recipient, func.min(OutboxMessage.id))
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.channel == channel,
            OutboxMessage.recipient.in_(recipients),
        )
        .group_by(OutboxMessage.recipient)
    ).all()
    return {recipient: first for recipient, first in rows}


def start_plan(session: Session, message_id: int, context: dict[str, Any]) -> dict[str, Any]:
    """Return the context a delivery was first planned with, storing `context` if none.

    A sender that resumes after a crash must replay the same plan, so what the plan
    depended on (e.g. which message held the keyboard) is fixed at the first attempt.
    """
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    if row.plan_context is None:
        row.plan_context = context
    return dict(row.plan_context)


def record_part(session: Session, message_id: int) -> None:
    """Note that one more part of a message was delivered."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(parts_sent=OutboxMessage.parts_sent + 1)
    )


def finish(
    session: Session,
    message_id: int,
    now: datetime,
    *,
    status: str = "sent",
    error: str | None = None,
) -> None:
    """Mark a leased message delivered (or failed for good)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=status,
            sent_at=now,
            claimed_until=None,
            last_error=error,
            attempts=OutboxMessage.attempts + 1,
        )
    )


def retry_later(session: Session, message_id: int, at: datetime, error: str) -> None:
    """Give a leased message back, to be tried again from `at`."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            claimed_until=None,
            next_attempt_at=at,
            last_error=error[:200],
            attempts=OutboxMessage.attempts + 1,
        )
    )
