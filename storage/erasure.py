"""Erase a person on request: every trace of them in every table, a receipt left.

A person is found by a booking reference or their jobseeker number, then by everything
that links to it (the chats they used, their pseudonyms, the number's keyed hash). Their
bookings ahead are cancelled and the counselors told; their bookings are kept only as an
anonymous place taken at a time (reference, time, status), everything else that names or
links to them is deleted. The usage statistics (storage/usage.py) name nobody and stay;
the links to them (a conversation's, a booking's `usage_id`) go. The audit log keeps one
receipt: when, their pseudonymous id, how much was erased from each table, and who asked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.orm import Session

from storage import bookings, outbox, records, reminders
from storage.models import (
    AuditEntry,
    Booking,
    ChannelContact,
    Consent,
    Conversation,
    FailedEvent,
    InboundEvent,
    Office,
    OutboxMessage,
    Suspension,
    TermsNotice,
    WaitlistEntry,
)
from storage.vault import Vault

NUMBER = re.compile(r"\d{5}-\d{8}")
_RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read on the phone


def new_receipt() -> str:
    """Return a fresh erasure receipt number like `DEL-7K3M9QX2` (40 random bits)."""
    return "DEL-" + "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: its receipt number, the rows erased per table, the bookings
    ahead it cancelled (the counselors are told of each)."""

    receipt: str
    erased: dict[str, int]
    cancelled: list[Booking]


@dataclass
class Person:
    """What links to one person: their chats, pseudonyms, number hashes and bookings."""

    chats: set[tuple[str, str]] = field(default_factory=set)
    pseudonyms: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    booking_ids: set[int] = field(default_factory=set)

    @property
    def pseudonym(self) -> str:
        """Return one stable pseudonymous id of the person (for the receipt)."""
        return min(self.pseudonyms) if self.pseudonyms else ""


def _of_chats(channel: Any, user_ref: Any, chats: set[tuple[str, str]]) -> ColumnElement[bool]:
    if not chats:
        return false()
    return or_(*(and_(channel == c, user_ref == u) for c, u in sorted(chats)))


def find(session: Session, vault: Vault, reference_or_number: str) -> Person | None:
    """Return the person a booking reference or a jobseeker number names (None: nobody)."""
    person = Person()
    given = reference_or_number.strip()
    if NUMBER.fullmatch(given):
        person.keys.add(vault.lookup_key(given))
    else:
        booking = bookings.by_reference(session, given.upper())
        if booking is None or not booking.user_ref:
            return None
        person.chats.add((booking.channel, booking.user_ref))
    for _ in range(4):  # each round follows the links the last one found
        size = (len(person.chats), len(person.pseudonyms), len(person.keys))
        person.pseudonyms |= {vault.pseudonym(c, u) for c, u in person.chats}
        linked = or_(
            Booking.pseudonym.in_(person.pseudonyms) if person.pseudonyms else false(),
            Booking.jobseeker_key.in_(person.keys) if person.keys else false(),
            _of_chats(Booking.channel, Booking.user_ref, person.chats),
        )
        for booking in session.scalars(select(Booking).where(linked)):
            person.booking_ids.add(booking.id)
            if booking.user_ref:
                person.chats.add((booking.channel, booking.user_ref))
            if booking.jobseeker_key:
                person.keys.add(booking.jobseeker_key)
        if (len(person.chats), len(person.pseudonyms), len(person.keys)) == size:
            break
    return person if person.booking_ids or person.chats else None


def of_chat(session: Session, vault: Vault, channel: str, user_ref: str) -> Person:
    """Return the person of one chat: that chat and the bookings made from it, nothing
    linked by a jobseeker number (the person asking for themselves may have typed another's
    number; only an operator erases by number)."""
    person = Person(chats={(channel, user_ref)}, pseudonyms={vault.pseudonym(channel, user_ref)})
    mine = or_(
        Booking.pseudonym.in_(person.pseudonyms),
        _of_chats(Booking.channel, Booking.user_ref, person.chats),
    )
    person.booking_ids = set(session.scalars(select(Booking.id).where(mine)))
    return person


def consents(session: Session, person: Person) -> list[Consent]:
    """Return the person's recorded consents, oldest first."""
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.pseudonym.in_(person.pseudonyms))
            .order_by(Consent.agreed_at, Consent.id)
        )
    )


def show(session: Session, person: Person) -> tuple[list[Booking], dict[str, int]]:
    """Return the person's bookings and how many rows of each other table are theirs."""
    return (
        list(
            session.scalars(
                select(Booking)
                .where(Booking.id.in_(person.booking_ids))
                .order_by(Booking.starts_at)
            )
        ),
        {table: len(ids) for table, ids in _rows(session, person).items()},
    )


def _rows(session: Session, person: Person) -> dict[str, list[int]]:
    """Return the ids of the person's rows in each table but bookings."""
    found: dict[str, list[int]] = {}

    def ids(table: str, query: Any) -> None:
        found[table] = list(session.scalars(query))

    ids(
        "conversations",
        select(Conversation.id).where(
            or_(
                _of_chats(Conversation.channel, Conversation.user_ref, person.chats),
                Conversation.pseudonym.in_(person.pseudonyms),
            )
        ),
    )
    ids(
        "channel_contacts",
        select(ChannelContact.id).where(
            _of_chats(ChannelContact.channel, ChannelContact.user_ref, person.chats)
        ),
    )
    ids(
        "waitlist",
        select(WaitlistEntry.id).where(
            or_(
                _of_chats(WaitlistEntry.channel, WaitlistEntry.user_ref, person.chats),
                WaitlistEntry.pseudonym.in_(person.pseudonyms),
            )
        ),
    )
    ids("consents", select(Consent.id).where(Consent.pseudonym.in_(person.pseudonyms)))
    ids(
        "terms_notices",
        select(TermsNotice.id).where(TermsNotice.pseudonym.in_(person.pseudonyms)),
    )
    ids(
        "suspensions",
        select(Suspension.id).where(
            or_(
                Suspension.pseudonym.in_(person.pseudonyms),
                Suspension.jobseeker_key.in_(person.keys),
                Suspension.booking_id.in_(person.booking_ids),
            )
        ),
    )
    ids(
        "failed_events", select(FailedEvent.id).where(FailedEvent.pseudonym.in_(person.pseudonyms))
    )
    ids(
        "audit_log",
        select(AuditEntry.id).where(
            or_(
                AuditEntry.actor.in_(person.pseudonyms),
                AuditEntry.booking_id.in_(person.booking_ids),
            )
        ),
    )
    # Messages to them, and the counselors' notifications of their bookings.
    to_them = list(
        session.scalars(
            select(OutboxMessage.id).where(
                _of_chats(OutboxMessage.channel, OutboxMessage.recipient, person.chats)
            )
        )
    )
    about_them = [
        message.id
        for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == outbox.COUNSELORS)
        )
        if {message.payload.get("booking_id"), message.payload.get("replaces_id")}
        & person.booking_ids
    ]
    found["outbox"] = sorted(set(to_them) | set(about_them))
    return found


def _inbox_bodies(session: Session, vault: Vault, person: Person) -> list[int]:
    """Return the waiting webhook bodies that name one of the person's chat ids."""
    user_refs = {u for _, u in person.chats}
    hits = []
    for row in session.scalars(select(InboundEvent).where(InboundEvent.body != "")):
        try:
            body = vault.open(row.body) if not row.body.lstrip().startswith("{") else row.body
        except ValueError:
            continue
        if any(ref in str(body) for ref in user_refs):
            hits.append(row.id)
    return hits


_MODELS: dict[str, Any] = {
    "conversations": Conversation,
    "channel_contacts": ChannelContact,
    "waitlist": WaitlistEntry,
    "consents": Consent,
    "terms_notices": TermsNotice,
    "suspensions": Suspension,
    "failed_events": FailedEvent,
    "audit_log": AuditEntry,
    "outbox": OutboxMessage,
    "inbound_events": InboundEvent,
}


def erase(
    session: Session,
    vault: Vault,
    person: Person,
    *,
    now: datetime,
    requested_by: str,
    actor_kind: str = "operator",
    receipt: str | None = None,
    keep: frozenset[str] = frozenset(),
) -> Erasure:
    """Erase the person; return the receipt, the rows erased per table, the bookings
    cancelled.

    The counselors' notifications of the cancellations are queued after the erasure, so
    they are the only rows left that speak of those bookings (by id: reference and time).
    `keep` names tables left alone (a person erasing themselves keeps the office's
    suspension, which holds only keyed hashes). The receipt in the audit log names who
    asked (`actor_kind`, `requested_by`) and the receipt number.
    """
    ahead = list(
        session.scalars(
            select(Booking).where(
                Booking.id.in_(person.booking_ids),
                Booking.status == "booked",
                Booking.starts_at > now,
            )
        )
    )
    cancelled = [b for b in ahead if bookings.cancel(session, b, reason="erased", now=now)]
    for booking in cancelled:
        reminders.cancel_for(session, booking.id, now)
    for held in session.scalars(
        select(Booking).where(Booking.id.in_(person.booking_ids), Booking.status == "held")
    ):
        bookings.withdraw_hold(session, held, now)
    rows = _rows(session, person)
    rows["inbound_events"] = _inbox_bodies(session, vault, person)
    erased: dict[str, int] = {}
    for table, ids in rows.items():
        if table in keep:
            continue
        model = _MODELS[table]
        erased[table] = len(ids)
        if ids:
            session.execute(delete(model).where(model.id.in_(ids)))
    erased["bookings"] = len(person.booking_ids)
    if person.booking_ids:
        session.execute(
            update(Booking)
            .where(Booking.id.in_(person.booking_ids))
            .values(
                details_sealed="",
                meeting_token=None,
                meeting_url=None,
                user_ref="",
                pseudonym="",
                jobseeker_key=None,
                usage_id=None,  # the statistics stay, with nothing that leads to them
                details_purged_at=now,
            )
        )
    for booking in cancelled:
        office = session.get(Office, booking.office_id)
        office_code = office.code if office is not None else ""
        outbox.enqueue(
            session,
            channel=outbox.COUNSELORS,
            recipient=office_code,
            payload={"kind": "cancelled", "booking_id": booking.id},
            now=now,
        )
    receipt = receipt or new_receipt()
    records.audit(
        session,
        actor_kind=actor_kind,
        actor=requested_by[:64],
        action="erased",
        booking_id=None,
        now=now,
        detail={
            "receipt": receipt,
            "pseudonym": person.pseudonym,
            "erased": erased,
            "bookings_cancelled": len(cancelled),
        },
    )
    return Erasure(receipt, erased, cancelled)
