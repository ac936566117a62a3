"""Record how the service is used (terms art. 7), in the transaction of the step it counts.

What each state means for the statistics lives here: which ones end an intake without a
booking, which one is not a place where people stop. It records kinds and days, never an
answer, a chat id or a pseudonym; the flow knows nothing of it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from flows.accommodations import requested_kinds
from flows.intake import INITIAL, State
from storage import usage
from storage.models import Booking, Office
from storage.models import Conversation as ConversationRow


class Scope(Protocol):
    """What recording needs of the service's scope (bot/service/conversation.py)."""

    @property
    def session(self) -> Session: ...  # noqa: D102

    @property
    def office(self) -> Office: ...  # noqa: D102

    @property
    def now(self) -> datetime: ...  # noqa: D102


OUTCOMES = {
    State.DECLINED: "declined_terms",
    State.NOT_REGISTERED: "not_eligible",
    State.NO_DEVICE: "not_eligible",
    State.CONDITIONS_UNMET: "not_eligible",
}
"""The states that end an intake without a booking (terms art. 2, 3, 12; or declined)."""

NOT_A_STOP = frozenset({State.STOPPED})
"""Reached by the stop command: where someone stopped is the question before it."""

NEW_APPLICATION = State.REVIEWING_TERMS
"""After a booking, reaching the terms again starts another application (another record);
the language question alone does not (`/language` comes back to where it was)."""


def ensure(scope: Scope, row: ConversationRow) -> str:
    """Return the conversation's usage record id, starting one at its state when it has none."""
    if row.usage_id is None:
        _start(scope, row, row.state, row.language)
    assert row.usage_id is not None
    return row.usage_id


def _start(scope: Scope, row: ConversationRow, state: str, language: str | None) -> None:
    row.usage_id = usage.start(
        scope.session,
        office_id=row.office_id,
        channel=row.channel,
        language=language,
        state=state,
        now=scope.now,
    )


def step(
    scope: Scope, row: ConversationRow, before: str, after: str, language: str | None
) -> None:
    """Record the step from `before` to `after` (nothing when the state stays)."""
    usage_id = ensure(scope, row)
    if after == before:
        return
    if after == NEW_APPLICATION and usage.outcome(scope.session, usage_id) == usage.BOOKED:
        _start(scope, row, before if before == INITIAL else after, language)
        if before != INITIAL:
            return
        usage_id = ensure(scope, row)  # started at the language question (after /restart)
    usage.reach(
        scope.session,
        usage_id,
        state=after,
        language=language,
        outcome=OUTCOMES.get(State(after), "in_progress"),
        last=after not in NOT_A_STOP,
        now=scope.now,
    )


def _tz(scope: Scope) -> ZoneInfo:
    return ZoneInfo(scope.office.timezone)


def new_id() -> str:
    """Return a fresh random id for a usage record (a booking's, stored with the booking)."""
    return usage.new_id()


def booked(
    scope: Scope, booking: Booking, *, session_id: str | None, answers: dict[str, Any]
) -> None:
    """Record a new booking: its days, lead time and the kinds of accommodation asked."""
    tz = _tz(scope)
    assert booking.usage_id is not None, "the confirmation chooses it (effects.apply_confirm)"
    usage.record_booking(
        scope.session,
        office_id=booking.office_id,
        session_id=session_id,
        channel=booking.channel,
        language=booking.language,
        booked_on=scope.now.astimezone(tz).date(),
        slot_day=booking.starts_at.astimezone(tz).date(),
        accommodations=requested_kinds(answers.get("accommodation")),
        usage_id=booking.usage_id,
    )


def ended(scope: Scope, booking: Booking, *, status: str, by: str) -> None:
    """Record how a booking ended: cancelled, rescheduled or no_show, and by whom."""
    today: date = scope.now.astimezone(_tz(scope)).date()
    usage.end_booking(scope.session, booking.usage_id, status=status, ended_by=by, ended_on=today)
