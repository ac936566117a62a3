"""The inbox keeps acknowledged webhook bodies until applied, on SQLite and PostgreSQL:
leased to the receiving process by name, renewed while it works, taken back at once by its
restart, and by anyone once the lease runs out."""

from __future__ import annotations

from datetime import timedelta

from storage import inbox

LEASE = timedelta(seconds=15)
A, B = "web@host-a:8000", "web@host-b:8000"


def store(app, clock, body: str, owner: str = A) -> int:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        return inbox.store(s, channel="line", body=body, now=clock(), lease=LEASE, owner=owner)


def claim(app, clock, owner: str = B, channel: str = "line") -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        return inbox.claim_abandoned(s, channel=channel, now=clock(), lease=LEASE, owner=owner)


def test_a_stored_body_is_leased_to_its_receiver_until_the_lease_runs_out(app, clock):
    row_id = store(app, clock, '{"events": []}')
    assert claim(app, clock) == []
    with app.db.transaction() as s:
        assert inbox.load(s, row_id) == ('{"events": []}', clock())
    clock.advance(seconds=16)  # the receiver died for good
    assert claim(app, clock) == [(row_id, 1)]
    assert claim(app, clock) == []  # now leased to B
    assert claim(app, clock, channel="telegram") == []


def test_a_restart_takes_its_own_rows_back_at_once_and_keeps_this_runs(app, clock):
    left = [store(app, clock, "left 1"), store(app, clock, "left 2")]
    other = store(app, clock, "a sibling's", owner=B)
    ours = store(app, clock, "stored by this run")
    with app.db.transaction() as s:
        taken = inbox.reclaim_own(
            s, channel="line", now=clock(), lease=LEASE, owner=A, keep={ours}
        )
    assert taken == [(left[0], 1), (left[1], 1)]  # no lease had run out
    assert other not in [row_id for row_id, _ in taken]


def test_renewing_keeps_a_lease_held_only_by_its_owner(app, clock):
    row_id = store(app, clock, "slow")
    for _ in range(4):
        clock.advance(seconds=10)
        with app.db.transaction() as s:
            assert inbox.renew(s, [row_id], now=clock(), lease=LEASE, owner=A) == 1
            assert inbox.renew(s, [row_id], now=clock(), lease=LEASE, owner=B) == 0
        assert claim(app, clock) == []  # 40 s on, still A's
    clock.advance(seconds=16)  # A stopped renewing
    assert claim(app, clock) == [(row_id, 1)]


def test_a_finished_row_is_never_taken_again(app, clock):
    first = store(app, clock, "a")
    second = store(app, clock, "b")
    with app.db.transaction() as s:
        inbox.finish(s, first, clock())
    with app.db.transaction() as s:
        assert inbox.load(s, first) is None
        assert inbox.unprocessed_count(s, channel="line") == 1
        assert inbox.renew(s, [first], now=clock(), lease=LEASE, owner=A) == 0
    clock.advance(minutes=5)
    assert claim(app, clock) == [(second, 1)]


def test_each_take_over_is_counted_for_the_caller_to_give_up(app, clock):
    row_id = store(app, clock, "poison")
    for attempt in range(1, inbox.MAX_ATTEMPTS + 2):
        clock.advance(seconds=16)
        assert claim(app, clock) == [(row_id, attempt)]
