"""Service stopped for a person (terms art. 12(1)): recorded by a counselor with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import Booking, Suspension


def is_suspended(
    session: Session, *, office_id: int, pseudonym: str, jobseeker_key: str | None
) -> bool:
    """Return True when the office stopped the service for this person."""
    who = Suspension.pseudonym == pseudonym
    if jobseeker_key:
        who = or_(who, Suspension.jobseeker_key == jobseeker_key)
    found = session.scalar(
        select(Suspension.id).where(Suspension.office_id == office_id, who).limit(1)
    )
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
