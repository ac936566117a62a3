"""A new version of the terms for tests: the shipped texts with article 3 changed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.app import App
from storage import offices, terms_versions
from storage.models import TermsVersion

TERMS = Path(__file__).resolve().parents[1] / "locales" / "terms"
SUMMARIES = {"ja": "第3条の表現を改めました。", "en": "Article 3 is worded more clearly."}
EFFECTIVE = date(2026, 12, 1)  # a week after the tests' clock (Tuesday 2026-11-24)


def changed_text(language: str) -> str:
    """Return the shipped text of `language` with article 3 changed (header kept)."""
    text = (TERMS / f"{language}.txt").read_text(encoding="utf-8")
    if language == "ja":
        return text.replace("利用料は無料とします。", "利用料は、引き続き無料とします。")
    return text.replace("is provided free of charge.", "remains free of charge.")


def publish(app: App, *, languages: tuple[str, ...] = ("ja", "en")) -> TermsVersion:
    """Publish the changed terms, effective on EFFECTIVE, with summaries in ja and en."""
    with app.db.transaction() as session:
        office = offices.get_office(session, "shinagawa")
        now = app.clock()
        version = terms_versions.publish(
            session,
            office,
            {code: changed_text(code) for code in languages},
            effective=EFFECTIVE,
            today=terms_versions.office_today(office, now),
            summaries=SUMMARIES,
            now=now,
        )
        session.expunge(version)
        return version


def published_once(app: App) -> None:
    """Publish the changed terms unless this database has them already."""
    with app.db.transaction() as session:
        office = offices.get_office(session, "shinagawa")
        published = terms_versions.by_label(session, office, EFFECTIVE.isoformat())
    if published is None:
        publish(app)
