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

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import later
from storage.models import UsageBooking, UsageSession, UsageStep

BOOKED = "booked"


def new_id() -> str:
    """Return a fresh random id (128 bits): it says nothing of whom it counts."""
    return secrets.token_hex(16)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


# Core statements on the session's connection, built once (no ORM object of these tables is
# loaded in a step): a step records its usage on every message, so it should cost little.
_STEP = {  # one reached state, once (nothing when it was reached before)
    dialect: module.insert(UsageStep)
    .values(session_id=bindparam("p_id"), state=bindparam("p_state"), reached_at=bindparam("p_at"))
    .on_conflict_do_nothing(index_elements=["session_id", "state"])
    .inline()
    for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
_WHERE = {  # where the conversation stands; `last`: the state is where someone stopped
    last: update(UsageSession)
    .where(UsageSession.id == bindparam("p_id"))
    .values(
        language=bindparam("p_language"),
        outcome=case((UsageSession.outcome == BOOKED, BOOKED), else_=bindparam("p_outcome")),
        **({"last_state": bindparam("p_state")} if last else {}),
    )
    for last in (False, True)
}
_STEP_AND_WHERE = {  # PostgreSQL: one round trip, the step riding along as a CTE
    last: _WHERE[last].add_cte(_STEP["postgresql"].cte("reached_step")) for last in (False, True)
}


_BOOKING_COLUMNS = (
    "id",
    "office_id",
    "session_id",
    "channel",
    "language",
    "booked_on",
    "slot_day",
    "lead_days",
    "accommodations",
    "status",
)
_BOOKING = insert(UsageBooking).values({c: bindparam(f"b_{c}") for c in _BOOKING_COLUMNS}).inline()
_BOOKED_SESSION = (
    update(UsageSession).where(UsageSession.id == bindparam("b_session_id")).values(outcome=BOOKED)
)
_BOOKING_AND_SESSION = _BOOKING.add_cte(_BOOKED_SESSION.cte("booked_session"))  # PostgreSQL


def _insert_step(session: Session, session_id: str, state: str, now: datetime) -> None:
    statement = _STEP[session.connection().dialect.name]
    later(session, statement, {"p_id": session_id, "p_state": state, "p_at": _minute(now)})


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
    conn = session.connection()
    params = {
        "p_id": usage_id,
        "p_state": state,
        "p_at": _minute(now),
        "p_language": language,
        "p_outcome": outcome,
    }
    if conn.dialect.name == "postgresql":
        later(session, _STEP_AND_WHERE[last], params)
        return
    conn.execute(_STEP["sqlite"], params)
    conn.execute(_WHERE[last], params)


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
    row = {
        "b_id": usage_id,
        "b_office_id": office_id,
        "b_session_id": session_id,
        "b_channel": channel,
        "b_language": language,
        "b_booked_on": booked_on,
        "b_slot_day": slot_day,
        "b_lead_days": (slot_day - booked_on).days,
        "b_accommodations": ",".join(accommodations),
        "b_status": BOOKED,
    }
    if session_id is not None and conn.dialect.name == "postgresql":
        later(session, _BOOKING_AND_SESSION, row)  # one statement, sent with the step's others
        return
    conn.execute(_BOOKING, row)
    if session_id is not None:
        conn.execute(_BOOKED_SESSION, row)


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
