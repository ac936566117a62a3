"""Reminders on SQLite and PostgreSQL: exactly once, never for a cancelled or moved booking,
late only while useful. Time is a fake clock moved by the test."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot import worker
from bot.console.chat import CHANNEL
from flows.codec import reply_from_json
from flows.intake import State
from storage import offices, reminders
from storage.models import Booking, OutboxMessage, Reminder
from tests.chat_client import ChatClient
from tests.flows.test_transcripts import walk_to


def book(app, user="user-1") -> Booking:  # type: ignore[no-untyped-def]
    """Book the first time of the second day (more than a day ahead: both reminders)."""
    chat = ChatClient(app, user=user)
    walk_to(chat, "en", State.CHOOSING_DAY)
    chat.press(chat.choice_ids[1])
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    with app.db.transaction() as s:
        return s.scalars(
            select(Booking).where(Booking.user_ref == user, Booking.status == "booked")
        ).one()


def reminder_messages(app, user="user-1") -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        rows = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.channel == CHANNEL, OutboxMessage.recipient == user
            )
        ).all()
        return [r for r in rows if r.payload.get("kind") == "reminder"]


def test_a_booking_gets_reminders_a_day_and_an_hour_before(app):
    booking = book(app)
    with app.db.transaction() as s:
        due = sorted(r.due_at for r in s.scalars(select(Reminder)))
    assert due == [booking.starts_at - timedelta(hours=24), booking.starts_at - timedelta(hours=1)]


def test_a_reminder_is_sent_once_in_the_users_language_even_after_a_restart(app, clock):
    booking = book(app)
    clock.now = booking.starts_at - timedelta(hours=24) + timedelta(seconds=5)
    assert worker.send_reminders(app).sent == 1
    assert worker.send_reminders(app).sent == 0  # the restarted worker's sweep in the same minute
    [message] = reminder_messages(app)
    reply = reply_from_json(message.payload["replies"][0])
    assert reply.body.id == "reminder.message" and message.payload["language"] == "en"
    assert reply.body.params["link"] == booking.meeting_url


def test_two_workers_started_by_mistake_send_each_reminder_once(app, clock):
    booking = book(app)
    clock.now = booking.starts_at - timedelta(minutes=59)  # both reminders are due
    barrier = threading.Barrier(4)
    results = []

    def sweep() -> None:
        barrier.wait()
        results.append(worker.send_reminders(app).sent)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 1  # both are due: the latest is sent once, the other superseded
    assert len(reminder_messages(app)) == 1


def test_a_late_reminder_goes_out_while_the_consultation_is_ahead(app, clock):
    booking = book(app)
    clock.now = booking.starts_at - timedelta(hours=3)  # the worker was down at the 24 h mark
    result = worker.send_reminders(app)
    assert (result.sent, result.dropped) == (1, 0)  # late, but the consultation is ahead
    clock.now = booking.starts_at - timedelta(minutes=59)
    assert worker.send_reminders(app).sent == 1  # the 1 h reminder, on time
    clock.now = booking.starts_at + timedelta(minutes=1)
    assert worker.send_reminders(app).sent == 0
    assert len(reminder_messages(app)) == 2
    with app.db.transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == "sent"))
            == 2
        )


def test_cancelled_and_moved_bookings_get_no_reminder(app, clock):
    booking = book(app)
    chat = ChatClient(app)
    chat.send("/mybooking")
    chat.click("mybooking.choice.cancel")
    chat.click("mybooking.choice.cancel_yes")
    clock.now = booking.starts_at - timedelta(minutes=30)
    assert worker.send_reminders(app).sent == 0
    with app.db.transaction() as s:
        assert set(s.scalars(select(Reminder.status))) == {"cancelled"}
    assert reminder_messages(app) == []


def test_reminder_sweep_drops_started_consultations_with_a_log_line(app, clock, caplog):
    booking = book(app)
    caplog.set_level(logging.WARNING, logger="madoguchi.reminders")
    clock.now = booking.starts_at + timedelta(minutes=5)
    result = worker.send_reminders(app)
    assert (result.sent, result.dropped) == (0, 2)
    assert "dropped" in caplog.text and booking.reference in caplog.text
    assert reminder_messages(app) == []


def test_the_scheduler_has_one_job_of_each_kind_with_chosen_misfire_rules(sqlite_app):
    scheduler = worker.build_scheduler(sqlite_app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "reminders",
        "hold-expiry",
        "retention",
        "morning-digest",
        "terms-changes",
    }
    assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
    assert jobs["reminders"].misfire_grace_time is None
    assert jobs["retention"].misfire_grace_time == 6 * 3600


def test_offsets_are_an_office_setting(app, clock):
    with app.db.transaction() as s:
        offices.update_office(s, offices.get_office(s, "shinagawa"), "reminder_offsets", "120")
    book(app)
    with app.db.transaction() as s:
        assert s.scalars(select(Reminder.offset_minutes)).all() == [120]
    _ = reminders  # the module under test
