"""Usage statistics (terms art. 7) on SQLite and PostgreSQL: a scripted week of
conversations (booked, declined terms, not eligible, abandoned midway, cancelled, no-show)
gives exactly the expected funnel and rates, on the command line (asserted whole), in the
HTML page (self-contained) and in the weekly Slack summary; a usage row holds nothing that
identifies the person, and erasure and retention leave the rows alone."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import usage_report, worker
from bot.app import App
from bot.rendering import Renderer
from flows.intake import State
from storage import erasure
from storage.models import (
    Base,
    Booking,
    Conversation,
    OutboxMessage,
    UsageBooking,
    UsageSession,
    UsageStep,
)
from tests.chat_client import ChatClient, FakeClock
from tests.conftest import operator_cli
from tests.flows.test_transcripts import walk_to

Run = Callable[..., tuple[int, str, str]]
NUMBERS = {"amy": "13010-00000011", "eve": "13010-00000012", "fay": "13010-00000013"}
WEEK = ("--from", "2026-11-23", "--to", "2026-11-29")


def book(app: App, user: str, lang: str, channel: str) -> ChatClient:
    """A jobseeker who books the first free time (Wednesday 2026-11-25 from 09:00)."""
    chat = ChatClient(app, user=user, channel=channel)
    walk_to(chat, lang, State.CHOOSING_DAY, asking_jobseeker_number=NUMBERS[user])
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    return chat


def scripted_week(app: App, clock: FakeClock) -> dict[str, ChatClient]:
    """Six conversations on Tuesday 2026-11-24 (Tokyo), then a no-show the day after."""
    amy = ChatClient(app, user="amy", channel="console")  # booked, with an interpreter
    walk_to(amy, "en", State.CHOOSING_ACCOMMODATION, asking_jobseeker_number=NUMBERS["amy"])
    amy.click("accommodation.kind.interpreter")
    amy.send("Tiếng Việt")
    amy.click("accommodation.kind.sign_language")
    amy.click("accommodation.choice.done")
    amy.click("accommodation.note.skip")
    amy.press(amy.choice_ids[0])
    amy.press(amy.choice_ids[0])
    amy.click("booking.choice.confirm")
    assert "booking.booked" in amy.ids

    ben = ChatClient(app, user="ben", channel="telegram")  # declined the terms
    walk_to(ben, "ja", State.REVIEWING_TERMS)
    ben.click("terms.choice.decline_terms")
    assert ben.position()[0] == State.DECLINED

    cat = ChatClient(app, user="cat", channel="line")  # not registered as a jobseeker
    walk_to(cat, "en", State.ASKING_REGISTRATION)
    cat.click("eligibility.registration.not_yet")
    assert cat.position()[0] == State.NOT_REGISTERED

    dan = ChatClient(app, user="dan", channel="console")  # stopped at the environment
    walk_to(dan, "ja", State.CHECKING_ENVIRONMENT)

    eve = book(app, "eve", "en", "telegram")  # booked, then cancelled it
    eve.send("/mybooking")
    eve.click("mybooking.choice.cancel")
    eve.click("mybooking.choice.cancel_yes")
    assert eve.position()[0] == State.BOOKING_CANCELLED

    fay = book(app, "fay", "ja", "line")  # booked, then did not come
    with app.db.transaction() as s:
        booking = s.scalars(
            select(Booking).where(Booking.user_ref == "fay", Booking.status == "booked")
        ).one()
        reference, starts_at = booking.reference or "", booking.starts_at
    clock.now = starts_at + timedelta(minutes=10)
    assert app.intake.office_action(reference, "no_show", counselor="U1").outcome == "done"
    return {"amy": amy, "ben": ben, "cat": cat, "dan": dan, "eve": eve, "fay": fay}


INTAKE = (
    "choosing_language",
    "reviewing_terms",
    "confirming_meeting_app",
    "asking_registration",
    "asking_jobseeker_number",
    "asking_device",
    "checking_environment",
    "confirming_conditions",
    "choosing_accommodation",
    "asking_note",
    "choosing_day",
    "choosing_time",
    "confirming_booking",
    "booked",
)


def expected_reached() -> Counter[str]:
    """What each scripted conversation reached, written out by hand."""
    reached: Counter[str] = Counter()
    for _booked in ("amy", "eve", "fay"):
        reached.update(INTAKE)
    reached.update(["asking_interpreter_language"])  # amy
    reached.update(INTAKE[:2] + ("declined",))  # ben
    reached.update(INTAKE[:4] + ("not_registered",))  # cat
    reached.update(INTAKE[:7])  # dan
    reached.update(["managing_booking", "confirming_cancel", "booking_cancelled"])  # eve
    return reached


def test_a_scripted_week_gives_exactly_the_expected_figures(app, clock):
    scripted_week(app, clock)
    with app.db.transaction() as s:
        found = usage_report.figures(s, _office(s, app), date(2026, 11, 23), date(2026, 11, 29))
    assert found.conversations == 6
    assert found.reached == expected_reached()
    assert found.outcomes == Counter(booked=3, declined_terms=1, not_eligible=1, in_progress=1)
    assert found.stopped_at == Counter(declined=1, not_registered=1, checking_environment=1)
    assert found.reached_by_channel["console"]["choosing_language"] == 2
    assert found.reached_by_channel["line"]["booked"] == 1
    assert found.reached_by_language["ja"]["checking_environment"] == 2  # dan, fay
    assert found.reached_by_language["ja"]["reviewing_terms"] == 3
    assert found.bookings == 3
    assert found.bookings_per_day[date(2026, 11, 24)] == 3
    assert sum(found.bookings_per_day.values()) == 3 and len(found.bookings_per_day) == 7
    assert found.ended == Counter(cancelled=1, no_show=1)
    assert found.lead_days == Counter({1: 3})
    assert found.accommodations == Counter(interpreter=1, sign_language=1)


def _office(session, app):  # type: ignore[no-untyped-def]
    from storage import offices

    return offices.get_office(session, app.settings.office)


@pytest.fixture
def operator(db_url, tmp_path, monkeypatch, clock) -> Iterator[tuple[Run, App]]:  # type: ignore[no-untyped-def]
    """Run `madoguchi` against the test's database (SQLite or PostgreSQL) at its clock."""
    run, app = operator_cli(db_url, tmp_path, monkeypatch, clock)
    yield run, app
    app.db.dispose()


EXPECTED_EN = """\
Usage of the service at shinagawa, 2026-11-23 to 2026-11-29 (terms art. 7; no person is identified)
Conversations started: 6

Steps reached, and where people stopped
step                      reached  stopped here  terminal  LINE  Telegram  English  日本語
Language                  6        0             2         2     2         3        3
Terms of use              6        0             2         2     2         3        3
Meeting app's terms       5        0             2         2     1         3        2
Declined the terms        1        1             0         0     1         0        1
Jobseeker registration    5        0             2         2     1         3        2
Not registered            1        1             0         1     0         1        0
Jobseeker number          4        0             2         1     1         2        2
Device                    4        0             2         1     1         2        2
Environment check         4        1             2         1     1         2        2
Consultation conditions   3        0             1         1     1         2        1
Interpreter or assistant  3        0             1         1     1         2        1
Interpreter's language    1        0             1         0     0         1        0
Note for the counselor    3        0             1         1     1         2        1
Day                       3        0             1         1     1         2        1
Time                      3        0             1         1     1         2        1
Confirmation              3        0             1         1     1         2        1
Booked                    3        0             1         1     1         2        1
My booking                1        0             0         0     1         1        0
Cancelling                1        0             0         0     1         1        0
Booking cancelled         1        0             0         0     1         1        0

How the conversations ended
                                 count  share
Booked                           3      50.0%
Declined the terms               1      16.7%
Not eligible                     1      16.7%
Stopped midway (or still going)  1      16.7%

Bookings made per day
2026-11-23  Mon  0
2026-11-24  Tue  3
2026-11-25  Wed  0
2026-11-26  Thu  0
2026-11-27  Fri  0
2026-11-28  Sat  0
2026-11-29  Sun  0

Bookings made in the period, and how they ended
                                             count  share
Bookings made                                3
Cancelled                                    1      33.3%
No-shows                                     1      33.3%
Moved to another time                        0      0.0%
Days from booking to consultation (average)  1.0

Accommodations requested (kinds only)
Interpreter                1
Sign-language interpreter  1
"""


def test_the_operator_reads_the_figures_of_a_period(operator, clock, tmp_path):
    run, app = operator
    scripted_week(app, clock)
    status, shown, err = run("en", "stats", *WEEK)
    assert (status, err) == (0, "")
    assert shown == EXPECTED_EN
    status, shown, _ = run("ja", "stats", *WEEK)
    assert status == 0
    assert shown.splitlines()[:5] == [
        "shinagawa の利用状況（2026-11-23〜2026-11-29、利用規約第7条。"
        "個人を特定する情報は含みません）",
        "開始された会話：6 件",
        "",
        "到達した段階と、止まった段階",
        "段階                到達  ここで停止  ターミナル  LINE  Telegram  English  日本語",
    ]
    assert "2026-11-24  火  3" in shown and "無断欠席                        1     33.3%" in shown

    page_file = tmp_path / "usage.html"
    status, shown, _ = run("en", "stats", *WEEK, "--html", str(page_file))
    assert status == 0
    assert shown == EXPECTED_EN + f"Charts written to {page_file} (open it in any browser).\n"
    page = page_file.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2
    for figure in (">Booked<", ">Bookings made<", ">33.3%<", ">50.0%<", ">11-24<"):
        assert figure in page
    # the funnel's bars carry the counts, the daily chart the bookings of each day
    assert '<text x="634" y="15">6</text>' in page  # the longest bar: 6 reached Language
    assert ">3</text>" in page and ">0</text>" in page
    lowered = page.lower()
    for external in ("http:", "https:", "//", "<script", "src=", "href=", "@import", "url("):
        assert external not in lowered.replace("<!doctype html>", ""), external


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("--from", "2026-11-31", "--to", "2026-12-01"), "'2026-11-31' is not a date"),
        (("--from", "2026-12-02", "--to", "2026-12-01"), "--from 2026-12-02 is after --to"),
        (("--from", "2026-12-01", "--to", "2026-12-01", "--office", "nakano"), "no office"),
    ],
)
def test_a_bad_period_or_office_is_refused_with_exit_status_2(operator, argv, said):
    run, _ = operator
    status, shown, err = run("en", "stats", *argv)
    assert (status, shown) == (2, "")
    assert said in err


def test_the_figures_are_per_office(operator, clock):
    run, app = operator
    scripted_week(app, clock)
    assert run("en", "office", "create", "nakano", "--name", "Nakano")[0] == 0
    status, shown, _ = run("en", "stats", *WEEK, "--office", "nakano")
    assert status == 0
    assert shown.splitlines()[:2] == [
        "Usage of the service at nakano, 2026-11-23 to 2026-11-29 "
        "(terms art. 7; no person is identified)",
        "Conversations started: 0",
    ]


def usage_rows(app: App) -> str:
    """Return every value of the usage tables, as text."""
    values: list[str] = []
    with app.db.transaction() as s:
        for model in (UsageSession, UsageStep, UsageBooking):
            for row in s.execute(select(model.__table__)):
                values += [str(v) for v in row]
    return "\n".join(values)


def every_other_table(app: App) -> str:
    """Return every value of every other table, as text (sealed ones opened)."""
    usage_tables = {"usage_sessions", "usage_steps", "usage_bookings"}
    values: list[str] = []
    with app.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in usage_tables:
                continue
            for row in s.execute(select(table)):
                for value in row:
                    values.append(json.dumps(value, ensure_ascii=False, default=str))
                    if isinstance(value, str) and value.startswith("gAAAAA"):
                        values.append(json.dumps(app.vault.open(value), ensure_ascii=False))
    return "\n".join(values)


def identifiers_of(app: App, user: str, channel: str) -> dict[str, Any]:
    with app.db.transaction() as s:
        booking = s.scalars(select(Booking).where(Booking.user_ref == user)).one()
        return {
            "chat id": user,
            "pseudonym": app.vault.pseudonym(channel, user),
            "jobseeker number": NUMBERS[user],
            "number hash": app.vault.lookup_key(NUMBERS[user]),
            "interpreter language": "Tiếng Việt",
            "reference": booking.reference,
            "meeting token": booking.meeting_token,
            "meeting URL": booking.meeting_url,
        }


def test_a_usage_row_holds_no_identifier_and_outlives_erasure_and_retention(app, clock):
    scripted_week(app, clock)
    found = identifiers_of(app, "amy", "console")
    kept = usage_rows(app)
    assert [name for name, value in found.items() if str(value) in kept] == []
    with app.db.transaction() as s:
        usage_id = s.scalars(
            select(Conversation.usage_id).where(Conversation.user_ref == "amy")
        ).one()
    assert usage_id is not None and usage_id in kept and usage_id in every_other_table(app)

    with app.db.transaction() as s:
        person = erasure.find(s, app.vault, NUMBERS["amy"])
        assert person is not None
        erasure.erase(s, app.vault, person, now=clock(), requested_by="operator:sato")
    assert usage_rows(app) == kept  # untouched
    assert usage_id not in every_other_table(app)  # nothing leads there any more

    clock.now += timedelta(days=400)
    worker.purge_old_data(app)
    assert usage_rows(app) == kept
    with app.db.transaction() as s:
        assert s.scalars(select(Booking.usage_id).where(Booking.usage_id.is_not(None))).all() == []
        assert s.scalars(select(Conversation)).all() == []
    with app.db.transaction() as s:
        found_after = usage_report.figures(
            s, _office(s, app), date(2026, 11, 23), date(2026, 11, 29)
        )
    assert found_after.conversations == 6 and found_after.ended["no_show"] == 1


def test_a_new_application_after_a_booking_is_counted_again(app, clock):
    amy = book(app, "amy", "en", "console")
    amy.send("/language")  # and back: the same application
    amy.click("language.native.ja")
    assert amy.position()[0] == State.BOOKED
    amy.send("/mybooking")
    amy.click("mybooking.choice.cancel")
    amy.click("mybooking.choice.cancel_yes")
    amy.send("/restart")  # another application: counted as another conversation
    amy.click("language.native.en")
    assert amy.position()[0] == State.REVIEWING_TERMS
    with app.db.transaction() as s:
        sessions = s.scalars(select(UsageSession).order_by(UsageSession.outcome)).all()
        assert [(u.outcome, u.last_state, u.language) for u in sessions] == [
            ("booked", "choosing_language", "ja"),
            ("in_progress", "reviewing_terms", "en"),
        ]
        steps = s.scalars(
            select(UsageStep.state).where(UsageStep.session_id == sessions[1].id)
        ).all()
        assert sorted(steps) == ["choosing_language", "reviewing_terms"]


def test_a_step_is_recorded_in_the_same_transaction(app, clock, monkeypatch):
    from bot.service import conversation as conversation_module

    chat = ChatClient(app, user="gus")
    walk_to(chat, "en", State.REVIEWING_TERMS)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the outbox refused")

    monkeypatch.setattr(conversation_module.outbox, "enqueue_later", fail)
    with pytest.raises(RuntimeError):
        chat.click("terms.choice.decline_terms")
    with app.db.transaction() as s:
        states = set(s.scalars(select(UsageStep.state)))
    assert "declined" not in states and "reviewing_terms" in states


def test_the_weekly_summary_needs_slack(sqlite_app, clock):
    assert worker.queue_weekly_usage(sqlite_app) is False
    with sqlite_app.db.transaction() as s:
        assert s.scalars(select(OutboxMessage)).all() == []
    jobs = {job.id for job in worker.build_scheduler(sqlite_app).get_jobs()}
    assert "weekly-usage" not in jobs


def test_the_text_report_is_in_the_counselors_language():
    found = usage_report.usage.Figures(date(2026, 11, 23), date(2026, 11, 23))
    found.bookings_per_day[date(2026, 11, 23)] = 0
    lines = usage_report.text_lines(found, Renderer("ja"), "shinagawa")
    assert lines[-2:] == ["希望された配慮（種類のみ）", "なし"]


def test_a_long_period_fits_its_daily_chart_on_a_page():
    start = date(2026, 1, 1)
    found = usage_report.usage.Figures(start, start + timedelta(days=364))
    for offset in range(365):
        found.bookings_per_day[start + timedelta(days=offset)] = offset % 5
    page = usage_report.html_page(found, Renderer("en"), "shinagawa")
    daily = page[page.index('<svg role="img" aria-label="Bookings made per day"') :]
    assert daily.startswith('<svg role="img" aria-label="Bookings made per day" width="730"')
    assert daily.count("<rect") == 365 and daily.count(">01-01<") == 1
    assert daily.count("</text>") == 365 // 22 + 1  # a date label every 22 days


def test_a_weekly_summary_left_queued_when_slack_went_away_is_printed(sqlite_app, clock):
    from bot import counselors
    from storage import outbox

    with sqlite_app.db.transaction() as s:
        outbox.enqueue(
            s,
            channel=outbox.COUNSELORS,
            recipient="shinagawa",
            payload={
                "kind": "usage_weekly",
                "office": "shinagawa",
                "start": "2026-11-23",
                "end": "2026-11-23",
            },
            now=clock(),
        )
    printed = io.StringIO()
    assert (
        counselors.deliver(sqlite_app.db, sqlite_app.vault, language="en", out=printed, now=clock)
        == 1
    )
    assert printed.getvalue() == (
        "\nUsage of the service last week (2026-11-23 to 2026-11-23), figures only:\n"
        "Conversations started: 0\n\n"
        "Steps reached, and where people stopped\n"
        "step  reached  stopped here\n\n"
        "How the conversations ended\n"
        "                                 count  share\n"
        "Booked                           0      -\n"
        "Declined the terms               0      -\n"
        "Not eligible                     0      -\n"
        "Stopped midway (or still going)  0      -\n\n"
        "Bookings made per day\n"
        "2026-11-23  Mon  0\n\n"
        "Bookings made in the period, and how they ended\n"
        "                                             count  share\n"
        "Bookings made                                0\n"
        "Cancelled                                    0      -\n"
        "No-shows                                     0      -\n"
        "Moved to another time                        0      -\n"
        "Days from booking to consultation (average)  -\n\n"
        "Accommodations requested (kinds only)\n"
        "none\n"
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_label_the_report_builds_is_in_the_counselors_catalogs(lang):
    from bot.rendering import catalog
    from flows.accommodations import KINDS

    built = {f"operator.state.{state}" for state in State}
    built |= {f"operator.stats.outcome.{o}" for o in usage_report.OUTCOMES}
    built |= {f"operator.stats.row.{e}" for e in (*usage_report.ENDINGS, "bookings")}
    built |= {f"operator.accommodation.{kind}" for kind in KINDS}
    built |= {
        f"operator.column.{c}" for c in ("step", "reached", "stopped_here", "count", "share")
    }
    assert sorted(built - set(catalog(lang))) == []
