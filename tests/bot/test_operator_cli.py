"""`madoguchi calendar` and `madoguchi office` as operators use them: answers in the
counselors' language (ja and en) from the catalogs, aligned tables, refusals that say how to
fix a value (exit 2, never a traceback), and calendar changes that keep their promises."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot import counselors, operations
from bot.app import App
from bot.rendering import Renderer, catalog
from bot.slack.blocks import booking_message
from flows import languages
from flows.environment import ENVIRONMENT_ITEMS
from flows.intake import State
from storage import offices
from storage.models import Booking, OutboxMessage
from tests import golden
from tests.chat_client import ChatClient, FakeClock
from tests.conftest import make_app, operator_cli
from tests.flows.test_transcripts import walk_to

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def operator(tmp_path, monkeypatch, clock: FakeClock) -> Iterator[tuple[Run, App]]:  # type: ignore[no-untyped-def]
    """Run `madoguchi` on one SQLite file shared with a chat app, at the tests' clock;
    yield (run, app), where run(lang, *argv) → (exit status, stdout, stderr)."""
    run, app = operator_cli(f"sqlite:///{tmp_path / 'cli.sqlite3'}", tmp_path, monkeypatch, clock)
    yield run, app
    app.db.dispose()


def book_first_time(app: App, user: str, lang: str, number: str = "13010-00000001") -> ChatClient:
    """Return a jobseeker who booked the first free time (Wednesday 2026-11-25 09:00)."""
    chat = ChatClient(app, user=user)
    walk_to(chat, lang, State.CHOOSING_DAY, asking_jobseeker_number=number)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    return chat


def test_calendar_commands_change_what_is_offered(operator):
    run, _ = operator
    status, shown, _ = run("en", "calendar", "show", "--from", "2026-12-28", "--days", "8")
    assert status == 0
    assert "2026-12-28  Mon  08:30 0/2  09:00 0/2" in shown
    assert "2026-12-29  Tue  closed (year-end)" in shown
    assert "2027-01-01  Fri  closed (year-end)" in shown
    assert "2027-01-04  Mon  08:30 0/2" in shown
    _, shown, _ = run("ja", "calendar", "show", "--from", "2026-12-28", "--days", "2")
    assert "2026-12-28  月  08:30 0/2" in shown and "2026-12-29  火  休み（年末年始）" in shown
    status, said, _ = run(
        "en", "calendar", "close", "2026-12-28", "--from", "08:30", "--to", "12:00"
    )
    assert status == 0 and said.strip() == "Closed 2026-12-28 08:30-12:00 (rule #1)."
    _, said, _ = run("ja", "calendar", "close", "2026-12-30")
    assert said.strip() == "2026-12-30 終日 を休みにしました（ルール #2）。"
    opening = ("calendar", "open", "2027-01-02", "--from", "09:00", "--to", "10:00")
    assert run("en", *opening)[0] == 0
    assert run("en", "calendar", "places", "2026-12-28", "5", "--at", "13:00")[0] == 0
    _, shown, _ = run("en", "calendar", "show", "--from", "2026-12-28", "--days", "6")
    day = next(line for line in shown.splitlines() if line.startswith("2026-12-28"))
    assert "08:30" not in day and "12:00 0/2" in day and "13:00 0/5" in day
    assert "2027-01-02  Sat  09:00 0/2  09:30 0/2" in shown
    _, rules, _ = run("en", "calendar", "rules")
    lines = rules.splitlines()
    assert lines[0].split() == ["rule", "day", "kind", "time", "places", "note"]
    assert [line.split()[0] for line in lines[1:]] == ["#1", "#2", "#3", "#4"]
    assert len({line.index("20") for line in lines[1:]}) == 1  # the day column is aligned
    _, rules, _ = run("ja", "calendar", "rules")
    assert "臨時の受付" in rules and "終日" in rules
    assert run("en", "calendar", "remove", "4")[0] == 0
    status, _, err = run("ja", "calendar", "remove", "99")
    assert status == 1 and err.strip() == Renderer("ja").text("operator.rule.not_found", rule=99)
    status, _, err = run(
        "en", "calendar", "open", "2027-01-02", "--from", "10:00", "--to", "09:00"
    )
    assert status == 2 and "must be before the end" in err
    status, _, err = run("ja", "calendar", "close", "2026-12-28", "--from", "13:00")
    assert status == 2 and err.strip() == Renderer("ja").text("operator.rule.needs_both")


def test_rule_ids_are_never_given_again(operator):
    run, _ = operator
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        run("en", "calendar", "close", day)
    assert run("en", "calendar", "remove", "3")[0] == 0
    _, said, _ = run("en", "calendar", "close", "2026-12-04")
    assert "(rule #4)" in said
    assert run("en", "calendar", "remove", "3")[0] == 1  # #3 stays gone


def test_an_extra_opening_never_lowers_a_days_places(operator):
    run, _ = operator
    args = ("calendar", "open", "2026-12-01", "--from", "16:00", "--to", "18:00", "--places", "1")
    status, said, _ = run("en", *args)
    assert status == 0 and "16:00-18:00" in said
    _, shown, _ = run("en", "calendar", "show", "--from", "2026-12-01", "--days", "1")
    assert "16:00 0/2  16:30 0/2  17:00 0/1  17:30 0/1" in shown
    run("en", "calendar", "places", "2026-12-01", "1")  # lowering is asked for by name
    _, shown, _ = run("en", "calendar", "show", "--from", "2026-12-01", "--days", "1")
    assert "16:00 0/1" in shown and "0/2" not in shown
    status, _, err = run("en", "calendar", "places", "2026-12-01", "500")
    assert status == 2 and "from 0 to 100" in err


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_office_show_is_a_table_of_every_setting_once(operator, lang):
    run, _ = operator
    status, shown, _ = run(lang, "office", "show")
    assert status == 0
    rows = shown.splitlines()[1:]
    fields = [row.split()[0] for row in rows]
    assert len(fields) == len(set(fields)) == len({"code", "timezone", *offices.SETTABLE})
    assert set(offices.SETTABLE) <= set(fields)
    assert "mon-fri 08:30-17:15" in shown and "1440,60" in shown
    assert len({row.index(row.split()[1]) for row in rows}) == 1  # the values are aligned


@pytest.mark.parametrize("lang", languages.counselor_codes())
@pytest.mark.parametrize(
    ("field", "value", "message_id"),
    [
        ("slot_minutes", "7", "operator.setting.range"),
        ("slot_minutes", "45", "operator.setting.slot_grid"),
        ("slot_minutes", "thirty", "operator.setting.not_number"),
        ("hold_minutes", "0", "operator.setting.range"),
        ("places_per_slot", "101", "operator.setting.range"),
        ("places_per_slot", "-1", "operator.setting.range"),
        ("horizon_days", "", "operator.setting.not_number"),
        ("hours", "weekdays 9-5", "operator.setting.hours_format"),
        ("hours", "mon-fri 17:00-09:00", "operator.setting.hours_order"),
        ("hours", "mon-fri 09:00-09:20", "operator.setting.slot_fit"),
        ("reminder_offsets", "1 day", "operator.setting.offsets_format"),
        ("meeting_link_template", "http://insecure/{token}", "operator.setting.link_template"),
        ("meeting_app", "", "operator.setting.text_length"),
        ("colour", "blue", "operator.setting.unknown"),
    ],
)
def test_office_set_refuses_a_bad_value_saying_how_to_fix_it(
    operator, lang, field, value, message_id
):
    run, _ = operator
    before = run(lang, "office", "show")[1]
    status, out, err = run(lang, "office", "set", field, value)
    assert status == 2 and out == ""
    assert "Traceback" not in err and "Error" not in err
    opening = catalog(lang)[message_id].split("{")[0]
    assert err.startswith(opening)
    assert run(lang, "office", "show")[1] == before  # nothing changed


def test_office_set_changes_a_good_value(operator):
    run, _ = operator
    status, out, _ = run("en", "office", "set", "places_per_slot", "3")
    assert status == 0 and out.startswith("Changed places_per_slot.")
    assert any(row.split()[:2] == ["places_per_slot", "3"] for row in out.splitlines())
    assert run("en", "office", "set", "hours", "mon-thu 09:00-16:00; fri 09:00-12:00")[0] == 0
    _, shown, _ = run("en", "office", "show")
    assert "mon-thu 09:00-16:00; fri 09:00-12:00" in shown
    status, out, _ = run("ja", "office", "set", "reminder_offsets", "120")
    assert status == 0 and out.startswith("reminder_offsets を変更しました。")


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_a_closure_lists_holds_and_bookings_and_tells_the_jobseekers(operator, lang):
    run, app = operator
    other = "en" if lang == "ja" else "ja"
    booked = book_first_time(app, "booked", other)
    holder = ChatClient(app, user="holder")
    walk_to(holder, lang, State.CHOOSING_DAY, asking_jobseeker_number="13010-00000002")
    holder.press(holder.choice_ids[0])
    holder.press(holder.choice_ids[0])
    assert "booking.confirm.ask" in holder.ids
    with app.db.transaction() as s:
        reference = s.scalar(select(Booking.reference).where(Booking.status == "booked"))
    status, said, _ = run(
        lang, "calendar", "close", "2026-11-25", "--from", "09:00", "--to", "10:00"
    )
    r = Renderer(lang)
    assert status == 0
    assert r.text("operator.calendar.holds_withdrawn", count=1) in said
    assert r.text("operator.calendar.bookings_standing", count=1) in said
    assert reference in said and r.text("operator.calendar.tell_hint", rule=1) in said
    holder._collect()
    assert holder.ids[0] == "booking.withdrawn" and holder.language == lang
    booked._collect()
    assert booked.ids == []  # not told until the office says so
    status, said, _ = run(lang, "calendar", "tell", "1")
    assert status == 0 and r.text("operator.calendar.bookings_told", count=1) in said
    booked._collect()
    assert booked.ids[:2] == ["booking.closed_by_office", "mybooking.book_again"]
    assert booked.language == other  # the jobseeker's own language
    with app.db.transaction() as s:
        status_now = s.scalar(select(Booking.status).where(Booking.reference == reference))
    assert status_now == "cancelled"
    _, said, _ = run(lang, "calendar", "tell", "1")
    assert r.text("operator.calendar.bookings_told", count=0) in said  # nobody twice


def test_close_with_tell_cancels_and_tells_at_once(operator):
    run, app = operator
    booked = book_first_time(app, "booked", "en")
    status, said, _ = run("en", "calendar", "close", "2026-11-25", "--tell")
    assert status == 0 and "were cancelled" in said
    booked._collect()
    assert booked.ids[0] == "booking.closed_by_office"


def test_a_slot_length_that_would_hide_a_booking_is_refused_with_the_booking(operator):
    run, app = operator
    book_first_time(app, "booked", "ja")
    with app.db.transaction() as s:
        reference = s.scalar(select(Booking.reference))
    for lang in languages.counselor_codes():
        status, _, err = run(lang, "office", "set", "slot_minutes", "60")
        assert status == 2 and reference in err and "2026-11-25 09:00" in err
    status, _, err = run("en", "office", "set", "hours", "mon-fri 13:00-17:00")
    assert status == 2 and reference in err
    _, shown, _ = run("en", "office", "show")
    assert "mon-fri 08:30-17:15" in shown
    assert any(row.split()[:2] == ["slot_minutes", "30"] for row in shown.splitlines())


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_an_unknown_office_is_an_error_that_says_how_to_create_it(operator, monkeypatch, lang):
    run, _ = operator
    monkeypatch.setenv("MADOGUCHI_OFFICE", "meguro")
    status, said, err = run(lang, "office", "show")
    assert status == 2 and said == ""
    assert "meguro" in err and "shinagawa" in err
    assert "madoguchi office create meguro --name" in err
    assert "Traceback" not in err


def test_two_offices_keep_their_calendars_settings_and_bookings_apart(
    operator, monkeypatch, clock
):
    run, shinagawa = operator
    monkeypatch.setenv("MADOGUCHI_OFFICE", "meguro")
    status, said, _ = run(
        "en",
        "office",
        "create",
        "meguro",
        "--name",
        "Hello Work Meguro",
        "--phone",
        "03-1111-2222",
    )
    assert status == 0 and "meguro" in said
    assert run("en", "office", "create", "meguro", "--name", "again")[0] == 2
    status, _, _ = run("en", "office", "set", "places_per_slot", "1")
    assert status == 0
    assert run("en", "calendar", "close", "2026-11-25")[0] == 0  # Meguro closes Wednesday
    meguro = make_app(
        shinagawa.db.url, clock, shinagawa.settings.data_dir, MADOGUCHI_OFFICE="meguro"
    )
    try:
        there = ChatClient(meguro, user="m")
        walk_to(there, "en", State.CHOOSING_DAY, asking_jobseeker_number="13010-00000009")
        assert not any("2026-11-25" in c for c in there.choice_ids)  # closed in Meguro only
        here = ChatClient(shinagawa, user="s")
        walk_to(here, "en", State.CHOOSING_DAY, asking_jobseeker_number="13010-00000008")
        assert "day:2026-11-25" in here.choice_ids
        there.walk("en")
        here.walk("en")
        assert "Hello Work Meguro" not in here.text
        _, listing_m, _ = run(
            "en", "bookings", "--day", there.stored().data["booking"]["starts_at"][:10]
        )
        monkeypatch.setenv("MADOGUCHI_OFFICE", "shinagawa")
        _, shown, _ = run("en", "office", "show")
        [row] = [line.split() for line in shown.splitlines() if line.startswith("places_per_slot")]
        assert row[1] == "2"  # Meguro's 1 changed nothing here
        with shinagawa.db.transaction() as s:
            recipients = {
                m.recipient
                for m in s.scalars(
                    select(OutboxMessage).where(OutboxMessage.channel == "counselors")
                )
            }
        assert recipients == {"shinagawa", "meguro"}  # each office's counselors, apart
        assert there.stored().data["booking"]["reference"] in listing_m
        assert here.stored().data["booking"]["reference"] not in listing_m
    finally:
        meguro.db.dispose()


OFFICE_WORDS = Path(__file__).parent / "transcripts" / "office_words.txt"
HOST = "https://meet.madoguchi.invalid/shinagawa/{token}?role=host"


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_the_offices_own_words_are_set_shown_and_removed(operator, lang):
    run, _ = operator
    said = []
    for field, value in (
        ("name.en", "Hello Work Shinagawa"),
        ("advice.antivirus.ja", "スマートフォンは有料のウイルス対策アプリを入れてください。"),
        ("advice.antivirus.en", "On a smartphone, a paid antivirus app counts."),
        ("meeting_host_url_template", HOST),
        ("advice.antivirus.ja", ""),  # empty: removed
    ):
        status, out, err = run(lang, "office", "set", field, value)
        assert status == 0 and err == ""
        said.append(f"$ madoguchi office set {field} {value!r}\n{out.splitlines()[0]}")
    _, shown, _ = run(lang, "office", "show")
    golden.check(
        OFFICE_WORDS, f"[{lang}]\n" + "\n".join(said) + f"\n$ madoguchi office show\n{shown}"
    )
    for field in ("name.en", "advice.antivirus.en", "meeting_host_url_template"):
        assert run(lang, "office", "set", field, "")[0] == 0
    _, shown, _ = run(lang, "office", "show")
    assert "Hello Work Shinagawa" not in shown and "role=host" not in shown
    assert "name.<code>" in shown and "advice.<item>.<code>" in shown


@pytest.mark.parametrize("lang", languages.counselor_codes())
@pytest.mark.parametrize(
    ("field", "message_id", "params"),
    [
        ("advice.printer.ja", "operator.setting.advice_item", {}),
        ("advice.antivirus", "operator.setting.advice_item", {}),
        ("advice.antivirus.fr", "operator.setting.language", {}),
        ("name.xx", "operator.setting.language", {}),
        ("name.en.us", "operator.setting.language", {}),
        ("meeting_host_url_template", "operator.setting.link_template", {"value": "http://x"}),
    ],
)
def test_the_offices_own_words_refuse_an_unknown_item_or_language(
    operator, lang, field, message_id, params
):
    run, _ = operator
    before = run(lang, "office", "show")[1]
    status, out, err = run(lang, "office", "set", field, params.get("value", "text"))
    assert (status, out) == (2, "")
    expected = {
        "operator.setting.advice_item": {"field": field, "items": ", ".join(ENVIRONMENT_ITEMS)},
        "operator.setting.language": {"field": field, "codes": ", ".join(languages.codes())},
        "operator.setting.link_template": params,
    }[message_id]
    assert err.strip() == Renderer(lang).text(message_id, **expected)
    assert run(lang, "office", "show")[1] == before  # nothing changed


def counselor_views(run: Run, app: App, lang: str) -> str:
    """Return what counselors read of the day's bookings: the notification (terminal and
    Slack), the morning digest, the Slack schedule and `madoguchi bookings`."""
    r = Renderer(lang)
    printed = io.StringIO()
    counselors.deliver(app.db, app.vault, language=lang, out=printed, now=app.clock)
    with app.db.transaction() as session:
        [booking] = session.scalars(select(Booking)).all()
        slack, _ = booking_message(session, booking, app.vault, r)
        digest = counselors.digest_text(session, {"day": "2026-11-25"}, app.vault, r)
        office = offices.get_office(session, "shinagawa")
        rows = operations.schedule(session, office, app.vault, date(2026, 11, 25), 1)
    schedule = "\n".join(counselors.consultation_line(c, r) for c in rows)
    _, listing, _ = run(lang, "bookings", "--day", "2026-11-25")
    return "\n\n".join(
        (
            f"-- notification\n{printed.getvalue().strip()}",
            f"-- slack\n{slack}",
            f"-- digest\n{digest}",
            f"-- schedule\n{schedule}",
            f"-- bookings\n{listing.strip()}",
        )
    )


@pytest.mark.parametrize("lang", languages.counselor_codes())
def test_counselors_see_the_host_link_beside_the_meeting_link_when_set(operator, lang):
    run, app = operator
    chat = book_first_time(app, "u1", "en")
    without = counselor_views(run, app, lang)
    with app.db.transaction() as session:
        [booking] = session.scalars(select(Booking)).all()
        host = HOST.format(token=booking.meeting_token)
        again = update(OutboxMessage).where(OutboxMessage.channel == "counselors")
        session.execute(again.values(status="pending", sent_at=None))  # the notification anew
    assert host not in without
    assert run(lang, "office", "set", "meeting_host_url_template", HOST)[0] == 0
    with_host = counselor_views(run, app, lang)
    assert with_host.count(host) == 5  # every view, once each
    assert host not in chat.text  # never shown to the jobseeker
    golden.check(OFFICE_WORDS, f"[{lang}] without a host link\n{without}")
    golden.check(OFFICE_WORDS, f"[{lang}] with a host link\n{with_host}")
