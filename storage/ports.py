"""The database's answers to the flow's questions (`flows.model.IntakePorts`).

Read-only towards the flow: it answers what a step may read, within the caller's transaction.
It never steps the flow, applies an effect, builds a reply or commits.
"""

from __future__ import annotations

import secrets
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from flows.model import BookingInfo, HeldBooking, HeldConsent, HeldData, OfficeProfile
from flows.office_calendar import OfficeCalendar
from flows.terms_document import TermsDocument
from storage import bookings, erasure, offices, terms_versions
from storage.models import Office
from storage.vault import Vault

SHOWN_STATUSES = ("booked", "cancelled", "no_show")
"""The bookings `/mydata` lists (holds are not bookings yet; they are erased all the same)."""


class StoredIntakePorts:
    """The flow's read side (`flows.model.IntakePorts`), answered from the database."""

    def __init__(
        self,
        session: Session,
        office: Office,
        now: datetime,
        *,
        pseudonym: str,
        jobseeker_key: str | None,
        chat: tuple[str, str] | None = None,
        vault: Vault | None = None,
    ) -> None:
        self._session = session
        self._chat = chat
        self._vault = vault
        self._office = office
        self._now = now
        self._pseudonym = pseudonym
        self._jobseeker_key = jobseeker_key
        self._calendar: OfficeCalendar | None = None
        self._free: list[tuple[datetime, int]] | None = None
        self._standing_now: bookings.Standing | None = None
        self._terms: dict[tuple[str, str | None], TermsDocument] = {}
        self.freed: list[datetime] = []
        """Places of this office freed by the expired holds swept while answering."""

    def now(self) -> datetime:
        """Return the time of the event being handled."""
        return self._now

    def office(self) -> OfficeProfile:
        """Return the office of this conversation."""
        return offices.profile(self._office)

    @property
    def calendar(self) -> OfficeCalendar:
        """Return the office calendar from now on (read once per event)."""
        if self._calendar is None:
            self._calendar = offices.calendar_ahead(self._session, self._office, self._now)
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
        tz = self.calendar.tz
        for at, _ in self._free_slots():
            day = at.astimezone(tz).date()
            if day not in days:
                if len(days) == limit:
                    break
                days.append(day)
        return days

    def free_times(self, day: date) -> list[datetime]:
        """Return the free slot starts of one office-local day."""
        tz = self.calendar.tz
        return [at for at, _ in self._free_slots() if at.astimezone(tz).date() == day]

    def nearest_free(self, around: datetime, *, limit: int) -> list[datetime]:
        """Return the free slot starts closest in time to `around`, in time order."""
        return nearest_in_order([at for at, _ in self._free_slots()], around, limit)

    def new_secret(self) -> str:
        """Return a fresh 128-bit URL-safe token."""
        return secrets.token_urlsafe(16)

    def terms(self, language: str, version: str | None = None) -> TermsDocument:
        """Return the office's terms in force today (office-local), or the version with this
        label, in `language` (the original when it has no translation)."""
        key = (language, version)
        if key not in self._terms:
            found = None
            if version is not None:
                found = terms_versions.by_label(self._session, self._office, version)
            if found is None:
                today = terms_versions.office_today(self._office, self._now)
                found = terms_versions.in_force(self._session, self._office, self._now, today)
            self._terms[key] = terms_versions.document(self._session, found, language)
        return self._terms[key]

    def new_reference(self) -> str:
        """Return a new booking reference (unique: see `bookings.new_reference`)."""
        return bookings.new_reference()

    def active_bookings(self) -> list[BookingInfo]:
        """Return this jobseeker's booked consultations that have not started."""
        found = bookings.active_bookings(
            self._session,
            pseudonym=self._pseudonym,
            jobseeker_key=self._jobseeker_key,
            now=self._now,
        )
        return [BookingInfo(b.reference or "", b.starts_at, b.meeting_url or "") for b in found]

    def booking_limit_reached(self) -> bool:
        """Return True when the office allows this jobseeker no further booking."""
        return self._standing().active_bookings >= self._office.max_active_bookings

    def service_stopped(self) -> bool:
        """Return True when the office stopped the service for this person."""
        return self._standing().service_stopped

    def _standing(self) -> bookings.Standing:
        # Asked together (a booking step asks both), once per answer.
        if self._standing_now is None:
            self._standing_now = bookings.standing(
                self._session,
                office_id=self._office.id,
                pseudonym=self._pseudonym,
                jobseeker_key=self._jobseeker_key,
                now=self._now,
            )
        return self._standing_now

    def forget_availability(self) -> None:
        """Drop cached availability and standing (after a failed booking attempt)."""
        self._free = None
        self._standing_now = None

    def held_data(self) -> HeldData:
        """Return what the office holds about this chat's user (erasure's own finding)."""
        assert self._chat is not None and self._vault is not None, "held_data needs the chat"
        channel, user_ref = self._chat
        person = erasure.of_chat(self._session, self._vault, channel, user_ref)
        found, _ = erasure.show(self._session, person)
        return HeldData(
            channel=channel,
            bookings=tuple(
                HeldBooking(b.reference or "", b.starts_at, b.status)
                for b in found
                if b.reference and b.status in SHOWN_STATUSES
            ),
            consents=tuple(
                HeldConsent(c.document, c.version, c.agreed_at)
                for c in erasure.consents(self._session, person)
            ),
        )

    def new_receipt(self) -> str:
        """Return a fresh erasure receipt number."""
        return erasure.new_receipt()


def nearest_in_order(starts: Sequence[datetime], around: datetime, limit: int) -> list[datetime]:
    """Return the `limit` starts nearest to `around` (the earlier of two as near), in time
    order. `starts` is in time order: walk out from `around` both ways (a sort by distance
    of a whole horizon cost a busy office's race losers a millisecond each)."""
    after = bisect_left(starts, around)
    before = after - 1
    nearest: list[datetime] = []
    while len(nearest) < limit and (before >= 0 or after < len(starts)):
        if after == len(starts) or (
            before >= 0 and around - starts[before] <= starts[after] - around
        ):
            nearest.append(starts[before])
            before -= 1
        else:
            nearest.append(starts[after])
            after += 1
    return sorted(nearest)
