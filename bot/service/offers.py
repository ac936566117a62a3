"""Offer freed places to the waitlist: each to the first user still waiting, held for a while.

Runs inside the caller's transaction, after the change that freed the places. It never
opens a transaction and never offers a place it could not hold.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from bot.service import conversation
from bot.service.conversation import Scope
from flows.model import Event, PlaceOffered
from storage import bookings, offices, waitlist

log = logging.getLogger("madoguchi.inbound")


def offer_places(scope: Scope, freed: list[datetime], *, skip: tuple[str, str] | None) -> None:
    """Offer each freed place to the first waiting user other than `skip` (channel, user)."""
    for starts_at in freed:
        _offer_place(scope, starts_at, skip=skip)


def _offer_place(scope: Scope, starts_at: datetime, *, skip: tuple[str, str] | None) -> None:
    office = scope.office
    after_id = 0
    while (
        entry := waitlist.next_waiting(scope.session, office.id, after_id=after_id)
    ) is not None:
        after_id = entry.id
        if skip == (entry.channel, entry.user_ref):
            continue
        row, conv = conversation.load(scope, entry.channel, entry.user_ref)
        if row.state != "waitlisted":  # they moved on: no longer waiting
            waitlist.mark(scope.session, entry, "done", scope.now)
            continue
        key = secrets.token_urlsafe(16)
        expires = scope.now + timedelta(minutes=office.waitlist_offer_minutes)
        holder = bookings.Holder(entry.channel, entry.user_ref, entry.pseudonym, row.language)
        try:
            with scope.session.begin_nested():
                bookings.hold(
                    scope.session,
                    office,
                    offices.calendar_ahead(scope.session, office, scope.now),
                    hold_key=key,
                    starts_at=starts_at,
                    expires_at=expires,
                    holder=holder,
                    now=scope.now,
                )
        except bookings.SlotUnavailable:
            return  # someone took the place already
        offer = Event.happened(PlaceOffered(key, starts_at, expires))
        conversation.tell(scope, row, conv, offer, conversation.jobseeker_key(scope, conv))
        waitlist.mark(scope.session, entry, "offered", scope.now)
        log.info("place at %s offered to waiting %s", starts_at.isoformat(), entry.pseudonym)
        return
