"""What a process keeps from the office row's change tokens, on SQLite and PostgreSQL.

The calendar of the days ahead is kept while the office's calendar token stays the same, and
the terms versions to announce while its terms token does; the transaction that changes a
rule or publishes a version renews the token, so another process (here: a second app on
the same database, as the web process is to the CLI) sees the change at its next event.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import event

from flows.intake import State
from storage import offices
from tests.chat_client import ChatClient
from tests.conftest import make_app
from tests.flows.test_transcripts import walk_to


def _day(choice_id: str) -> date:
    return date.fromisoformat(choice_id.removeprefix("day:"))


def _last_rule(s, office) -> int:  # type: ignore[no-untyped-def]
    rule_id = offices.calendar(s, office).exceptions[-1].id
    assert rule_id is not None
    return rule_id


def test_a_closure_stored_elsewhere_reaches_the_next_listing(app, db_url, clock, tmp_path):
    first = walk_to(ChatClient(app, user="first"), "en", State.CHOOSING_DAY)
    offered = [c for c in first.choice_ids if c.startswith("day:")]
    closed = _day(offered[0])
    rules_read: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM calendar_rules" in statement:
            rules_read.append(statement)

    event.listen(app.db.engine, "before_cursor_execute", record)
    second = walk_to(ChatClient(app, user="second"), "en", State.CHOOSING_DAY)
    assert [c for c in second.choice_ids if c.startswith("day:")] == offered
    assert rules_read == []  # nothing changed: the kept calendar answered

    def as_operator(change) -> None:  # type: ignore[no-untyped-def]
        operator = make_app(db_url, clock, tmp_path / "operator")  # another process's writer
        with operator.db.transaction() as s:
            office = offices.get_office(s, "shinagawa")
        with operator.db.transaction() as s:  # an office read in an earlier session will do
            change(s, office)
        operator.db.dispose()

    as_operator(
        lambda s, office: offices.add_rule(s, office, day=closed, kind="closed", now=clock())
    )

    third = walk_to(ChatClient(app, user="third"), "en", State.CHOOSING_DAY)
    days = [_day(c) for c in third.choice_ids if c.startswith("day:")]
    assert closed not in days and days[0] == _day(offered[1])
    assert len(rules_read) == 1  # read again once, for the new token
    first.press(offered[0])  # the day closed while it was on screen
    assert first.ids == ["booking.time.none"]  # "no free times that day", days again
    assert closed not in [_day(c) for c in first.choice_ids if c.startswith("day:")]

    as_operator(lambda s, office: offices.remove_rule(s, office, _last_rule(s, office)))
    fourth = walk_to(ChatClient(app, user="fourth"), "en", State.CHOOSING_DAY)
    assert [c for c in fourth.choice_ids if c.startswith("day:")] == offered
