"""Messages waiting for delivery, written in the same transaction as the state they follow.

A crash after commit and before delivery resends; nothing is lost. Delivery marks a row sent
only once (conditional update), so two dispatchers never both claim it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.db import changed, later
from storage.models import ChannelContact, Conversation, OutboxMessage

COUNSELORS = "counselors"
"""The outbox channel of counselor notifications (recipient: the office code)."""

FORGET = "forget_recipient"
"""A payload flag: the last message to a person just erased. Once it is delivered or given
up, the row and the sender's memory of the chat (its contact row) are dropped as well,
unless the chat has started a new conversation meanwhile."""


_QUEUE = insert(OutboxMessage).returning(OutboxMessage.id)  # built once (storage/db.py)
_QUEUE_LATER = insert(OutboxMessage).inline()


def enqueue(
    session: Session, *, channel: str, recipient: str, payload: dict[str, Any], now: datetime
) -> int:
    """Queue a message for delivery after commit; return its row id.

    A Core statement on the session's connection: every step queues its replies, and
    nothing reads the row back as an ORM object in the same transaction.
    """
    inserted = session.connection().execute(_QUEUE, _row(channel, recipient, payload, now))
    return int(inserted.scalar_one())


def _row(channel: str, recipient: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "channel": channel,
        "recipient": recipient,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }


def enqueue_later(
    session: Session, *, channel: str, recipient: str, payload: dict[str, Any], now: datetime
) -> None:
    """Queue a message like `enqueue`, without its row id: written with `storage.db.later`
    (a step's replies and counselor notices: nothing needs the id)."""
    later(session, _QUEUE_LATER, _row(channel, recipient, payload, now))


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
    if changed(result) != 1:
        return False
    _forget_if_last(session, message_id)
    return True


def claim_batch(
    session: Session,
    *,
    channel: str,
    now: datetime,
    lease: timedelta,
    limit: int = 200,
    owner: str | None = None,
    reclaim_after: timedelta | None = None,
) -> list[OutboxMessage]:
    """Lease up to `limit` deliverable messages of a channel: each recipient's oldest.

    Only the oldest pending message of each recipient is considered, whatever the others
    have queued, so one chat's backlog takes one place in the queue and never hides another
    chat's reply; recipients are served by the age of that message. It is deliverable when
    not waiting for a retry and not leased, or leased by a sender that stopped: its lease ran
    out, or it is `owner`'s own and was not renewed for `reclaim_after` (this sender's
    previous run, which crashed; a live sender renews its leases well within that).
    """
    heads = (
        select(func.min(OutboxMessage.id))
        .where(OutboxMessage.status == "pending", OutboxMessage.channel == channel)
        .group_by(OutboxMessage.recipient)
    )
    free = [OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now]
    if owner is not None and reclaim_after is not None:
        # claimed_until - lease is when the lease was last taken or renewed
        free.append(
            and_(
                OutboxMessage.claimed_by == owner,
                OutboxMessage.claimed_until < now + lease - reclaim_after,
            )
        )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.id.in_(heads),
            or_(*free),
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    chosen = list(session.scalars(query))
    for row in chosen:
        row.claimed_until = now + lease
        row.claimed_by = owner
    session.flush()
    return chosen


def _set_leases(session: Session, message_ids: list[int], owner: str | None, **values: Any) -> int:
    """Change the leases `owner` holds on these pending messages; return how many."""
    if not message_ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == "pending",
            OutboxMessage.claimed_until.is_not(None),
            OutboxMessage.claimed_by == owner
            if owner is not None
            else OutboxMessage.claimed_by.is_(None),
        )
        .values(**values)
    )
    return changed(result)


def renew(
    session: Session, message_ids: list[int], *, owner: str | None, now: datetime, lease: timedelta
) -> int:
    """Extend the leases `owner` holds on these messages (work still in progress)."""
    return _set_leases(session, message_ids, owner, claimed_until=now + lease)


def give_back(session: Session, message_ids: list[int], *, owner: str) -> int:
    """End `owner`'s leases on these messages (a stopping sender that made no call for
    them): any sender may take them at once."""
    return _set_leases(session, message_ids, owner, claimed_until=None, claimed_by=None)


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


def amend_plan(session: Session, message_id: int, changes: dict[str, Any]) -> None:
    """Change part of a stored plan that proved impossible (e.g. a refused reply token), so
    an attempt that resumes it does not try that again."""
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    row.plan_context = {**(row.plan_context or {}), **changes}  # a new dict: JSON is saved


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
            claimed_by=None,
            last_error=error,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    _forget_if_last(session, message_id)


def _forget_if_last(session: Session, message_id: int) -> None:
    """Drop a finished message flagged `FORGET`, and its chat's contact row if the chat has
    no conversation (a new one keeps what its sender remembers)."""
    row = session.get(OutboxMessage, message_id)
    if row is None or not row.payload.get(FORGET):
        return
    channel, recipient = row.channel, row.recipient
    session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
    talking = session.scalar(
        select(Conversation.id).where(
            Conversation.channel == channel, Conversation.user_ref == recipient
        )
    )
    if talking is None:
        session.execute(
            delete(ChannelContact).where(
                ChannelContact.channel == channel, ChannelContact.user_ref == recipient
            )
        )


def retry_later(session: Session, message_id: int, at: datetime, error: str) -> None:
    """Give a leased message back, to be tried again from `at`."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            claimed_until=None,
            claimed_by=None,
            next_attempt_at=at,
            last_error=error[:200],
            attempts=OutboxMessage.attempts + 1,
        )
    )
