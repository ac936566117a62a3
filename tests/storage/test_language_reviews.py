"""Language reviews are kept installation-wide, on SQLite and PostgreSQL: Japanese and English
are reviewed as shipped (by the migration), any other language until someone reviews it."""

from __future__ import annotations

from datetime import timedelta

from storage import language_reviews


def test_ja_and_en_are_reviewed_as_shipped_and_a_review_is_recorded(app, clock):
    with app.db.transaction() as session:
        shipped = language_reviews.reviews(session)
    assert sorted(shipped) == ["en", "ja"]
    assert all(review.as_shipped for review in shipped.values())

    with app.db.transaction() as session:
        language_reviews.mark_reviewed(session, "vi", by="Nguyen", at=clock())
    later = clock() + timedelta(days=3)
    with app.db.transaction() as session:
        language_reviews.mark_reviewed(session, "vi", by="Tran", at=later)
    with app.db.transaction() as session:
        found = language_reviews.reviews(session)
    assert found["vi"] == language_reviews.Review("vi", "Tran", later)
    assert not found["vi"].as_shipped
