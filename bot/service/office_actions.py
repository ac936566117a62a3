"""The counselors' actions on a booking (claim, cancel, no_show, stop_service), each audited.

Runs inside the caller's transaction; a cancellation or a stop is told to the jobseeker in
their own language there too. It never opens a transaction and never acts twice on a booking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.service import conversation, usage
from bot.service.conversation import Scope
from bot.service.offers import offer_places
from flows.model import CancelledByOffice, StoppedByOffice
from storage import bookings, records, reminders, suspensions, waitlist
from storage.models import Booking

Action = Callable[[Scope, Booking, str, str], str]
"""An action: (scope, booking, counselor, reason) → "done" | "already" | "too_early"."""


def claim(scope: Scope, booking: Booking, counselor: str, reason: str) -> str:
    """Take the booking on as its counselor, unless someone already did."""
    if booking.claimed_by:
        return "already"
    booking.claimed_by = counselor
    return "done"


def no_show(scope: Scope, booking: Booking, counselor: str, reason: str) -> str:
    """Record that the jobseeker did not come, once the consultation has started."""
    if booking.status != "booked":
        return "already"
    if booking.starts_at > scope.now:
        return "too_early"
    booking.status = "no_show"
    booking.end_reason = "no_show"
    reminders.cancel_for(scope.session, booking.id, scope.now)
    usage.ended(scope, booking, status="no_show", by="office")
    return "done"


def cancel(scope: Scope, booking: Booking, counselor: str, reason: str) -> str:
    """Cancel the booking, tell the jobseeker and offer the place to the waitlist."""
    if not bookings.cancel(scope.session, booking, reason="office", now=scope.now):
        return "already"
    reminders.cancel_for(scope.session, booking.id, scope.now)
    usage.ended(scope, booking, status="cancelled", by="office")
    conversation.tell_owner(scope, booking, CancelledByOffice(booking.reference or ""))
    offer_places(scope, [booking.starts_at], skip=None)
    return "done"


def stop_service(scope: Scope, booking: Booking, counselor: str, reason: str) -> str:
    """Stop the service for this person (terms art. 12(1)): no reminders, no waiting."""
    if not suspensions.suspend(
        scope.session, booking, counselor=counselor, reason=reason, now=scope.now
    ):
        return "already"
    for later in bookings.active_bookings(
        scope.session,
        pseudonym=booking.pseudonym,
        jobseeker_key=booking.jobseeker_key,
        now=scope.now,
    ):
        reminders.cancel_for(scope.session, later.id, scope.now)
    waitlist.leave(scope.session, channel=booking.channel, user_ref=booking.user_ref)
    conversation.tell_owner(scope, booking, StoppedByOffice())
    return "done"


ACTIONS: Mapping[str, Action] = {
    "claim": claim,
    "cancel": cancel,
    "no_show": no_show,
    "stop_service": stop_service,
}


def act(scope: Scope, booking: Booking, action: str, *, counselor: str, reason: str) -> str:
    """Apply one counselor action to a booking and audit it when it was done."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    outcome = ACTIONS[action](scope, booking, counselor, reason)
    if outcome == "done":
        records.audit(
            scope.session,
            actor_kind="counselor",
            actor=counselor,
            action=action,
            booking_id=booking.id,
            now=scope.now,
            detail={"reference": booking.reference, **({"reason": reason} if reason else {})},
        )
    return outcome
