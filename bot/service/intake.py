"""Handle one inbound event, office action or hold sweep: one transaction each, opened here.

Load the conversation locked → `flows` step → apply the effects → save + outbox, committed
together or not at all. It never renders text and never talks to a messenger.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import metrics
from bot.service import conversation, office_actions, terms_changes, typed_answers
from bot.service.conversation import Scope
from bot.service.effects import Actor, Applying, apply_all
from bot.service.offers import offer_places
from bot.settings import STEPS_AT_ONCE
from flows.machine import step
from flows.model import BookingRefused, Event, HoldWithdrawn, Outcome, SlotTaken
from flows.model import Conversation as FlowConversation
from storage import bookings, conversations, erasure, offices, records
from storage.db import Database
from storage.models import Booking
from storage.models import Conversation as ConversationRow
from storage.ports import StoredIntakePorts
from storage.suspensions import ServiceStopped
from storage.vault import Vault

log = logging.getLogger("madoguchi.inbound")

Clock = Callable[[], datetime]

REFUSALS = (bookings.SlotUnavailable, bookings.BookingLimitReached, ServiceStopped)
"""What storage may refuse while applying effects; the flow is told and steps again."""


@dataclass(frozen=True)
class ActionResult:
    """What a counselor's action on a booking did."""

    outcome: str  # done | already | not_found | too_early
    booking_id: int | None = None


@dataclass(frozen=True)
class ErasureResult:
    """What a counselor's request to erase a booking's person did."""

    outcome: str  # done | already | not_found
    receipt: str = ""
    cancelled: int = 0


@dataclass(frozen=True)
class Handled:
    """What handling an event did."""

    duplicate: bool
    state: str


@dataclass
class Intake:
    """Everything `handle_event` needs: the database, the vault, the clock, the office.

    At most `steps_at_once` events are handled at the same time in this process; further
    ones wait their turn. A step is mostly Python, which runs on one core at a time whatever
    the threads: forty steps at once (a webhook's thread pool) finish no sooner than two,
    but every one of them later, and the row locks a step holds are held as long. Two lets
    one step compute while another waits for the database.
    """

    db: Database
    vault: Vault
    clock: Clock
    office_code: str = offices.DEFAULT_OFFICE
    steps_at_once: int = STEPS_AT_ONCE

    def __post_init__(self) -> None:
        if self.steps_at_once < 1:
            raise ValueError("steps_at_once must be at least 1")
        self._turns = threading.BoundedSemaphore(self.steps_at_once)

    def handle_event(
        self,
        channel: str,
        user_ref: str,
        event: Event,
        *,
        event_key: str | None = None,
        delivery: dict[str, Any] | None = None,
    ) -> Handled:
        """Apply one event of one user in one transaction; retry on a lost race.

        `delivery` is channel data the sender needs with the replies (e.g. which message
        to take the old buttons off); it is stored in the same outbox row.
        """
        started = time.perf_counter()
        with self._turns:
            for attempt in range(3):
                try:
                    with self.db.transaction() as session:
                        office, row = conversations.office_and_locked(
                            session,
                            office_code=self.office_code,
                            channel=channel,
                            user_ref=user_ref,
                        )
                        scope = Scope(session, office, self.vault, self.clock())
                        handled = self._handle(
                            scope, channel, user_ref, event, event_key, delivery, row
                        )
                    metrics.step_took(channel, time.perf_counter() - started)
                    return handled
                except IntegrityError:
                    if event_key is not None and self._already_processed(channel, event_key):
                        return Handled(duplicate=True, state="")
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def sweep_holds(self) -> int:
        """Release expired holds and offer the freed places to waiting users (worker job)."""
        with self.db.transaction() as session:
            scope = self._scope(session, self.clock())
            swept = bookings.sweep_expired_holds(session, scope.now)
            freed = [at for office_id, at in swept if office_id == scope.office.id]
            offer_places(scope, freed, skip=None)
            return len(freed)

    def office_action(
        self,
        reference: str,
        action: str,
        *,
        counselor: str,
        reason: str = "",
        event_key: str | None = None,
    ) -> ActionResult:
        """Apply a counselor's action (claim, cancel, no_show, stop_service) to a booking, once.

        The jobseeker is told of a cancellation or a stop in their own language, in the same
        transaction; every action is audited. A repeated action (a double click, a Slack
        retry) answers "already".
        """
        with self.db.transaction() as session:
            now = self.clock()
            found = _counselor_request(session, reference, event_key, now)
            if isinstance(found, str):
                return ActionResult(found)
            booking = found
            scope = Scope(session, offices.office_of(session, booking), self.vault, now)
            outcome = office_actions.act(
                scope, booking, action, counselor=counselor, reason=reason
            )
            return ActionResult(outcome, booking.id)

    def erase_person(
        self, reference: str, *, counselor: str, event_key: str | None = None
    ) -> ErasureResult:
        """Erase the person of a booking at a counselor's request, once (storage/erasure.py).

        Their bookings ahead are cancelled (the counselors told, the places offered again);
        the receipt in the audit log names the counselor, and its number is returned.
        """
        with self.db.transaction() as session:
            now = self.clock()
            found = _counselor_request(session, reference, event_key, now)
            if isinstance(found, str):
                return ErasureResult(found)
            booking = found
            person = erasure.find(session, self.vault, reference)
            if person is None:  # erased before: the booking no longer names anyone
                return ErasureResult("already")
            scope = Scope(session, offices.office_of(session, booking), self.vault, now)
            done = erasure.erase(
                session,
                self.vault,
                person,
                now=now,
                requested_by=counselor,
                actor_kind="counselor",
            )
            offer_places(scope, [b.starts_at for b in done.cancelled], skip=None)
            return ErasureResult("done", done.receipt, len(done.cancelled))

    def _scope(self, session: Session, now: datetime) -> Scope:
        """Return the scope of one transaction for this intake's office."""
        return Scope(session, offices.get_office(session, self.office_code), self.vault, now)

    def _already_processed(self, channel: str, event_key: str) -> bool:
        with self.db.transaction() as session:
            return records.was_processed(session, channel=channel, event_key=event_key)

    def _handle(
        self,
        scope: Scope,
        channel: str,
        user_ref: str,
        event: Event,
        event_key: str | None,
        delivery: dict[str, Any] | None,
        locked: ConversationRow | None,
    ) -> Handled:
        if event_key is not None:  # a duplicate fails the transaction: nothing of it stays
            records.mark_processed(
                scope.session, channel=channel, event_key=event_key, now=scope.now
            )
        row, conv = conversation.load(scope, channel, user_ref, locked)
        pseudonym = row.pseudonym
        outcome, freed, erased = _step_and_apply(scope, row, conv, event)
        if erased:  # the conversation is gone; the last replies still reach the user
            conversation.queue_last(scope, channel, user_ref, outcome, delivery)
        else:
            key = conversation.jobseeker_key(scope, outcome.conversation)
            outcome = terms_changes.on_return(scope, row, outcome, key)
            conversation.save(scope, row, outcome, delivery)
        offer_places(scope, freed, skip=(channel, user_ref))
        state = str(outcome.conversation.state)
        log.debug("%s %s: %s -> %s", channel, pseudonym, conv.state, state)
        return Handled(duplicate=False, state=state)


def _counselor_request(
    session: Session, reference: str, event_key: str | None, now: datetime
) -> Booking | str:
    """Return the booking a counselor's request names, or "already" for a repeated Slack
    delivery, "not_found" for no such booking."""
    if event_key is not None and not records.first_processing(
        session, channel="slack", event_key=event_key, now=now
    ):
        return "already"
    booking = bookings.by_reference(session, reference)
    return "not_found" if booking is None else booking


def _step_and_apply(
    scope: Scope, row: ConversationRow, conv: FlowConversation, event: Event
) -> tuple[Outcome, list[datetime], bool]:
    """Step the flow and apply its effects; when storage refuses, tell the flow and step again.

    Return the outcome, the places freed (to offer to the waitlist) and whether the
    conversation itself was erased.
    """
    actor = Actor(
        row.channel,
        row.user_ref,
        row.pseudonym,
        conversation.jobseeker_key(scope, conv),
        usage_id=row.usage_id,
    )
    ports = conversation.ports_for(scope, row, actor.jobseeker_key)
    outcome = step(conv, typed_answers.resolve(conv, event), ports)
    try:
        # A handler refuses before it writes anything (effects.py), so only an earlier
        # effect of the same step can leave something to undo.
        applied = _apply(scope, ports, actor, outcome, undoable=len(outcome.effects) > 1)
    except REFUSALS as refused:
        ports.forget_availability()
        outcome = step(conv, Event.happened(_told(refused, row.pseudonym)), ports)
        applied = _apply(scope, ports, actor, outcome, undoable=False)
    return outcome, applied.freed + ports.freed, applied.erased


def _apply(
    scope: Scope, ports: StoredIntakePorts, actor: Actor, outcome: Outcome, *, undoable: bool
) -> Applying:
    """Apply an outcome's effects; return what they did (places freed...).

    `undoable`: in a savepoint, so that a refusal leaves nothing of the effects before it
    behind (a round trip each way on PostgreSQL, so only when there are such effects). The
    answer to a refusal needs none: if it fails, the whole transaction does.
    """
    applying = Applying(scope, ports, actor, outcome.conversation.language)
    with scope.session.begin_nested() if undoable else contextlib.nullcontext():
        apply_all(applying, outcome.effects)
    return applying


def _told(refused: Exception, pseudonym: str) -> SlotTaken | HoldWithdrawn | BookingRefused:
    """Return what the flow is told when storage refused its effects."""
    if isinstance(refused, bookings.HoldWithdrawnError):
        log.info("held time withdrawn for %s at %s", pseudonym, refused.starts_at.isoformat())
        return HoldWithdrawn(refused.starts_at)
    if isinstance(refused, bookings.SlotUnavailable):
        log.info("slot taken for %s at %s", pseudonym, refused.starts_at.isoformat())
        return SlotTaken(refused.starts_at)
    if isinstance(refused, ServiceStopped):
        return BookingRefused("service_stopped")
    log.info("booking limit reached for %s", pseudonym)
    return BookingRefused("limit")
