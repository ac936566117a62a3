"""Keep the calendar's promises when the office changes it: a hold the new calendar has no
place for ends at once and its holder is told; bookings inside a closure are cancelled and
their jobseekers told (with another time offered) when the office asks for it.

Runs inside the caller's transaction, after the change. It never decides what the calendar
is (`storage/offices.py` does) and never opens or commits a transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from bot.service import conversation, usage
from bot.service.conversation import Scope
from flows.intake import TABLE, State
from flows.model import CancelledByOffice, Event, HoldWithdrawn
from flows.office_calendar import OfficeCalendar
from storage import bookings, records, reminders
from storage.models import Booking

log = logging.getLogger("madoguchi.inbound")


def withdraw_holds(
    scope: Scope, cal: OfficeCalendar, start: datetime, end: datetime
) -> list[Booking]:
    """End the holds starting in [start, end) that `cal` has no place for; tell each holder.

    A closed time loses every hold; a slot with fewer places than it has taken loses its
    newest holds (bookings keep theirs). Return the holds ended, earliest first.
    """
    session = scope.session
    held: dict[datetime, list[Booking]] = defaultdict(list)
    for hold in bookings.bookings_between(session, scope.office, start, end, statuses=("held",)):
        held[hold.starts_at].append(hold)
    if not held:
        return []
    taken = bookings.slot_usage(session, scope.office, start, end)
    withdrawn: list[Booking] = []
    for at, holds in sorted(held.items()):
        places = cal.places_at(at)
        excess = len(holds) if places <= 0 else taken.get(at, 0) - places
        for hold in sorted(holds, key=lambda b: b.id, reverse=True)[: max(0, excess)]:
            if bookings.withdraw_hold(session, hold, scope.now):
                withdrawn.append(hold)
                _tell_holder(scope, hold)
    return sorted(withdrawn, key=lambda b: (b.starts_at, b.id))


def _tell_holder(scope: Scope, hold: Booking) -> None:
    """Tell the holder, in their language, that the time is gone, with the nearest free ones.

    A holder answering another question meanwhile (changing an answer) is told when they
    come back to confirm: storage refuses the withdrawn hold then.
    """
    row, conv = conversation.load(scope, hold.channel, hold.user_ref)
    if conv.data.get("hold", {}).get("key") != hold.hold_key:
        return  # the conversation moved on from this hold
    if conv.state not in TABLE or TABLE[State(conv.state)].react is None:
        return
    told = Event.happened(HoldWithdrawn(hold.starts_at))
    conversation.tell(scope, row, conv, told, conversation.jobseeker_key(scope, conv))
    log.info("held time %s withdrawn from %s", hold.starts_at.isoformat(), row.pseudonym)


def bookings_closed(
    scope: Scope, cal: OfficeCalendar, start: datetime, end: datetime
) -> list[Booking]:
    """Return the bookings starting in [start, end) at a time `cal` no longer has."""
    return [
        booking
        for booking in bookings.bookings_between(scope.session, scope.office, start, end)
        if cal.places_at(booking.starts_at) <= 0
    ]


def cancel_closed(
    scope: Scope, closed: list[Booking], *, actor_kind: str, actor: str
) -> list[Booking]:
    """Cancel bookings whose time the office closed and tell each jobseeker, in their
    language, with another time offered; return those cancelled now (not before)."""
    cancelled = []
    for booking in closed:
        if not bookings.cancel(scope.session, booking, reason="closure", now=scope.now):
            continue  # cancelled meanwhile (by the jobseeker, or a first press of the button)
        reminders.cancel_for(scope.session, booking.id, scope.now)
        usage.ended(scope, booking, status="cancelled", by="closure")
        closed_at = CancelledByOffice(booking.reference or "", closed_at=booking.starts_at)
        conversation.tell_owner(scope, booking, closed_at)
        records.audit(
            scope.session,
            actor_kind=actor_kind,
            actor=actor,
            action="cancel_closure",
            booking_id=booking.id,
            now=scope.now,
            detail={"reference": booking.reference},
        )
        cancelled.append(booking)
    return cancelled
