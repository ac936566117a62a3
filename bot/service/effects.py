"""Apply the effects of one flow step, each through the handler its type has in `HANDLERS`.

Runs inside the caller's transaction (and savepoint) and raises when storage refuses a place
or a booking, so the caller can tell the flow. It never steps the flow or commits. A handler
that can refuse (`apply_hold`, `apply_confirm`) does so before it writes anything: the caller
opens a savepoint only for what earlier effects of the same step wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.service import usage
from bot.service.conversation import Scope
from flows.model import (
    CancelBooking,
    ConfirmBooking,
    Effect,
    EraseMyData,
    HoldSlot,
    JoinWaitlist,
    LeaveWaitlist,
    RecordConsent,
    ReleaseHold,
)
from storage import bookings, erasure, outbox, records, reminders, waitlist
from storage.models import Booking
from storage.ports import StoredIntakePorts


@dataclass(frozen=True)
class Actor:
    """Who the effects are for."""

    channel: str
    user_ref: str
    pseudonym: str
    jobseeker_key: str | None
    usage_id: str | None = None  # the conversation's usage record (statistics)


@dataclass
class Applying:
    """What the effects of one step work with, and the places they freed."""

    scope: Scope
    ports: StoredIntakePorts
    actor: Actor
    language: str | None
    freed: list[datetime] = field(default_factory=list)
    erased: bool = False
    """The conversation itself was erased: its row is gone, only the replies are queued."""

    def holder(self) -> bookings.Holder:
        """Return the actor as the holder of a place."""
        actor = self.actor
        return bookings.Holder(actor.channel, actor.user_ref, actor.pseudonym, self.language)


def apply_consent(ctx: Applying, effect: RecordConsent) -> None:
    """Record the user's consent to a document, as it was shown to them."""
    records.record_consent(
        ctx.scope.session,
        pseudonym=ctx.actor.pseudonym,
        channel=ctx.actor.channel,
        document=effect.document,
        version=effect.version,
        text_hash=effect.text_hash,
        language=effect.language,
        now=ctx.scope.now,
    )


def apply_hold(ctx: Applying, effect: HoldSlot) -> None:
    """Hold one place of the chosen slot (raises SlotUnavailable when none is free)."""
    scope = ctx.scope
    bookings.hold(
        scope.session,
        scope.office,
        ctx.ports.calendar,
        hold_key=effect.hold_key,
        starts_at=effect.starts_at,
        expires_at=effect.expires_at,
        holder=ctx.holder(),
        now=scope.now,
    )


def apply_release(ctx: Applying, effect: ReleaseHold) -> None:
    """Give a held place back, to be offered to the waitlist."""
    released = bookings.release_hold(ctx.scope.session, effect.hold_key, ctx.scope.now)
    if released is not None:
        ctx.freed.append(released)


def apply_confirm(ctx: Applying, effect: ConfirmBooking) -> None:
    """Book the held place, schedule reminders, end a replaced booking, tell the counselors."""
    scope, actor = ctx.scope, ctx.actor
    old = _owned(ctx, effect.replaces) if effect.replaces else None
    answers = dict(effect.answers)
    if old is not None and not answers.get("registration"):  # the intake answers carry over
        answers = scope.vault.open(old.details_sealed)
    booking = bookings.confirm(
        scope.session,
        scope.office,
        ctx.ports.calendar,
        hold_key=effect.hold_key,
        reference=effect.reference,
        meeting_token=effect.meeting_token,
        meeting_url=effect.meeting_url,
        details_sealed=scope.vault.seal(answers),
        now=scope.now,
        jobseeker_key=actor.jobseeker_key,
        replacing=old,
        usage_id=usage.new_id(),  # stored with the booking, not in a second statement
    )
    reminders.schedule(scope.session, booking, scope.office, scope.now)
    usage.booked(scope, booking, session_id=actor.usage_id, answers=answers)
    kind = "booked"
    if old is not None and bookings.cancel(
        scope.session, old, reason="rescheduled", now=scope.now
    ):
        reminders.cancel_for(scope.session, old.id, scope.now)
        usage.ended(scope, old, status="rescheduled", by="jobseeker")
        ctx.freed.append(old.starts_at)
        kind = "rescheduled"
    detail: dict[str, Any] = {"reference": effect.reference, "channel": actor.channel}
    if old is not None:
        detail["replaces"] = old.reference
    records.audit(
        scope.session,
        actor_kind="jobseeker",
        actor=actor.pseudonym,
        action=kind,
        booking_id=booking.id,
        now=scope.now,
        detail=detail,
    )
    _notify_counselors(scope, kind, booking, old=old)


def apply_cancel(ctx: Applying, effect: CancelBooking) -> None:
    """Cancel the user's own booking, withdraw its reminders and tell the counselors."""
    scope = ctx.scope
    booking = _owned(ctx, effect.reference)
    if booking is None or not bookings.cancel(
        scope.session, booking, reason="jobseeker", now=scope.now
    ):
        return
    reminders.cancel_for(scope.session, booking.id, scope.now)
    usage.ended(scope, booking, status="cancelled", by="jobseeker")
    ctx.freed.append(booking.starts_at)
    records.audit(
        scope.session,
        actor_kind="jobseeker",
        actor=ctx.actor.pseudonym,
        action="cancelled",
        booking_id=booking.id,
        now=scope.now,
        detail={"reference": booking.reference},
    )
    _notify_counselors(scope, "cancelled", booking)


def apply_join_waitlist(ctx: Applying, effect: JoinWaitlist) -> None:
    """Put the user on the waitlist."""
    actor = ctx.actor
    waitlist.join(
        ctx.scope.session,
        office_id=ctx.scope.office.id,
        channel=actor.channel,
        user_ref=actor.user_ref,
        pseudonym=actor.pseudonym,
        now=ctx.scope.now,
    )


def apply_leave_waitlist(ctx: Applying, effect: LeaveWaitlist) -> None:
    """Take the user off the waitlist."""
    waitlist.leave(ctx.scope.session, channel=ctx.actor.channel, user_ref=ctx.actor.user_ref)


def apply_erase(ctx: Applying, effect: EraseMyData) -> None:
    """Erase every trace of the user of this chat (storage/erasure.py), on their request.

    Bookings ahead are cancelled (their places offered again, the counselors told); the
    office's suspension, if any, is kept (it holds only keyed hashes, and erasing oneself
    must not lift it). The receipt in the audit log carries the number the user is given.
    """
    scope, actor = ctx.scope, ctx.actor
    person = erasure.of_chat(scope.session, scope.vault, actor.channel, actor.user_ref)
    done = erasure.erase(
        scope.session,
        scope.vault,
        person,
        now=scope.now,
        requested_by="jobseeker:/mydata",
        actor_kind="jobseeker",
        receipt=effect.receipt,
        keep=frozenset({"suspensions"}),
    )
    ctx.freed += [b.starts_at for b in done.cancelled]
    ctx.erased = True


HANDLERS: Mapping[type[Any], Callable[[Applying, Any], None]] = {
    RecordConsent: apply_consent,
    HoldSlot: apply_hold,
    ReleaseHold: apply_release,
    ConfirmBooking: apply_confirm,
    CancelBooking: apply_cancel,
    JoinWaitlist: apply_join_waitlist,
    LeaveWaitlist: apply_leave_waitlist,
    EraseMyData: apply_erase,
}
"""The one handler of each member of `flows.model.Effect` (a test checks the table is whole)."""


def apply_all(ctx: Applying, effects: Iterable[Effect]) -> None:
    """Apply each effect, in order, through its handler."""
    for effect in effects:
        handler = HANDLERS.get(type(effect))
        if handler is None:
            raise TypeError(f"no handler for effect {effect!r}")
        handler(ctx, effect)


def _owned(ctx: Applying, reference: str) -> Booking | None:
    """Return the actor's own active booking with this reference."""
    for booking in bookings.active_bookings(
        ctx.scope.session,
        pseudonym=ctx.actor.pseudonym,
        jobseeker_key=ctx.actor.jobseeker_key,
        now=ctx.scope.now,
    ):
        if booking.reference == reference:
            return booking
    return None


def _notify_counselors(
    scope: Scope, kind: str, booking: Booking, *, old: Booking | None = None
) -> None:
    """Queue the counselors' notification of a booking change."""
    payload = {"kind": kind, "booking_id": booking.id}
    if old is not None:
        payload["replaces_id"] = old.id
    outbox.enqueue_later(
        scope.session,
        channel=outbox.COUNSELORS,
        recipient=scope.office.code,
        payload=payload,
        now=scope.now,
    )
