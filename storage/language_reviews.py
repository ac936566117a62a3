"""Which languages a native speaker at the office has reviewed (installation-wide).

A review is a fact about the installation, not about an office or a jobseeker: one row per
language code, replaced when the language is reviewed again. Never decides what is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import LanguageReview

SHIPPED_BY = "as shipped"
"""The reviewer the migration records for the languages shipped reviewed (ja, en)."""


@dataclass(frozen=True)
class Review:
    """Who reviewed a language and when (`at` is None for a language shipped reviewed)."""

    code: str
    by: str
    at: datetime | None

    @property
    def as_shipped(self) -> bool:
        """Return True for a language the project shipped reviewed."""
        return self.at is None and self.by == SHIPPED_BY


def reviews(session: Session) -> dict[str, Review]:
    """Return every recorded review by language code."""
    rows = session.scalars(select(LanguageReview)).all()
    return {row.code: Review(row.code, row.reviewed_by, row.reviewed_at) for row in rows}


def mark_reviewed(session: Session, code: str, *, by: str, at: datetime) -> Review:
    """Record that `by` reviewed language `code` at `at` (replacing an earlier review)."""
    row = session.get(LanguageReview, code)
    if row is None:
        row = LanguageReview(code=code, reviewed_by=by, reviewed_at=at)
        session.add(row)
    else:
        row.reviewed_by, row.reviewed_at = by, at
    session.flush()
    return Review(code, by, at)
