"""Usage statistics (terms art. 7): what is recorded of each conversation and booking, and
the figures of a period.

Rows are keyed by random ids, never derived from a chat id, and hold no identifier, number
or free text; times are kept to the minute, days as the office's dates. Erasure and
retention never touch these tables. Functions run inside the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import UsageBooking, UsageSession, UsageStep

BOOKED = "booked"


def new_id() -> str:
    """Return a fresh random id (128 bits): it says nothing of whom it counts."""
    return secrets.token_hex(16)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _step_row(session: Session, session_id: str, state: str, now: datetime) -> Any:
    """Return the insert of one reached state (nothing when it was reached before)."""
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_(UsageStep).values(session_id=session_id, state=state, reached_at=_minute(now))
    return stmt.on_conflict_do_nothing(index_elements=["session_id", "state"])


def _insert_step(session: Session, session_id: str, state: str, now: datetime) -> None:
    # Core statements on the session's connection (no ORM object of these tables is loaded
    # in a step): a step records its usage on every message, so it should cost little.
    session.connection().execute(_step_row(session, session_id, state, now))


def start(
    session: Session,
    *,
    office_id: int,
    channel: str,
    language: str | None,
    state: str,
    now: datetime,
) -> str:
    """Start the usage record of one conversation at `state`; return its random id."""
    usage_id = new_id()
    session.add(
        UsageSession(
            id=usage_id,
            office_id=office_id,
            channel=channel,
            language=language,
            started_at=_minute(now),
            last_state=state,
            outcome="in_progress",
        )
    )
    session.flush()
    _insert_step(session, usage_id, state, now)
    return usage_id


def reach(
    session: Session,
    usage_id: str,
    *,
    state: str,
    language: str | None,
    outcome: str,
    last: bool,
    now: datetime,
) -> None:
    """Record that a conversation reached `state` (once per state), and where it stands.

    `last` is False for a state that is not where someone stops (the stop command): the
    question before it stays the last one. A booked conversation keeps its outcome.
    """
    values: dict[str, Any] = {
        "language": language,
        "outcome": case((UsageSession.outcome == BOOKED, BOOKED), else_=outcome),
    }
    if last:
        values["last_state"] = state
    where = update(UsageSession).where(UsageSession.id == usage_id).values(**values)
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: the step's insert rides along as a data-modifying CTE.
        step = _step_row(session, usage_id, state, now).cte("reached_step")
        session.connection().execute(where.add_cte(step))
        return
    _insert_step(session, usage_id, state, now)
    session.connection().execute(where)


def outcome(session: Session, usage_id: str) -> str | None:
    """Return the outcome a usage record stands at (None when there is no such record)."""
    return session.scalar(select(UsageSession.outcome).where(UsageSession.id == usage_id))


def record_booking(
    session: Session,
    *,
    office_id: int,
    session_id: str | None,
    channel: str,
    language: str | None,
    booked_on: date,
    slot_day: date,
    accommodations: list[str],
    usage_id: str,
) -> None:
    """Record a new booking under its random `usage_id` (its conversation now counts as
    booked)."""
    conn = session.connection()  # Core statements: nothing reads these rows back in a step
    conn.execute(
        insert(UsageBooking).values(
            id=usage_id,
            office_id=office_id,
            session_id=session_id,
            channel=channel,
            language=language,
            booked_on=booked_on,
            slot_day=slot_day,
            lead_days=(slot_day - booked_on).days,
            accommodations=",".join(accommodations),
            status=BOOKED,
        )
    )
    if session_id is not None:
        conn.execute(
            update(UsageSession).where(UsageSession.id == session_id).values(outcome=BOOKED)
        )


def end_booking(
    session: Session, usage_id: str | None, *, status: str, ended_by: str, ended_on: date
) -> None:
    """Record how a booking ended (cancelled, rescheduled, no_show), once."""
    if usage_id is None:
        return
    session.execute(
        update(UsageBooking)
        .where(UsageBooking.id == usage_id, UsageBooking.status == BOOKED)
        .values(status=status, ended_by=ended_by, ended_on=ended_on)
    )


@dataclass
class Figures:
    """The usage figures of one office over a period: conversations started in it, bookings
    made in it."""

    start: date
    end: date
    conversations: int = 0
    reached: Counter[str] = field(default_factory=Counter)
    reached_by_channel: dict[str, Counter[str]] = field(default_factory=dict)
    reached_by_language: dict[str, Counter[str]] = field(default_factory=dict)
    stopped_at: Counter[str] = field(default_factory=Counter)  # last step, not booked
    outcomes: Counter[str] = field(default_factory=Counter)
    bookings_per_day: dict[date, int] = field(default_factory=dict)
    bookings: int = 0
    ended: Counter[str] = field(default_factory=Counter)  # cancelled, rescheduled, no_show
    lead_days: Counter[int] = field(default_factory=Counter)
    accommodations: Counter[str] = field(default_factory=Counter)


def figures(
    session: Session, office_id: int, *, start: date, end: date, lo: datetime, hi: datetime
) -> Figures:
    """Return the figures of the days `start`..`end` (the instants `lo`..`hi` for the
    conversations, the office's dates for the bookings)."""
    found = Figures(start, end)
    started = (
        UsageSession.office_id == office_id,
        UsageSession.started_at >= lo,
        UsageSession.started_at < hi,
    )
    for outcome_, last_state, count in session.execute(
        select(UsageSession.outcome, UsageSession.last_state, func.count())
        .where(*started)
        .group_by(UsageSession.outcome, UsageSession.last_state)
    ):
        found.conversations += count
        found.outcomes[outcome_] += count
        if outcome_ != BOOKED:
            found.stopped_at[last_state] += count
    for state, channel, language, count in session.execute(
        select(UsageStep.state, UsageSession.channel, UsageSession.language, func.count())
        .join(UsageSession, UsageSession.id == UsageStep.session_id)
        .where(*started)
        .group_by(UsageStep.state, UsageSession.channel, UsageSession.language)
    ):
        found.reached[state] += count
        found.reached_by_channel.setdefault(channel, Counter())[state] += count
        found.reached_by_language.setdefault(language or "-", Counter())[state] += count
    day = start
    while day <= end:
        found.bookings_per_day[day] = 0
        day += timedelta(days=1)
    made = (
        UsageBooking.office_id == office_id,
        UsageBooking.booked_on >= start,
        UsageBooking.booked_on <= end,
    )
    for booked_on, status, lead, kinds, count in session.execute(
        select(
            UsageBooking.booked_on,
            UsageBooking.status,
            UsageBooking.lead_days,
            UsageBooking.accommodations,
            func.count(),
        )
        .where(*made)
        .group_by(
            UsageBooking.booked_on,
            UsageBooking.status,
            UsageBooking.lead_days,
            UsageBooking.accommodations,
        )
    ):
        found.bookings += count
        found.bookings_per_day[booked_on] += count
        if status != BOOKED:
            found.ended[status] += count
        found.lead_days[lead] += count
        for kind in filter(None, kinds.split(",")):
            found.accommodations[kind] += count
    return found
