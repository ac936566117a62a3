"""The outbox's claims on SQLite and PostgreSQL: each recipient's oldest message, fairly
across recipients; short leases, renewed by their holder and taken back by its next run;
a delivery's plan, fixed at its first attempt."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from storage import outbox

LEASE = timedelta(seconds=15)
RECLAIM_AFTER = timedelta(seconds=3)


def queue(app: App, recipient: str, count: int) -> list[int]:
    with app.db.transaction() as session:
        return [
            outbox.enqueue(
                session, channel="telegram", recipient=recipient, payload={}, now=app.clock()
            )
            for _ in range(count)
        ]


def claim(app: App, owner: str, limit: int = 10) -> list[int]:
    with app.db.transaction() as session:
        rows = outbox.claim_batch(
            session,
            channel="telegram",
            now=app.clock(),
            lease=LEASE,
            limit=limit,
            owner=owner,
            reclaim_after=RECLAIM_AFTER,
        )
        return [row.id for row in rows]


def test_a_backlog_takes_one_place_and_every_recipient_gets_its_oldest(app):
    flood = queue(app, "a", 600)
    b, c = queue(app, "b", 2), queue(app, "c", 1)
    assert claim(app, "w", limit=2) == [flood[0], b[0]]
    assert claim(app, "w") == [c[0]]  # a and b have one in flight each: their next ones wait
    with app.db.transaction() as session:
        outbox.finish(session, b[0], app.clock())
    assert claim(app, "w") == [b[1]]


def test_a_sender_takes_back_its_own_unrenewed_leases_before_they_run_out(app, clock):
    rows = queue(app, "a", 1) + queue(app, "b", 1)
    assert claim(app, "host-1/telegram") == rows
    clock.advance(seconds=2)
    assert claim(app, "host-1/telegram") == []  # renewed within RECLAIM_AFTER: alive
    clock.advance(seconds=2)
    assert claim(app, "host-2/telegram") == []  # another sender waits for the lease
    assert claim(app, "host-1/telegram") == rows  # its own previous run's: taken back
    clock.advance(seconds=2)
    with app.db.transaction() as session:
        renewed = outbox.renew(
            session, rows, owner="host-1/telegram", now=app.clock(), lease=LEASE
        )
        assert (
            outbox.renew(session, rows, owner="host-2/telegram", now=app.clock(), lease=LEASE) == 0
        )
    assert renewed == 2
    clock.advance(seconds=14)  # past the first lease, within the renewed one
    assert claim(app, "host-2/telegram") == []
    clock.advance(seconds=2)
    assert claim(app, "host-2/telegram") == rows  # a lease that ran out is anyone's


def test_a_plan_is_fixed_at_the_first_attempt_and_only_an_amendment_changes_it(app):
    [row] = queue(app, "a", 1)
    with app.db.transaction() as session:
        first = outbox.start_plan(session, row, {"retry_key": "k", "reply": True})
    with app.db.transaction() as session:
        again = outbox.start_plan(session, row, {"retry_key": "other", "reply": True})
        outbox.amend_plan(session, row, {"reply": False})
    with app.db.transaction() as session:
        amended = outbox.start_plan(session, row, {"retry_key": "third", "reply": True})
    assert first == again == {"retry_key": "k", "reply": True}
    assert amended == {"retry_key": "k", "reply": False}  # saved, the rest kept
