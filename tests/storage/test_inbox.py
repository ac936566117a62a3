"""The inbox keeps acknowledged webhook bodies until applied, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage import inbox

LEASE = timedelta(seconds=30)


def test_a_stored_body_is_leased_to_its_receiver_until_the_lease_runs_out(app, clock):
    with app.db.transaction() as s:
        row_id = inbox.store(s, channel="line", body='{"events": []}', now=clock(), lease=LEASE)
    with app.db.transaction() as s:
        assert inbox.claim_abandoned(s, channel="line", now=clock(), lease=LEASE) == []
        assert inbox.load(s, row_id) == ('{"events": []}', clock())
    clock.advance(seconds=31)  # the receiver died
    with app.db.transaction() as s:
        assert inbox.claim_abandoned(s, channel="line", now=clock(), lease=LEASE) == [row_id]
        assert inbox.claim_abandoned(s, channel="line", now=clock(), lease=LEASE) == []
        assert inbox.claim_abandoned(s, channel="telegram", now=clock(), lease=LEASE) == []


def test_a_finished_row_is_never_taken_again(app, clock):
    with app.db.transaction() as s:
        first = inbox.store(s, channel="line", body="a", now=clock(), lease=LEASE)
        second = inbox.store(s, channel="line", body="b", now=clock(), lease=LEASE)
        inbox.finish(s, first, clock())
    with app.db.transaction() as s:
        assert inbox.load(s, first) is None
        assert inbox.unprocessed_count(s, channel="line") == 1
    clock.advance(minutes=5)
    with app.db.transaction() as s:
        assert inbox.claim_abandoned(s, channel="line", now=clock(), lease=LEASE) == [second]


def test_a_row_that_keeps_failing_is_left_for_an_operator(app, clock):
    with app.db.transaction() as s:
        row_id = inbox.store(s, channel="line", body="poison", now=clock(), lease=LEASE)
    for _ in range(inbox.MAX_ATTEMPTS):
        clock.advance(seconds=31)
        with app.db.transaction() as s:
            assert inbox.claim_abandoned(s, channel="line", now=clock(), lease=LEASE) == [row_id]
    clock.advance(seconds=31)
    with app.db.transaction() as s:
        assert inbox.claim_abandoned(s, channel="line", now=clock(), lease=LEASE) == []
        assert inbox.unprocessed_count(s, channel="line") == 1
