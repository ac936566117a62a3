"""The inbox: verified webhook bodies stored before the 200, applied after it.

A channel that must answer faster than it can apply an event (LINE: 2 s) stores the body in
one small insert, leased to the receiving process under its stable name, then applies it in
the background, renewing the short lease meanwhile. That process takes its own rows back
when it restarts; a row whose lease ran out (its process died for good) is taken by any
process. Never store a body that was not verified, and never read one into a log.

A body holds personal data (user ids, texts): it is stored sealed (`seal_body`) and kept
only until applied or given up; `finish` then drops it, leaving the row's bookkeeping.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.models import InboundEvent
from storage.vault import Vault

MAX_ATTEMPTS = 5
"""A row taken over more often than this without being applied is given up (and recorded
as failed by the caller)."""


def seal_body(vault: Vault, body: str) -> str:
    """Return a body sealed for the time it waits in the inbox."""
    return vault.seal(body)


def open_body(vault: Vault, stored: str) -> str:
    """Return a stored body: sealed, or (left by an earlier version) the JSON in the clear."""
    if stored.lstrip().startswith("{"):
        return stored
    body = vault.open(stored)
    if not isinstance(body, str):
        raise ValueError("a sealed inbox body is not text")
    return body


def store_many(
    session: Session,
    *,
    channel: str,
    bodies: list[str],
    now: datetime,
    lease: timedelta,
    owner: str,
) -> list[int]:
    """Keep verified bodies, leased to `owner`; return their ids in the same order."""
    if not bodies:
        return []
    rows = [
        {
            "channel": channel,
            "body": body,
            "received_at": now,
            "claimed_until": now + lease,
            "claimed_by": owner,
            "attempts": 0,
        }
        for body in bodies
    ]
    query = insert(InboundEvent).returning(InboundEvent.id, sort_by_parameter_order=True)
    return [int(row_id) for row_id in session.scalars(query, rows)]


def store(
    session: Session, *, channel: str, body: str, now: datetime, lease: timedelta, owner: str
) -> int:
    """Keep one verified body, leased to `owner`; return its id."""
    return store_many(session, channel=channel, bodies=[body], now=now, lease=lease, owner=owner)[
        0
    ]


def claim_abandoned(
    session: Session,
    *,
    channel: str,
    now: datetime,
    lease: timedelta,
    owner: str,
    limit: int = 100,
) -> list[tuple[int, int]]:
    """Lease to `owner` the unprocessed rows whose lease ran out (or never was), oldest
    first; return each row's id and how often it has now been taken over."""
    query = (
        select(InboundEvent.id, InboundEvent.attempts)
        .where(
            InboundEvent.channel == channel,
            InboundEvent.processed_at.is_(None),
            or_(InboundEvent.claimed_until.is_(None), InboundEvent.claimed_until < now),
        )
        .order_by(InboundEvent.id)
        .limit(limit)
    )
    return _take(session, query, now=now, lease=lease, owner=owner)


def reclaim_own(
    session: Session,
    *,
    channel: str,
    now: datetime,
    lease: timedelta,
    owner: str,
    keep: Collection[int] = (),
    limit: int = 1000,
) -> list[tuple[int, int]]:
    """Take back, at once, the unprocessed rows still leased to `owner` by its previous
    run (a restart under the same name), except those in `keep` (this run's own); return
    each row's id and how often it has now been taken over."""
    query = (
        select(InboundEvent.id, InboundEvent.attempts)
        .where(
            InboundEvent.channel == channel,
            InboundEvent.processed_at.is_(None),
            InboundEvent.claimed_by == owner,
        )
        .order_by(InboundEvent.id)
        .limit(limit)
    )
    if keep:
        query = query.where(InboundEvent.id.not_in(list(keep)))
    return _take(session, query, now=now, lease=lease, owner=owner)


def _take(
    session: Session,
    query: Select,  # type: ignore[type-arg,unused-ignore]  # 2.0: Select[tuple]; 2.1: Select[*Ts]
    *,
    now: datetime,
    lease: timedelta,
    owner: str,
) -> list[tuple[int, int]]:
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [(int(row_id), int(attempts) + 1) for row_id, attempts in session.execute(query)]
    if rows:
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_([row_id for row_id, _ in rows]))
            .values(
                claimed_until=now + lease, claimed_by=owner, attempts=InboundEvent.attempts + 1
            )
        )
    return rows


def renew(
    session: Session, ids: Collection[int], *, now: datetime, lease: timedelta, owner: str
) -> int:
    """Extend the leases `owner` still holds on these rows; return how many were extended."""
    renewed = 0
    listed = sorted(ids)
    for start in range(0, len(listed), 500):
        result = session.execute(
            update(InboundEvent)
            .where(
                InboundEvent.id.in_(listed[start : start + 500]),
                InboundEvent.claimed_by == owner,
                InboundEvent.processed_at.is_(None),
            )
            .values(claimed_until=now + lease)
        )
        renewed += int(getattr(result, "rowcount", 0) or 0)
    return renewed


def load(session: Session, row_id: int) -> tuple[str, datetime] | None:
    """Return the body and receive time of an unprocessed row (None once processed)."""
    row = session.get(InboundEvent, row_id)
    if row is None or row.processed_at is not None:
        return None
    return row.body, row.received_at


def finish(session: Session, row_id: int, now: datetime) -> None:
    """Mark a row done with (applied, or given up and recorded) and drop its body; it is
    never taken again."""
    session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == row_id)
        .values(processed_at=now, claimed_until=None, body="")
    )


def unprocessed_count(session: Session, *, channel: str) -> int:
    """Return how many rows of a channel wait to be applied."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboundEvent)
            .where(InboundEvent.channel == channel, InboundEvent.processed_at.is_(None))
        )
        or 0
    )
