"""Messages waiting for delivery, written in the same transaction as the state they follow.

A crash after commit and before delivery resends; nothing is lost. Delivery marks a row sent
only once (conditional update), so two dispatchers never both claim it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import OutboxMessage

COUNSELORS = "counselors"
"""The outbox channel of counselor notifications (recipient: the office code)."""


def enqueue(
    session: Session, *, channel: str, recipient: str, payload: dict[str, Any], now: datetime
) -> OutboxMessage:
    """Queue a message for delivery after commit."""
    row = OutboxMessage(
        channel=channel, recipient=recipient, payload=payload, status="pending", attempts=0, created_at=now
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
    return result.rowcount == 1
