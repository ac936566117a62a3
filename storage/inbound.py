"""Apply one inbound event: one transaction for the new state, its effects and its replies.

This is where the pure flow meets the database: the flow decides, this module loads the
conversation locked, applies the effects (consent, hold, booking, counselor notification,
audit) and queues the replies in the outbox, all committed together or not at all.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows.codec import reply_to_json
from flows.machine import step
from flows.model import (
    ConfirmBooking,
    Event,
    HoldSlot,
    OfficeProfile,
    Outcome,
    RecordConsent,
    ReleaseHold,
)
from flows.office_calendar import OfficeCalendar
from storage import bookings, conversations, offices, outbox, records
from storage.db import Database
from storage.models import Office, ProcessedEvent
from storage.vault import Vault

log = logging.getLogger("madoguchi.inbound")

Clock = Callable[[], datetime]


class StoredIntakePorts:
    """The flow's read side (`flows.model.IntakePorts`), answered from the database."""

    def __init__(self, session: Session, office: Office, clock: Clock) -> None:
        self._session = session
        self._office = office
        self._now = clock()
        self._calendar: OfficeCalendar | None = None
        self._free: list[tuple[datetime, int]] | None = None

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
            bookings.sweep_expired_holds(self._session, self._now)
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

    def forget_availability(self) -> None:
        """Drop cached availability (after a failed booking attempt)."""
        self._free = None


@dataclass(frozen=True)
class Handled:
    """What handling an event did."""

    duplicate: bool
    state: str
    outbox_ids: tuple[int, ...]


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

    def _already_processed(self, channel: str, event_key: str) -> bool:
        from sqlalchemy import select

        with self.db.transaction() as session:
            return (
                session.scalar(
                    select(ProcessedEvent.id).where(
                        ProcessedEvent.channel == channel, ProcessedEvent.event_key == event_key
                    )
                )
                is not None
            )

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
        ports = StoredIntakePorts(session, office, lambda: now)
        outcome = step(conv, event, ports)
        try:
            with session.begin_nested():
                self._apply(session, office, ports, row.pseudonym, channel, user_ref, outcome, now)
        except bookings.SlotUnavailable as taken:
            log.info("slot taken for %s at %s", row.pseudonym, taken.starts_at.isoformat())
            ports.forget_availability()
            retry = Event("system", f"slot_taken:{taken.starts_at.isoformat()}")
            outcome = step(conv, retry, ports)
            with session.begin_nested():
                self._apply(session, office, ports, row.pseudonym, channel, user_ref, outcome, now)
        new = outcome.conversation
        conversations.save(row, new, vault=self.vault, now=now)
        message = outbox.enqueue(
            session,
            channel=channel,
            recipient=user_ref,
            payload={
                "language": new.language or new.data.get("suggested_language"),
                "turn": new.turn,
                "replies": [reply_to_json(r) for r in outcome.replies],
                **(delivery or {}),
            },
            now=now,
        )
        session.flush()
        log.debug("%s %s: %s -> %s", channel, row.pseudonym, conv.state.value, new.state.value)
        return Handled(duplicate=False, state=new.state.value, outbox_ids=(message.id,))

    def _apply(
        self,
        session: Session,
        office: Office,
        ports: StoredIntakePorts,
        pseudonym: str,
        channel: str,
        user_ref: str,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        language = outcome.conversation.language
        holder = bookings.Holder(channel, user_ref, pseudonym, language)
        for effect in outcome.effects:
            if isinstance(effect, RecordConsent):
                records.record_consent(
                    session,
                    pseudonym=pseudonym,
                    channel=channel,
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
                bookings.release_hold(session, effect.hold_key, now)
            elif isinstance(effect, ConfirmBooking):
                booking = bookings.confirm(
                    session,
                    office,
                    ports.calendar,
                    hold_key=effect.hold_key,
                    reference=effect.reference,
                    meeting_token=effect.meeting_token,
                    meeting_url=effect.meeting_url,
                    details_sealed=self.vault.seal(effect.answers),
                    now=now,
                )
                records.audit(
                    session,
                    actor_kind="jobseeker",
                    actor=pseudonym,
                    action="booked",
                    booking_id=booking.id,
                    now=now,
                    detail={"reference": effect.reference, "channel": channel},
                )
                outbox.enqueue(
                    session,
                    channel=outbox.COUNSELORS,
                    recipient=office.code,
                    payload={"kind": "booked", "booking_id": booking.id},
                    now=now,
                )
            else:  # pragma: no cover - the effect union is closed
                raise TypeError(f"unknown effect {effect!r}")

