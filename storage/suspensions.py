"""Service stopped for a person (terms art. 12(1)): recorded by a counselor with a reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from storage.models import Booking, Suspension


class ServiceStopped(Exception):
    """The office stopped the service for this person; no booking is taken."""


# The parameters are named as in storage/bookings.py's person queries, so that one
# statement can ask both with one set of values (`bookings.standing`).
_BY_PSEUDONYM = Suspension.pseudonym == bindparam("p_pseudonym")
SUSPENDED = {  # built once, with and without a jobseeker key (see storage/db.py)
    keyed: select(Suspension.id)
    .where(
        Suspension.office_id == bindparam("p_office_id"),
        or_(_BY_PSEUDONYM, Suspension.jobseeker_key == bindparam("p_key"))
        if keyed
        else _BY_PSEUDONYM,
    )
    .limit(1)
    for keyed in (False, True)
}


def of_booking_person(key: Any) -> Any:
    """Return a SQL truth of "the service is stopped for the person of the booking row in
    the query" (its office and pseudonym, or the jobseeker key `key`): for a statement that
    reads the booking anyway, so the check costs no round trip of its own."""
    return exists().where(
        Suspension.office_id == Booking.office_id,
        or_(Suspension.pseudonym == Booking.pseudonym, Suspension.jobseeker_key == key),
    )


def is_suspended(
    session: Session, *, office_id: int, pseudonym: str, jobseeker_key: str | None
) -> bool:
    """Return True when the office stopped the service for this person."""
    params = {"p_office_id": office_id, "p_pseudonym": pseudonym, "p_key": jobseeker_key}
    # on the connection: a plain Core query needs none of the ORM's execution machinery
    found = session.connection().execute(SUSPENDED[bool(jobseeker_key)], params).first()
    return found is not None


def suspend(
    session: Session, booking: Booking, *, counselor: str, reason: str, now: datetime
) -> bool:
    """Stop the service for the person of a booking; False when it was already stopped."""
    if is_suspended(
        session,
        office_id=booking.office_id,
        pseudonym=booking.pseudonym,
        jobseeker_key=booking.jobseeker_key,
    ):
        return False
    session.add(
        Suspension(
            office_id=booking.office_id,
            pseudonym=booking.pseudonym,
            jobseeker_key=booking.jobseeker_key,
            reason=reason[:500],
            counselor=counselor,
            booking_id=booking.id,
            at=now,
        )
    )
    session.flush()
    return True
