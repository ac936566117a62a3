"""The reminders repository on SQLite and PostgreSQL: a due reminder is claimed once and
returned as plain data; the message is the service's to build."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import reminders
from tests.bot.service.test_reminders import book


def test_a_due_reminder_is_claimed_once_and_returned_as_plain_data(app, clock):
    booking = book(app)
    now = booking.starts_at - timedelta(hours=24) + timedelta(seconds=5)
    with app.db.transaction() as s:
        claimed = reminders.claim_due(s, now)
    with app.db.transaction() as s:
        again = reminders.claim_due(s, now)
    [due] = claimed.due
    assert (due.reference, due.starts_at, due.meeting_url) == (
        booking.reference,
        booking.starts_at,
        booking.meeting_url,
    )
    assert (due.channel, due.user_ref, due.language) == ("console", "user-1", "en")
    assert again.due == [] and (again.dropped, again.withdrawn) == (0, 0)


def test_a_claim_rolled_back_with_its_transaction_is_claimed_again(app, clock):
    booking = book(app)
    now = booking.starts_at - timedelta(hours=24) + timedelta(seconds=5)
    with pytest.raises(RuntimeError), app.db.transaction() as s:
        assert len(reminders.claim_due(s, now).due) == 1
        raise RuntimeError("the outbox row could not be written")
    with app.db.transaction() as s:
        assert len(reminders.claim_due(s, now).due) == 1
