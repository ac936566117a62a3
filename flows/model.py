"""The neutral vocabulary shared by the flow, the storage layer and the channel adapters.

Replies carry message ids and typed parameters, never rendered text; adapters render them
from the catalogs in the user's language. Nothing here may import an SDK or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal, Protocol, TypeAlias

from flows.terms_document import TermsDocument

Param: TypeAlias = "str | int | date | datetime | Msg | Time | Lines | OpeningHours | OfficeName"


@dataclass(frozen=True)
class Time:
    """A clock time to render without a date (e.g. the end of a hold)."""

    at: datetime


@dataclass(frozen=True)
class Msg:
    """A catalog message id with its parameters."""

    id: str
    params: dict[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class OpeningHours:
    """An office's weekly hours, rendered with the language's own day names."""

    days: tuple[tuple[int, str, str], ...]  # (weekday 0=Mon, "HH:MM", "HH:MM")


@dataclass(frozen=True)
class OfficeName:
    """The office's name, rendered in the reader's language when the office set one for it
    (`name.<code>`), else its `name`."""

    name: str
    by_language: tuple[tuple[str, str], ...] = ()  # (language code, name)

    def in_language(self, language: str) -> str:
        """Return the name the office gave for `language`, else its name."""
        return dict(self.by_language).get(language) or self.name


@dataclass(frozen=True)
class Lines:
    """Several messages shown one per line (e.g. the answers of a summary), or `inline` as
    one list in a sentence (the language's own separator)."""

    items: tuple[Msg, ...]
    inline: bool = False


@dataclass(frozen=True)
class Choice:
    """One answer the user can pick; `id` is what comes back, `label` what they see."""

    id: str
    label: Msg


@dataclass(frozen=True)
class Document:
    """An attachment that is not in the catalogs: the terms (whole or one section), or a
    calendar file for a booking (built by the adapter from the reply's parameters)."""

    kind: Literal["terms", "calendar"]
    section: int | None = None
    # The terms pages shown, (heading, body), when the text comes from a stored version; the
    # outbox row then carries exactly what the user read.
    pages: tuple[tuple[str, str], ...] = ()
    language: str | None = None  # the terms in this language, not the reader's (the original)


@dataclass(frozen=True)
class Reply:
    """One outbound message: a body, optional choices, optional attached document."""

    body: Msg
    choices: tuple[Choice, ...] = ()
    document: Document | None = None
    all_languages: bool = False
    short: Msg | None = None  # the question alone, asked again after a wrong answer


# --- system events: what the service tells the flow (typed, never strings to parse) --------


@dataclass(frozen=True)
class SlotTaken:
    """The place the user wanted was taken by someone else just now."""

    starts_at: datetime


@dataclass(frozen=True)
class HoldWithdrawn:
    """The office closed the time the user holds (or took its place away): the hold ended."""

    starts_at: datetime


@dataclass(frozen=True)
class BookingRefused:
    """Storage refused the booking: the limit of active bookings, or the service is stopped."""

    reason: Literal["limit", "service_stopped"]


@dataclass(frozen=True)
class PlaceOffered:
    """A place opened and is held for this waiting user until `expires_at`."""

    hold_key: str
    starts_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class CancelledByOffice:
    """The office cancelled the user's booking: a counselor did, or the office closed its
    time (`closed_at`, the booking's start)."""

    reference: str
    closed_at: datetime | None = None


@dataclass(frozen=True)
class StoppedByOffice:
    """The office stopped the service for this person (terms art. 12(1))."""


@dataclass(frozen=True)
class TermsChanged:
    """The office published a new version of the terms (art. 13): tell this user of it."""

    version: str  # its label, the day it takes effect (YYYY-MM-DD)


SystemEvent: TypeAlias = (
    SlotTaken
    | HoldWithdrawn
    | BookingRefused
    | PlaceOffered
    | CancelledByOffice
    | StoppedByOffice
    | TermsChanged
)


@dataclass(frozen=True)
class Event:
    """What the user did (or what happened to their booking), channel-neutral.

    kind: "text" (free text), "choice" (a button; `turn` says which question it belonged to),
    "command" (`/help` etc., value without the slash) or "system" (`system` says what).
    `language_hint` is the platform's idea of the user's language (e.g. Telegram's
    `language_code`), used only to pre-select the language offer.
    """

    kind: Literal["text", "choice", "command", "system"]
    value: str = ""
    turn: int | None = None
    language_hint: str | None = None
    system: SystemEvent | None = None

    @staticmethod
    def happened(what: SystemEvent) -> Event:
        """Return the system event that tells the flow `what` happened."""
        return Event("system", system=what)


@dataclass
class Conversation:
    """One jobseeker's intake: the state, the chosen language and the answers so far."""

    state: str = "choosing_language"  # a `flows.intake.State` value, stored as text
    language: str | None = None
    turn: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Conversation:
        """Return a deep-enough copy so a step never mutates its input."""
        return Conversation(self.state, self.language, self.turn, _copied(self.data))


_IMMUTABLE = (str, int, float, bool, type(None), datetime, date, time)


def _copied(value: Any) -> Any:
    """Copy the JSON-like answers of a conversation (every step copies them, so this is
    `copy.deepcopy` without its bookkeeping): containers are rebuilt, immutable leaves shared,
    anything else deep-copied."""
    if isinstance(value, dict):
        return {k: v if type(v) in _IMMUTABLE else _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _IMMUTABLE else _copied(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if type(value) in _IMMUTABLE:
        return value
    import copy

    return copy.deepcopy(value)


# --- effects: what storage must do in the same transaction ---------------------------------


@dataclass(frozen=True)
class RecordConsent:
    """Record that the user agreed to a document (terms art. 1, 4)."""

    document: str
    version: str
    text_hash: str
    language: str


@dataclass(frozen=True)
class HoldSlot:
    """Take one place of a slot for a short time while the user confirms."""

    hold_key: str
    starts_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ReleaseHold:
    """Give a held place back."""

    hold_key: str


@dataclass(frozen=True)
class ConfirmBooking:
    """Turn a hold into a booking and notify the counselors.

    With `replaces`, the booking with that reference is cancelled in the same transaction
    (a reschedule: the old place is given back only once the new one is booked).
    """

    hold_key: str
    reference: str
    meeting_token: str
    meeting_url: str
    language: str
    answers: dict[str, Any]
    replaces: str | None = None


@dataclass(frozen=True)
class CancelBooking:
    """Cancel the user's own booking (before the cut-off) and give its place back."""

    reference: str


@dataclass(frozen=True)
class JoinWaitlist:
    """Ask to be offered the next place that opens."""


@dataclass(frozen=True)
class LeaveWaitlist:
    """Stop waiting for a place."""


@dataclass(frozen=True)
class EraseMyData:
    """Erase every trace of the user on their request (`/mydata`): bookings ahead are
    cancelled and the counselors told, one receipt with this number is kept."""

    receipt: str


Effect: TypeAlias = (
    RecordConsent
    | HoldSlot
    | ReleaseHold
    | ConfirmBooking
    | CancelBooking
    | JoinWaitlist
    | LeaveWaitlist
    | EraseMyData
)


@dataclass
class Outcome:
    """The result of one step."""

    conversation: Conversation
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)
    rejected: bool = False


@dataclass(frozen=True)
class OfficeProfile:
    """What the flow needs to know about the office the intake is for."""

    code: str
    hold_minutes: int
    meeting_link_template: str
    meeting_app: str
    horizon_days: int
    slot_minutes: int = 30
    change_cutoff_minutes: int = 60
    name: str = ""
    phone: str = ""
    web_page: str = ""
    hours: tuple[tuple[int, str, str], ...] = ()  # (weekday 0=Mon, "HH:MM", "HH:MM")
    meeting_app_terms_url: str = ""
    names: tuple[tuple[str, str], ...] = ()  # (language code, the office's name in it)
    advice: tuple[tuple[str, str, str], ...] = ()  # (environment item, language, advice)

    @property
    def display_name(self) -> OfficeName:
        """Return the office's name as a message parameter, rendered per language."""
        return OfficeName(self.name, self.names)

    def advice_for(self, item: str, language: str) -> str:
        """Return the office's own advice on an environment item in `language` ("" if none)."""
        return next((text for i, lang, text in self.advice if (i, lang) == (item, language)), "")


@dataclass(frozen=True)
class BookingInfo:
    """A booking as the flow may show it to its owner."""

    reference: str
    starts_at: datetime
    meeting_url: str


@dataclass(frozen=True)
class HeldBooking:
    """One booking the office holds of the user (any status), as `/mydata` lists it."""

    reference: str
    starts_at: datetime
    status: str  # booked | cancelled | no_show


@dataclass(frozen=True)
class HeldConsent:
    """One consent the office recorded of the user: the document and its version."""

    document: str  # "terms" or "meeting_app:<app>"
    version: str
    agreed_at: datetime


@dataclass(frozen=True)
class HeldData:
    """What the office holds about the user of this chat (besides the answers in the
    conversation itself), for `/mydata`."""

    channel: str
    bookings: tuple[HeldBooking, ...] = ()
    consents: tuple[HeldConsent, ...] = ()


class IntakePorts(Protocol):
    """What a step may read from the outside world; the caller provides it."""

    def now(self) -> datetime:
        """Return the current time (aware, UTC)."""
        ...

    def office(self) -> OfficeProfile:
        """Return the office this conversation books with."""
        ...

    def open_days(self, *, limit: int) -> list[date]:
        """Return the next days (office-local) that still have a free place."""
        ...

    def free_times(self, day: date) -> list[datetime]:
        """Return the free slot starts (aware) of one office-local day."""
        ...

    def nearest_free(self, around: datetime, *, limit: int) -> list[datetime]:
        """Return the free slot starts closest to `around`."""
        ...

    def new_secret(self) -> str:
        """Return a fresh unguessable token (URL-safe)."""
        ...

    def terms(self, language: str, version: str | None = None) -> TermsDocument:
        """Return the terms in force (or the version with this label) in `language`, or the
        Japanese original when that version has no translation into it."""
        ...

    def new_reference(self) -> str:
        """Return a fresh booking reference, short enough to read on the phone."""
        ...

    def active_bookings(self) -> list[BookingInfo]:
        """Return this jobseeker's booked consultations that have not started, earliest first."""
        ...

    def booking_limit_reached(self) -> bool:
        """Return True when this jobseeker may not hold another booking (operators set it)."""
        ...

    def service_stopped(self) -> bool:
        """Return True when the office stopped the service for this person (art. 12(1))."""
        ...

    def held_data(self) -> HeldData:
        """Return what the office holds about this chat's user: bookings, consents, channel."""
        ...

    def new_receipt(self) -> str:
        """Return a fresh receipt number for an erasure, short enough to read on the phone."""
        ...
