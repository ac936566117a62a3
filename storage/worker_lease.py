"""The scheduler's lease: exactly one worker per database, and its heartbeat.

A worker takes the lease at start and renews its heartbeat while it runs. Another worker
finds the lease held and refuses to start, unless the holder went silent for longer than
`LEASE_SECONDS` (it died without letting go), is this very process name and id (a
restart of a container whose process is pid 1 again), or is known to be gone (the caller
says so: a process of the same name on this host whose id no longer runs, e.g. killed and
restarted by its process manager). A clean stop lets go at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import changed
from storage.models import WorkerLease

SCHEDULER = "scheduler"
HEARTBEAT_SECONDS = 10
LEASE_SECONDS = 60  # a worker silent for longer is dead (and `/healthz` says unhealthy)


@dataclass(frozen=True)
class Held:
    """The lease is held by another live worker."""

    holder: str
    heartbeat_at: datetime


def acquire(
    session: Session, holder: str, now: datetime, gone: Callable[[str], bool] = lambda _: False
) -> Held | None:
    """Take the lease for `holder`; return who holds it instead when it is not free.

    `gone(other)` says whether the other holder is known to have died (then its lease is
    taken at once instead of after `LEASE_SECONDS` of silence)."""
    row = session.execute(
        select(WorkerLease).where(WorkerLease.name == SCHEDULER).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    WorkerLease(name=SCHEDULER, holder=holder, acquired_at=now, heartbeat_at=now)
                )
        except IntegrityError:  # another worker inserted it at the same moment
            other = session.execute(select(WorkerLease).where(WorkerLease.name == SCHEDULER))
            taken = other.scalar_one()
            return Held(taken.holder, taken.heartbeat_at)
        return None
    fresh = now - row.heartbeat_at <= timedelta(seconds=LEASE_SECONDS)
    if row.holder != holder and fresh and not gone(row.holder):
        return Held(row.holder, row.heartbeat_at)
    row.holder, row.acquired_at, row.heartbeat_at = holder, now, now
    return None


def beat(session: Session, holder: str, now: datetime) -> bool:
    """Renew `holder`'s heartbeat; False when it no longer holds the lease."""
    result = session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == SCHEDULER, WorkerLease.holder == holder)
        .values(heartbeat_at=now)
    )
    return changed(result) == 1


def release(session: Session, holder: str) -> None:
    """Let go of the lease (a clean stop), so the next worker starts at once."""
    session.execute(
        delete(WorkerLease).where(WorkerLease.name == SCHEDULER, WorkerLease.holder == holder)
    )


def last_heartbeat(session: Session) -> datetime | None:
    """Return when the worker last said it was alive (None: no worker holds the lease)."""
    return session.execute(
        select(WorkerLease.heartbeat_at).where(WorkerLease.name == SCHEDULER)
    ).scalar_one_or_none()
