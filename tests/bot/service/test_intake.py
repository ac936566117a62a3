"""One transaction per event, on SQLite and PostgreSQL: resume, duplicates, sealed data."""

from __future__ import annotations

import threading

from sqlalchemy import func, select, text

from flows.intake import State
from flows.model import Event
from storage.models import Booking, Conversation, OutboxMessage, Slot
from tests.chat_client import ChatClient, to_event
from tests.conftest import make_app
from tests.flows.test_transcripts import book_first_free, start, verify_dialog, walk_to


def test_a_new_process_resumes_the_conversation(app, clock, tmp_path):
    chat = ChatClient(app)
    walk_to(chat, "en", State.CHECKING_ENVIRONMENT)
    app.db.dispose()
    restarted = make_app(app.db.url, clock, tmp_path)  # as after a restart
    again = ChatClient(restarted, user=chat.user)
    again.send("/start")
    assert again.ids[:2] == ["common.welcome_back", "environment.question"]
    assert again.language == "en"
    restarted.db.dispose()


def test_booking_end_to_end_and_personal_data_is_sealed(app):
    chat = ChatClient(app)
    walk_to(chat, "en", State.CHOOSING_ACCOMMODATION)
    verify_dialog(
        chat,
        [
            ("click:accommodation.kind.sign_language", "accommodation.ask_more"),
            ("click:accommodation.choice.done", "accommodation.note.ask"),
            ("click:accommodation.note.skip", "booking.day.ask"),
        ],
    )
    book_first_free(chat)
    with app.db.transaction() as s:
        dump = " ".join(
            str(row)
            for table in ("conversations", "bookings", "outbox", "audit_log", "consents")
            for row in s.execute(text(f"SELECT * FROM {table}")).all()
        )
        booking = s.scalars(select(Booking)).one()
        assert app.vault.open(booking.details_sealed)["jobseeker_number"] == "13010-12345678"
    assert "12345678" not in dump and "sign_language" not in dump


def test_the_same_event_key_twice_has_one_effect(app):
    chat = ChatClient(app)
    chat.send("/start")
    event = Event("choice", "lang:en", chat.turn)
    first = app.intake.handle_event("console", chat.user, event, event_key="update-1")
    second = app.intake.handle_event("console", chat.user, event, event_key="update-1")
    assert not first.duplicate and second.duplicate
    with app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_the_same_event_concurrently_has_one_effect(app):
    chat = ChatClient(app)
    chat.send("/start")
    event = Event("choice", "lang:en", chat.turn)
    results = []

    def deliver() -> None:
        results.append(app.intake.handle_event("console", chat.user, event, event_key="update-7"))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    with app.db.transaction() as s:
        assert s.scalar(select(Conversation.turn)) == 1
        assert s.scalar(select(Conversation.state)) == "reviewing_terms"


def test_a_new_users_first_event_delivered_twice_at_once_starts_one_conversation(app):
    results = []

    def deliver() -> None:
        results.append(
            app.intake.handle_event("console", "new-user", to_event("/start"), event_key="u-1")
        )

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in results) == [False, True, True]
    with app.db.transaction() as s:
        assert s.scalars(select(Conversation.state)).all() == ["choosing_language"]
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_two_messages_of_one_chat_at_once_make_one_transition(app):
    chat = ChatClient(app)
    verify_dialog(chat, start("en"))
    turn = chat.turn
    barrier = threading.Barrier(3)

    def tap() -> None:
        barrier.wait()
        app.intake.handle_event("console", chat.user, Event("choice", "terms:agree", turn))

    threads = [threading.Thread(target=tap) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.db.transaction() as s:
        assert s.scalar(select(Conversation.state)) == "confirming_meeting_app"
        assert s.scalar(text("SELECT count(*) FROM consents")) == 1


def test_a_taken_slot_offers_the_nearest_alternatives(app):
    first, second = ChatClient(app, user="first"), ChatClient(app, user="second")
    walk_to(first, "en", State.CHOOSING_DAY)
    walk_to(second, "en", State.CHOOSING_DAY, asking_jobseeker_number="13010-87654321")
    app_office_places(app, 1)
    second.press(second.choice_ids[0])  # the same day...
    first.press(first.choice_ids[0])
    wanted = second.choice_ids[0]
    first.press(wanted)  # first holds the only place
    assert "booking.confirm.ask" in first.ids
    second.press(wanted)  # ...and the same time
    assert second.ids[0] == "booking.taken" and "booking.time.ask_alternatives" in second.ids
    assert wanted not in second.choice_ids and len(second.choice_ids) == 5
    with app.db.transaction() as s:  # the refused hold left nothing behind (no savepoint)
        assert s.scalar(select(func.sum(Slot.taken))) == 1
        assert s.scalars(select(Booking.user_ref)).all() == ["first"]
    second.press(second.choice_ids[0])
    second.click("booking.choice.confirm")
    first.click("booking.choice.confirm")
    assert "booking.booked" in first.ids and "booking.booked" in second.ids


def test_an_expired_hold_is_retaken_or_reported_on_confirm(app, clock):
    chat = ChatClient(app)
    walk_to(chat, "en", State.CHOOSING_DAY)
    chat.press(chat.choice_ids[0])
    chat.press(chat.choice_ids[0])
    clock.advance(minutes=30)  # the hold expired while the user was away
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids


def app_office_places(app, places: int) -> None:
    from storage import offices

    with app.db.transaction() as s:
        offices.update_office(
            s, offices.get_office(s, "shinagawa"), "places_per_slot", str(places)
        )


def test_a_booking_reference_already_in_use_books_with_another(app, monkeypatch):
    from storage import bookings

    first, second = ChatClient(app, user="first"), ChatClient(app, user="second")
    walk_to(first, "en", State.CHOOSING_DAY)
    book_first_free(first)
    with app.db.transaction() as s:
        used = s.scalar(select(Booking.reference).where(Booking.user_ref == "first"))
    drawn = iter([used, "HW-22222Z"])  # the first draw collides with the first booking
    monkeypatch.setattr(bookings, "new_reference", lambda: next(drawn))
    walk_to(second, "en", State.CHOOSING_DAY, asking_jobseeker_number="13010-87654321")
    book_first_free(second)
    with app.db.transaction() as s:
        assert s.scalar(select(Booking.reference).where(Booking.user_ref == "second")) == (
            "HW-22222Z"
        )
        assert s.scalar(select(func.count()).select_from(Booking)) == 2
    assert "booking.booked" in second.ids and "HW-22222Z" in second.text


def test_at_most_steps_at_once_events_are_handled_at_a_time(app):
    from bot.service.intake import Intake

    inside, release = threading.Semaphore(0), threading.Event()

    def slow_clock():  # the first thing a step does: it waits here until released
        inside.release()
        release.wait(5)
        return app.clock()

    intake = Intake(db=app.db, vault=app.vault, clock=slow_clock, steps_at_once=2)
    users = [ChatClient(app, user=f"u{n}") for n in range(3)]
    threads = [
        threading.Thread(
            target=intake.handle_event, args=("console", u.user, Event("command", "start"))
        )
        for u in users
    ]
    for t in threads:
        t.start()
    # PostgreSQL: two steps run and the third waits its turn. SQLite runs one transaction
    # at a time whatever the limit (its one writer).
    running = 1 if app.db.is_sqlite else 2
    for _ in range(running):
        assert inside.acquire(timeout=5)
    assert not inside.acquire(timeout=0.3)
    release.set()
    for t in threads:
        t.join()
    for _ in range(3 - running):  # then the others ran too
        assert inside.acquire(timeout=0)
    with app.db.transaction() as s:
        assert sorted(s.scalars(select(Conversation.user_ref))) == ["u0", "u1", "u2"]
