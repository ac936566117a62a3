"""Who was told of a terms change is personal data too, on SQLite and PostgreSQL: erased on
request with the person, and kept past the retention period only while the conversation
that keeps them from being told twice is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import worker
from flows.intake import State
from storage import erasure
from storage.models import Conversation, TermsNotice
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to
from tests.storage.test_privacy_retention import book_with_note
from tests.terms_change import publish


def told(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Return the pseudonyms recorded as told, in order."""
    with app.db.transaction() as s:
        return list(s.scalars(select(TermsNotice.pseudonym).order_by(TermsNotice.id)))


def pseudonym_of(app, user: str) -> str:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        return s.scalars(select(Conversation.pseudonym).where(Conversation.user_ref == user)).one()


def test_erasure_removes_the_record_that_a_person_was_told(app, clock):
    _, booking = book_with_note(app)
    other = walk_to(ChatClient(app, user="other"), "en", State.CHOOSING_DAY)
    publish(app)
    assert worker.tell_terms_changes(app) == 2
    erased_one = pseudonym_of(app, booking.user_ref)
    assert sorted(told(app)) == sorted([erased_one, pseudonym_of(app, other.user)])
    with app.db.transaction() as s:
        person = erasure.find(s, app.vault, booking.reference or "")
        assert person is not None
        assert erasure.show(s, person)[1]["terms_notices"] == 1
        done = erasure.erase(s, app.vault, person, now=clock(), requested_by="operator")
    assert done.erased["terms_notices"] == 1
    assert told(app) == [pseudonym_of(app, other.user)]


def test_retention_removes_the_record_with_the_conversation(app, clock):
    _, booking = book_with_note(app)
    staying = walk_to(ChatClient(app, user="staying"), "en", State.CHOOSING_DAY)
    publish(app)
    assert worker.tell_terms_changes(app) == 2
    clock.now = booking.starts_at + timedelta(days=30)  # the conversations are kept: so are they
    assert worker.purge_old_data(app).terms_notices == 0 and len(told(app)) == 2
    clock.now = booking.starts_at + timedelta(days=91)
    staying.send("/help")  # still talking: their conversation (and record) stays
    purged = worker.purge_old_data(app)
    assert purged.conversations == 1 and purged.terms_notices == 1
    assert told(app) == [pseudonym_of(app, "staying")]
    assert worker.purge_old_data(app).most() == 0
