"""Apply one inbound event: one transaction for the new state, its effects and its replies.

This is where the pure flow meets the database: the flow decides, this module loads the
conversation locked, applies the effects (consent, hold, booking, cancellation, waitlist,
reminders, counselor notification, audit) and queues the replies in the outbox, all
committed together or not at all. A place that opens is offered to the first waiting user
in the same transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows.codec import reply_to_json
from flows.machine import step
from flows.model import (
    BookingInfo,
    BookingRefused,
    CancelledByOffice,
    CancelBooking,
    ConfirmBooking,
    Event,
    HoldSlot,
    JoinWaitlist,
    LeaveWaitlist,
    OfficeProfile,
    Outcome,
    PlaceOffered,
    RecordConsent,
    ReleaseHold,
    SlotTaken,
    StoppedByOffice,
    SystemEvent,
)
from flows.model import Conversation as FlowConversation
from flows.office_calendar import OfficeCalendar
from storage import (
    bookings,
    conversations,
    offices,
    outbox,
    records,
    reminders,
    suspensions,
    waitlist,
)
from storage.db import Database
from storage.models import Booking, Office, ProcessedEvent
from storage.models import Conversation as ConversationRow
from storage.vault import Vault

log = logging.getLogger("madoguchi.inbound")

Clock = Callable[[], datetime]


class StoredIntakePorts:
    """The flow's read side (`flows.model.IntakePorts`), answered from the database."""

    def __init__(
        self, session: Session, office: Office, now: datetime, *, pseudonym: str, jobseeker_key: str | None
    ) -> None:
        self._session = session
        self._office = office
        self._now = now
        self._pseudonym = pseudonym
        self._jobseeker_key = jobseeker_key
        self._calendar: OfficeCalendar | None = None
        self._free: list[tuple[datetime, int]] | None = None
        self.freed: list[datetime] = []

    def now(self) -> datetime:
        """Return the time of the event being handled."""
        return self._now

    def office(self) -> OfficeProfile:
        """Return the office of this conversation."""
        return offices.profile(self._office)

    @property
    def calendar(self) -> OfficeCalendar:
        """Return the office calendar (read once per event)."""
        if self._calendar is None:
            self._calendar = offices.calendar(self._session, self._office)
        return self._calendar

    def _free_slots(self) -> list[tuple[datetime, int]]:
        if self._free is None:
            swept = bookings.sweep_expired_holds(self._session, self._now)
            self.freed += [at for office_id, at in swept if office_id == self._office.id]
            self._free = bookings.free_slots(self._session, self._office, self.calendar, self._now)
        return self._free

    def open_days(self, *, limit: int) -> list[date]:
        """Return the next office-local days with a free place."""
        days: list[date] = []
        for at, _ in self._free_slots():
            day = at.astimezone(self.calendar.tz).date()
            if day not in days:
                days.append(day)
        return days[:limit]

    def free_times(self, day: date) -> list[datetime]:
        """Return the free slot starts of one office-local day."""
        return [at for at, _ in self._free_slots() if at.astimezone(self.calendar.tz).date() == day]

    def nearest_free(self, around: datetime, *, limit: int) -> list[datetime]:
        """Return the free slot starts closest in time to `around`, in time order."""
        nearest = sorted(self._free_slots(), key=lambda item: abs(item[0] - around))[:limit]
        return sorted(at for at, _ in nearest)

    def new_secret(self) -> str:
        """Return a fresh 128-bit URL-safe token."""
        return secrets.token_urlsafe(16)

    def new_reference(self) -> str:
        """Return an unused booking reference."""
        return bookings.new_reference(self._session)

    def _active(self) -> list[Booking]:
        return bookings.active_bookings(
            self._session, pseudonym=self._pseudonym, jobseeker_key=self._jobseeker_key, now=self._now
        )

    def active_bookings(self) -> list[BookingInfo]:
        """Return this jobseeker's booked consultations that have not started."""
        return [
            BookingInfo(b.reference or "", b.starts_at, b.meeting_url or "") for b in self._active()
        ]

    def booking_limit_reached(self) -> bool:
        """Return True when the office allows this jobseeker no further booking."""
        return len(self._active()) >= self._office.max_active_bookings

    def service_stopped(self) -> bool:
        """Return True when the office stopped the service for this person."""
        return suspensions.is_suspended(
            self._session, office_id=self._office.id, pseudonym=self._pseudonym,
            jobseeker_key=self._jobseeker_key,
        )

    def forget_availability(self) -> None:
        """Drop cached availability (after a failed booking attempt)."""
        self._free = None


class ServiceStopped(Exception):
    """The office stopped the service for this person; no booking is taken."""


@dataclass(frozen=True)
class ActionResult:
    """What a counselor's action on a booking did."""

    outcome: str  # done | already | not_found | too_early
    booking_id: int | None = None


@dataclass(frozen=True)
class Handled:
    """What handling an event did."""

    duplicate: bool
    state: str
    outbox_ids: tuple[int, ...]


@dataclass
class _Actor:
    """Who an event is for, as the effects need it."""

    channel: str
    user_ref: str
    pseudonym: str
    jobseeker_key: str | None
    freed: list[datetime] = field(default_factory=list)


@dataclass
class Intake:
    """Everything `handle_event` needs: the database, the vault, the clock, the office."""

    db: Database
    vault: Vault
    clock: Clock
    office_code: str = offices.DEFAULT_OFFICE

    def handle_event(
        self,
        channel: str,
        user_ref: str,
        event: Event,
        *,
        event_key: str | None = None,
        delivery: dict | None = None,
    ) -> Handled:
        """Apply one event of one user in one transaction; retry once on a lost race.

        `delivery` is channel data the sender needs with the replies (e.g. which message
        to take the old buttons off); it is stored in the same outbox row.
        """
        for attempt in range(3):
            try:
                with self.db.transaction() as session:
                    return self._handle(session, channel, user_ref, event, event_key, delivery)
            except IntegrityError:
                if event_key is not None and self._already_processed(channel, event_key):
                    return Handled(duplicate=True, state="", outbox_ids=())
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def sweep_holds(self) -> int:
        """Release expired holds and offer the freed places to waiting users (worker job)."""
        with self.db.transaction() as session:
            now = self.clock()
            office = offices.get_office(session, self.office_code)
            freed = [at for oid, at in bookings.sweep_expired_holds(session, now) if oid == office.id]
            self._offer_places(session, office, freed, now, skip=None)
            return len(freed)

    def office_action(
        self, reference: str, action: str, *, counselor: str, reason: str = "", event_key: str | None = None
    ) -> ActionResult:
        """Apply a counselor's action (claim, cancel, no_show, stop_service) to a booking, once.

        The jobseeker is told of a cancellation or a stop in their own language, in the same
        transaction; every action is audited. A repeated action (a double click, a Slack
        retry) answers "already".
        """
        with self.db.transaction() as session:
            now = self.clock()
            if event_key is not None:
                try:
                    with session.begin_nested():
                        session.add(ProcessedEvent(channel="slack", event_key=event_key, processed_at=now))
                except IntegrityError:
                    return ActionResult("already")
            booking = bookings.by_reference(session, reference)
            if booking is None:
                return ActionResult("not_found")
            office = session.get(Office, booking.office_id)
            assert office is not None
            outcome = self._office_action(session, office, booking, action, counselor, reason, now)
            if outcome == "done":
                records.audit(
                    session, actor_kind="counselor", actor=counselor, action=action,
                    booking_id=booking.id, now=now,
                    detail={"reference": reference, **({"reason": reason} if reason else {})},
                )
            return ActionResult(outcome, booking.id)

    def _office_action(
        self, session: Session, office: Office, booking: Booking, action: str, counselor: str,
        reason: str, now: datetime,
    ) -> str:
        if action == "claim":
            if booking.claimed_by:
                return "already"
            booking.claimed_by = counselor
            return "done"
        if action == "no_show":
            if booking.status == "no_show":
                return "already"
            if booking.status != "booked":
                return "already"
            if booking.starts_at > now:
                return "too_early"
            booking.status = "no_show"
            booking.end_reason = "no_show"
            reminders.cancel_for(session, booking.id, now)
            return "done"
        if action == "cancel":
            if not bookings.cancel(session, booking, reason="office", now=now):
                return "already"
            reminders.cancel_for(session, booking.id, now)
            self._tell_jobseeker(session, office, booking, CancelledByOffice(booking.reference or ""), now)
            self._offer_places(session, office, [booking.starts_at], now, skip=None)
            return "done"
        if action == "stop_service":
            if not suspensions.suspend(session, booking, counselor=counselor, reason=reason, now=now):
                return "already"
            for later in bookings.active_bookings(
                session, pseudonym=booking.pseudonym, jobseeker_key=booking.jobseeker_key, now=now
            ):
                reminders.cancel_for(session, later.id, now)
            waitlist.leave(session, channel=booking.channel, user_ref=booking.user_ref)
            self._tell_jobseeker(session, office, booking, StoppedByOffice(), now)
            return "done"
        raise ValueError(f"unknown action {action!r}")

    def _tell_jobseeker(
        self, session: Session, office: Office, booking: Booking, system: SystemEvent, now: datetime
    ) -> None:
        """Move the jobseeker's conversation on and tell them, in their language."""
        row, conv = conversations.load_for_update(
            session, channel=booking.channel, user_ref=booking.user_ref, office_id=office.id,
            vault=self.vault, now=now,
        )
        if conv.language is None:
            conv.language = booking.language
        ports = StoredIntakePorts(
            session, office, now, pseudonym=row.pseudonym, jobseeker_key=booking.jobseeker_key
        )
        self._save(session, row, step(conv, Event.happened(system), ports), now, None)

    def _already_processed(self, channel: str, event_key: str) -> bool:
        with self.db.transaction() as session:
            found = session.scalar(
                select(ProcessedEvent.id).where(
                    ProcessedEvent.channel == channel, ProcessedEvent.event_key == event_key
                )
            )
            return found is not None

    def _handle(
        self,
        session: Session,
        channel: str,
        user_ref: str,
        event: Event,
        event_key: str | None,
        delivery: dict | None,
    ) -> Handled:
        now = self.clock()
        if event_key is not None:
            session.add(ProcessedEvent(channel=channel, event_key=event_key, processed_at=now))
            session.flush()  # a duplicate fails here, before anything else happens
        office = offices.get_office(session, self.office_code)
        row, conv = conversations.load_for_update(
            session, channel=channel, user_ref=user_ref, office_id=office.id, vault=self.vault, now=now
        )
        outcome, actor = self._step_and_apply(session, office, row, conv, event, now)
        message_id = self._save(session, row, outcome, now, delivery)
        self._offer_places(session, office, actor.freed, now, skip=(channel, user_ref))
        log.debug("%s %s: %s -> %s", channel, row.pseudonym, conv.state, row.state)
        return Handled(duplicate=False, state=row.state, outbox_ids=(message_id,))

    def _step_and_apply(
        self,
        session: Session,
        office: Office,
        row: ConversationRow,
        conv: FlowConversation,
        event: Event,
        now: datetime,
    ) -> tuple[Outcome, _Actor]:
        number = conv.data.get("jobseeker_number")
        actor = _Actor(
            row.channel, row.user_ref, row.pseudonym, self.vault.lookup_key(number) if number else None
        )
        ports = StoredIntakePorts(
            session, office, now, pseudonym=row.pseudonym, jobseeker_key=actor.jobseeker_key
        )
        outcome = step(conv, event, ports)
        try:
            with session.begin_nested():
                self._apply(session, office, ports, actor, outcome, now)
        except (bookings.SlotUnavailable, bookings.BookingLimitReached, ServiceStopped) as refused:
            ports.forget_availability()
            if isinstance(refused, bookings.SlotUnavailable):
                log.info("slot taken for %s at %s", row.pseudonym, refused.starts_at.isoformat())
                retry = Event.happened(SlotTaken(refused.starts_at))
            elif isinstance(refused, ServiceStopped):
                retry = Event.happened(BookingRefused("service_stopped"))
            else:
                log.info("booking limit reached for %s", row.pseudonym)
                retry = Event.happened(BookingRefused("limit"))
            actor.freed.clear()
            outcome = step(conv, retry, ports)
            with session.begin_nested():
                self._apply(session, office, ports, actor, outcome, now)
        actor.freed += ports.freed
        return outcome, actor

    def _save(
        self, session: Session, row: ConversationRow, outcome: Outcome, now: datetime, delivery: dict | None
    ) -> int:
        new = outcome.conversation
        conversations.save(row, new, vault=self.vault, now=now)
        message = outbox.enqueue(
            session,
            channel=row.channel,
            recipient=row.user_ref,
            payload={
                "language": new.language or new.data.get("suggested_language"),
                "turn": new.turn,
                "replies": [reply_to_json(r) for r in outcome.replies],
                **(delivery or {}),
            },
            now=now,
        )
        session.flush()
        return message.id

    def _apply(
        self,
        session: Session,
        office: Office,
        ports: StoredIntakePorts,
        actor: _Actor,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        language = outcome.conversation.language
        holder = bookings.Holder(actor.channel, actor.user_ref, actor.pseudonym, language)
        for effect in outcome.effects:
            if isinstance(effect, RecordConsent):
                records.record_consent(
                    session,
                    pseudonym=actor.pseudonym,
                    channel=actor.channel,
                    document=effect.document,
                    version=effect.version,
                    text_hash=effect.text_hash,
                    language=effect.language,
                    now=now,
                )
            elif isinstance(effect, HoldSlot):
                bookings.hold(
                    session,
                    office,
                    ports.calendar,
                    hold_key=effect.hold_key,
                    starts_at=effect.starts_at,
                    expires_at=effect.expires_at,
                    holder=holder,
                    now=now,
                )
            elif isinstance(effect, ReleaseHold):
                released = bookings.release_hold(session, effect.hold_key, now)
                if released is not None:
                    actor.freed.append(released)
            elif isinstance(effect, ConfirmBooking):
                self._confirm(session, office, ports, actor, effect, now)
            elif isinstance(effect, CancelBooking):
                booking = self._owned(session, actor, effect.reference, now)
                if booking is not None and bookings.cancel(session, booking, reason="jobseeker", now=now):
                    self._ended(session, office, booking, actor, "cancelled", now)
            elif isinstance(effect, JoinWaitlist):
                waitlist.join(
                    session, office_id=office.id, channel=actor.channel, user_ref=actor.user_ref,
                    pseudonym=actor.pseudonym, now=now,
                )
            elif isinstance(effect, LeaveWaitlist):
                waitlist.leave(session, channel=actor.channel, user_ref=actor.user_ref)
            else:  # pragma: no cover - the effect union is closed
                raise TypeError(f"unknown effect {effect!r}")

    def _owned(self, session: Session, actor: _Actor, reference: str, now: datetime) -> Booking | None:
        """Return the actor's own active booking with this reference."""
        for booking in bookings.active_bookings(
            session, pseudonym=actor.pseudonym, jobseeker_key=actor.jobseeker_key, now=now
        ):
            if booking.reference == reference:
                return booking
        return None

    def _confirm(
        self,
        session: Session,
        office: Office,
        ports: StoredIntakePorts,
        actor: _Actor,
        effect: ConfirmBooking,
        now: datetime,
    ) -> None:
        if suspensions.is_suspended(
            session, office_id=office.id, pseudonym=actor.pseudonym, jobseeker_key=actor.jobseeker_key
        ):
            raise ServiceStopped()
        old = self._owned(session, actor, effect.replaces, now) if effect.replaces else None
        answers = dict(effect.answers)
        if old is not None and not answers.get("registration"):  # the intake answers carry over
            answers = self.vault.open(old.details_sealed)
        booking = bookings.confirm(
            session,
            office,
            ports.calendar,
            hold_key=effect.hold_key,
            reference=effect.reference,
            meeting_token=effect.meeting_token,
            meeting_url=effect.meeting_url,
            details_sealed=self.vault.seal(answers),
            now=now,
            jobseeker_key=actor.jobseeker_key,
            replacing=old,
        )
        reminders.schedule(session, booking, office, now)
        kind = "booked"
        if old is not None and bookings.cancel(session, old, reason="rescheduled", now=now):
            reminders.cancel_for(session, old.id, now)
            actor.freed.append(old.starts_at)
            kind = "rescheduled"
        records.audit(
            session, actor_kind="jobseeker", actor=actor.pseudonym, action=kind,
            booking_id=booking.id, now=now,
            detail={"reference": effect.reference, "channel": actor.channel,
                    **({"replaces": old.reference} if old is not None else {})},
        )
        self._notify_counselors(session, office, kind, booking, now, old=old)

    def _ended(
        self, session: Session, office: Office, booking: Booking, actor: _Actor, kind: str, now: datetime
    ) -> None:
        reminders.cancel_for(session, booking.id, now)
        actor.freed.append(booking.starts_at)
        records.audit(
            session, actor_kind="jobseeker", actor=actor.pseudonym, action=kind,
            booking_id=booking.id, now=now, detail={"reference": booking.reference},
        )
        self._notify_counselors(session, office, kind, booking, now)

    def _notify_counselors(
        self, session: Session, office: Office, kind: str, booking: Booking, now: datetime,
        *, old: Booking | None = None,
    ) -> None:
        payload = {"kind": kind, "booking_id": booking.id}
        if old is not None:
            payload["replaces_id"] = old.id
        outbox.enqueue(session, channel=outbox.COUNSELORS, recipient=office.code, payload=payload, now=now)

    def _offer_places(
        self,
        session: Session,
        office: Office,
        freed: list[datetime],
        now: datetime,
        *,
        skip: tuple[str, str] | None,
    ) -> None:
        """Offer each freed place to the first user still waiting for one, held for a while."""
        for starts_at in freed:
            for entry in waitlist.waiting(session, office.id):
                if skip == (entry.channel, entry.user_ref):
                    continue
                row, conv = conversations.load_for_update(
                    session, channel=entry.channel, user_ref=entry.user_ref, office_id=office.id,
                    vault=self.vault, now=now,
                )
                if row.state != "waitlisted":  # they moved on: no longer waiting
                    waitlist.mark(session, entry, "done", now)
                    continue
                key = secrets.token_urlsafe(16)
                expires = now + timedelta(minutes=office.waitlist_offer_minutes)
                try:
                    with session.begin_nested():
                        bookings.hold(
                            session, office, offices.calendar(session, office), hold_key=key,
                            starts_at=starts_at, expires_at=expires,
                            holder=bookings.Holder(entry.channel, entry.user_ref, entry.pseudonym, row.language),
                            now=now,
                        )
                except bookings.SlotUnavailable:
                    break  # someone took the place already
                offer = Event.happened(PlaceOffered(key, starts_at, expires))
                number = conv.data.get("jobseeker_number")
                ports = StoredIntakePorts(
                    session, office, now, pseudonym=row.pseudonym,
                    jobseeker_key=self.vault.lookup_key(number) if number else None,
                )
                self._save(session, row, step(conv, offer, ports), now, None)
                waitlist.mark(session, entry, "offered", now)
                log.info("place at %s offered to waiting %s", starts_at.isoformat(), entry.pseudonym)
                break
