"""The tables. Times are stored as UTC; personal answers are stored sealed (see vault.py).

State values are `flows.model.State` strings: a persisted contract, renamed only by a
migration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints."""

    from sqlalchemy import MetaData

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Office(Base):
    """A Hello Work office that offers online consultations, with its calendar rules."""

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    hours: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    places_per_slot: Mapped[int] = mapped_column(Integer, default=2)
    min_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    horizon_days: Mapped[int] = mapped_column(Integer, default=21)
    hold_minutes: Mapped[int] = mapped_column(Integer, default=10)
    meeting_app: Mapped[str] = mapped_column(String(80))
    meeting_link_template: Mapped[str] = mapped_column(String(500))
    change_cutoff_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    reminder_offsets: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1440, 60])
    max_active_bookings: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    waitlist_offer_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    retention_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    web_page: Mapped[str] = mapped_column(String(300), default="", server_default="")
    meeting_app_terms_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The office's own words, off until set: its name per language ({"en": "…"}), its advice
    # per environment item and language ({"antivirus": {"ja": "…"}}), and the counselors'
    # host link, derived from a booking's token (never stored per booking).
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    advice: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    meeting_host_url_template: Mapped[str] = mapped_column(
        String(500), default="", server_default=""
    )
    # Random change tokens, renewed whenever the calendar rules or the terms versions change:
    # a process keeps what it derived from them while the token it reads stays the same.
    calendar_token: Mapped[str | None] = mapped_column(String(32), default=None)
    terms_token: Mapped[str | None] = mapped_column(String(32), default=None)


class CalendarRule(Base):
    """An operator's exception to the weekly hours: a closure, an extra opening, places."""

    __tablename__ = "calendar_rules"
    __table_args__ = (
        CheckConstraint("kind IN ('closed', 'open', 'places')", name="kind"),
        # Listing reads only the rules of the days ahead, never the years of past rules.
        Index("ix_calendar_rules_office_id_day", "office_id", "day"),
        # A rule id is never given again (operators remove rules by id): SQLite would reuse
        # the highest id after a delete without AUTOINCREMENT; PostgreSQL never does.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    start: Mapped[time | None] = mapped_column(Time)
    end: Mapped[time | None] = mapped_column(Time)
    places: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Slot(Base):
    """The places of one consultation slot. `taken` counts live holds and bookings.

    The check constraint is what makes double booking impossible: a place is taken only by
    a conditional update that keeps `taken <= capacity`.
    """

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("office_id", "starts_at"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="places"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class Conversation(Base):
    """Where one user of one channel stands in the intake; `data` is sealed."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "user_ref"),
        # Retention: led by the time, so the plan holds with one office (statistics or not).
        Index("ix_conversations_updated_at_office_id", "updated_at", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_ref: Mapped[str] = mapped_column(String(128))
    pseudonym: Mapped[str] = mapped_column(String(32), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    state: Mapped[str] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(10))
    turn: Mapped[int] = mapped_column(Integer, default=0)
    data_sealed: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The random id of this conversation's usage record (UsageSession): the one link from a
    # person to the statistics, gone with the conversation (erasure, retention).
    usage_id: Mapped[str | None] = mapped_column(String(32))

    __mapper_args__ = {"version_id_col": version}


class Consent(Base):
    """A user's agreement to a document (terms, the meeting app's terms), as shown to them."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    document: Mapped[str] = mapped_column(String(120))
    version: Mapped[str] = mapped_column(String(40))
    text_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(10))
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Booking(Base):
    """A hold on a place, then (when confirmed) a booked consultation.

    status: held → booked → cancelled, or held → released (expired or given back).
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('held', 'booked', 'released', 'cancelled', 'no_show')", name="status"
        ),
        Index("ix_bookings_status_hold_expires_at", "status", "hold_expires_at"),
        # One index per hot query, each led by what the query matches exactly, so no plan
        # depends on statistics to avoid a scan of the whole history:
        # a jobseeker's active bookings (by pseudonym, or by jobseeker number) ...
        Index("ix_bookings_pseudonym_status_starts_at", "pseudonym", "status", "starts_at"),
        Index(
            "ix_bookings_jobseeker_key_status_starts_at", "jobseeker_key", "status", "starts_at"
        ),
        # ... a conversation's bookings ahead (retention keeps those conversations) ...
        Index("ix_bookings_channel_user_ref_starts_at", "channel", "user_ref", "starts_at"),
        # ... an office's bookings of a day (digest, listings) ...
        Index("ix_bookings_office_id_starts_at", "office_id", "starts_at"),
        # ... and the old bookings whose details retention has not removed yet.
        Index(
            "ix_bookings_office_id_details_purged_at_starts_at",
            "office_id",
            "details_purged_at",
            "starts_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hold_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    hold_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    meeting_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    meeting_url: Mapped[str | None] = mapped_column(String(600))
    channel: Mapped[str] = mapped_column(String(20))
    user_ref: Mapped[str] = mapped_column(String(128))
    pseudonym: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(10))
    details_sealed: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A keyed hash of the jobseeker number: finds a jobseeker's bookings across channels
    # without storing the number in the clear.
    jobseeker_key: Mapped[str | None] = mapped_column(String(32))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    end_reason: Mapped[str | None] = mapped_column(String(40))
    details_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    counselor_channel: Mapped[str | None] = mapped_column(String(64))
    counselor_message_ts: Mapped[str | None] = mapped_column(String(32))
    # The random id of this booking's usage record (UsageBooking), to count its end; cleared
    # with the booking's personal columns (erasure, retention).
    usage_id: Mapped[str | None] = mapped_column(String(32))


class Reminder(Base):
    """One reminder of one booking; sent once (a conditional update claims it)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("booking_id", "offset_minutes"),
        CheckConstraint("status IN ('pending', 'sent', 'dropped', 'cancelled')", name="status"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """A jobseeker waiting to be told when a place opens (every slot was full)."""

    __tablename__ = "waitlist"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'offered', 'done')", name="status"),
        Index("ix_waitlist_office_id_status", "office_id", "status", "id"),
        Index("ix_waitlist_office_id_created_at", "office_id", "created_at"),  # retention
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    channel: Mapped[str] = mapped_column(String(20))
    user_ref: Mapped[str] = mapped_column(String(128))
    pseudonym: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to deliver after commit: replies to a user, or a counselor notification."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_channel", "status", "channel", "id"),
        Index("ix_outbox_created_at", "created_at"),  # retention
        # each recipient's oldest pending message, read from the index alone (fair claiming)
        Index("ix_outbox_channel_status_recipient_id", "channel", "status", "recipient", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Delivery bookkeeping: a sender leases a row, records each part it sent, and marks it
    # sent; after a crash the lease runs out and another sender resumes at `parts_sent`.
    # Leases are short and renewed while the work goes on; `claimed_by` names the sender
    # (host and channel), so its next run takes its own leases back at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    plan_context: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditEntry(Base):
    """Who did what to which booking, and when (jobseeker pseudonym, counselor, system)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChannelContact(Base):
    """What a sender must remember about one user of one channel between messages."""

    __tablename__ = "channel_contacts"
    __table_args__ = (UniqueConstraint("channel", "user_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_ref: Mapped[str] = mapped_column(String(128))
    keyboard_message_id: Mapped[str | None] = mapped_column(String(64))
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Suspension(Base):
    """Service stopped for a person (terms art. 12(1)): new bookings refused, no reminders."""

    __tablename__ = "suspensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    pseudonym: Mapped[str] = mapped_column(String(32), index=True)
    jobseeker_key: Mapped[str | None] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    counselor: Mapped[str] = mapped_column(String(64))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class FailedEvent(Base):
    """An authenticated inbound event whose handling failed (kept without its content)."""

    __tablename__ = "failed_events"
    __table_args__ = (Index("ix_failed_events_at", "at"),)  # retention

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(128))
    pseudonym: Mapped[str] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """An inbound platform event already applied (Telegram update_id, LINE event id...)."""

    __tablename__ = "processed_events"
    __table_args__ = (
        UniqueConstraint("channel", "event_key"),
        Index("ix_processed_events_processed_at", "processed_at"),  # retention
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(128))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundEvent(Base):
    """A verified webhook body kept until it is applied (LINE acknowledges before handling).

    The receiving process leases the row for itself (`claimed_by`: its stable name) and
    renews the short lease while the body waits or is applied; if it dies before
    `processed_at` is set, its restart takes the row back at once, or, when the lease runs
    out, any process applies the body (its events are deduplicated by key).
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        Index("ix_inbound_events_pending", "channel", "processed_at", "id"),
        Index("ix_inbound_events_received_at", "received_at"),  # retention
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WorkerLease(Base):
    """The one scheduler's lease: which worker holds it and when it last said it was alive.

    One row per deployment (`name` "scheduler"). A worker starts only when the row is free,
    its own (the same process name and id: a restart), or silent past the lease; the web
    process reads the heartbeat for `/healthz`.
    """

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TermsVersion(Base):
    """One version of an office's terms of use (terms art. 13): its number, the day it
    takes effect (also its label, as consents name it) and the office's short summaries."""

    __tablename__ = "terms_versions"
    __table_args__ = (
        UniqueConstraint("office_id", "number"),
        UniqueConstraint(
            "office_id", "effective_on", name="uq_terms_versions_office_id_effective_on"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    number: Mapped[int] = mapped_column(Integer)
    effective_on: Mapped[date] = mapped_column(Date)
    summaries: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TermsText(Base):
    """The text of one terms version in one language (ja the original, others reference
    translations), exactly as shown and hashed."""

    __tablename__ = "terms_texts"
    __table_args__ = (UniqueConstraint("version_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("terms_versions.id"))
    language: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


class TermsNotice(Base):
    """That one user (by pseudonym) was told of a terms version: at most once per version,
    enforced here, written in the same transaction as the message that told them."""

    __tablename__ = "terms_notices"
    __table_args__ = (UniqueConstraint("version_id", "pseudonym"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("terms_versions.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    told_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LanguageReview(Base):
    """A native speaker at the office reviewed a language's texts (installation-wide).

    One row per language code; `reviewed_by` is the reviewer's name as the operator typed it
    (staff, never a jobseeker). Rows seeded by the migration for the languages reviewed as
    shipped have no time.
    """

    __tablename__ = "language_reviews"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    reviewed_by: Mapped[str] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsageSession(Base):
    """How one conversation used the service (terms art. 7), under a random id of its own.

    Nothing here names a person or a device: no chat id, pseudonym, number or free text.
    Erasure and retention leave these rows alone; the only link to a person is the
    conversation's `usage_id`, which goes with the conversation.
    """

    __tablename__ = "usage_sessions"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('in_progress', 'booked', 'declined_terms', 'not_eligible')",
            name="outcome",
        ),
        Index("ix_usage_sessions_office_id_started_at", "office_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, never derived
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # to the minute
    last_state: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20), default="in_progress")


class UsageStep(Base):
    """A step (intake state) one usage session reached, the first time it reached it."""

    __tablename__ = "usage_steps"
    __table_args__ = (UniqueConstraint("session_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("usage_sessions.id"))
    state: Mapped[str] = mapped_column(String(40))
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)  # to the minute


class UsageBooking(Base):
    """A booking as statistics keep it: days, lead time, accommodation kinds, how it ended.

    status: booked → cancelled | rescheduled | no_show. No reference, time of day or answer.
    """

    __tablename__ = "usage_bookings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('booked', 'cancelled', 'rescheduled', 'no_show')", name="status"
        ),
        Index("ix_usage_bookings_office_id_booked_on", "office_id", "booked_on"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, never derived
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("usage_sessions.id"))
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(10))
    booked_on: Mapped[date] = mapped_column(Date)  # the office's local dates
    slot_day: Mapped[date] = mapped_column(Date)
    lead_days: Mapped[int] = mapped_column(Integer)
    accommodations: Mapped[str] = mapped_column(String(100), default="")  # kinds, "a,b"
    status: Mapped[str] = mapped_column(String(12), default="booked")
    ended_by: Mapped[str | None] = mapped_column(String(20))  # jobseeker | office | closure
    ended_on: Mapped[date | None] = mapped_column(Date)
