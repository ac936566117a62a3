"""The scheduler: exactly one per deployment (the Procfile's `worker`, or inside the
process on the embedded default). It holds no state of its own.

APScheduler keeps its jobs in memory; the database is the truth. Each job is a sweep with
an explicit id that re-reads what is due and claims it with a conditional update, so a
restart, a missed run or a second worker started by mistake never sends anything twice:
- reminders every 15 s: coalesce=True (one catch-up run for many missed ones: a sweep
  covers them all), misfire_grace_time=None (a late sweep is still useful: reminders whose
  consultation already started are dropped by the sweep itself, with a log line);
- hold expiry every 30 s, same settings: frees places and offers them to waiting users;
- retention daily at 03:15 Tokyo time, misfire_grace_time=6 h: run late after a restart,
  but not in office hours of the next day; in small batches, then fresh planner statistics;
- the counselors' morning digest on weekdays at 08:00, misfire_grace_time=2 h;
- terms changes every 60 s, same settings as reminders: tells a batch of the users a new
  version of the terms must reach (art. 13), each once (a unique row per user and version).
- with Slack, the usage figures of the past week (terms art. 7, no identities) on Mondays
  at 08:05, misfire_grace_time=1 day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import App
from bot.service import reminders
from storage import offices, retention
from storage.db import refresh_statistics

log = logging.getLogger("madoguchi.worker")

REMINDER_EVERY_SECONDS = 15
HOLDS_EVERY_SECONDS = 30
TERMS_EVERY_SECONDS = 60
TERMS_BATCH = 100
"""Users told of a terms change per run: the senders pace them out from the outbox."""


BATCH = 500


def send_reminders(app: App, *, wake: Callable[[], None] | None = None) -> reminders.SweepResult:
    """Send every reminder that is due, a batch per transaction, waking the senders."""
    total = reminders.SweepResult()
    while True:
        batch = reminders.send_due(app.db, app.clock(), limit=BATCH)  # one transaction
        total.sent += batch.sent
        total.dropped += batch.dropped
        total.withdrawn += batch.withdrawn
        if batch.sent and wake is not None:
            wake()
        if batch.sent + batch.dropped + batch.withdrawn < BATCH:
            return total


def tell_terms_changes(app: App, *, wake: Callable[[], None] | None = None) -> int:
    """Tell a batch of users that the terms change (art. 13), waking the senders."""
    from bot.service import terms_changes

    told = terms_changes.tell_due(
        app.db, app.vault, app.clock, office_code=app.settings.office, limit=TERMS_BATCH
    )
    if told and wake is not None:
        wake()
    return told


def expire_holds(app: App) -> int:
    """Free expired holds and offer their places to the waitlist."""
    return app.intake.sweep_holds()


PURGE_BATCH = 200


def purge_old_data(app: App) -> retention.Purged:
    """Delete personal data past the retention period, a short transaction per batch.

    Small batches keep each write transaction short, so the bookers waiting on SQLite's one
    writer (or on PostgreSQL's row locks) are served between them. Then refresh the
    statistics the query planner reads.
    """
    now = app.clock()
    total = retention.Purged()
    while True:
        with app.db.transaction() as session:
            office = offices.get_office(session, app.settings.office)
            batch = retention.purge(session, office, now, limit=PURGE_BATCH)
        total.add(batch)
        if batch.most() < PURGE_BATCH:
            break
    retention.report(office, total)
    with app.db.transaction() as session:
        refresh_statistics(session)
    return total


def queue_digest(app: App) -> None:
    """Queue the morning digest of the day's consultations for the counselors."""
    from storage import outbox

    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        today = app.clock().astimezone(offices.calendar(session, office).tz).date()
        outbox.enqueue(
            session,
            channel=outbox.COUNSELORS,
            recipient=office.code,
            payload={"kind": "digest", "day": today.isoformat(), "office": office.code},
            now=app.clock(),
        )


def queue_weekly_usage(app: App) -> bool:
    """Queue the past week's usage figures for the counselors' Slack channel (only with
    Slack); return whether one was queued."""
    from bot.usage_report import last_week
    from storage import outbox

    if app.settings.slack is None:
        return False
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        start, end = last_week(app.clock().astimezone(offices.calendar(session, office).tz).date())
        outbox.enqueue(
            session,
            channel=outbox.COUNSELORS,
            recipient=office.code,
            payload={
                "kind": "usage_weekly",
                "office": office.code,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
            now=app.clock(),
        )
    return True


def _guarded(name: str, job: Callable[[App], object], app: App) -> Callable[[], None]:
    def run() -> None:
        try:
            job(app)
        except Exception as exc:  # noqa: BLE001 - a failed run is retried by the next one
            from bot.logs import frames

            log.error("job %s failed: %s\n%s", name, type(exc).__name__, frames(exc))

    return run


def build_scheduler(app: App, *, wake: Callable[[], None] | None = None) -> BackgroundScheduler:
    """Return a scheduler with its jobs (not started)."""
    scheduler = BackgroundScheduler(timezone="Asia/Tokyo")

    def reminders_then_wake(the_app: App) -> None:
        send_reminders(the_app, wake=wake)

    common = {"replace_existing": True, "coalesce": True, "max_instances": 1}
    scheduler.add_job(
        _guarded("reminders", reminders_then_wake, app),
        IntervalTrigger(seconds=REMINDER_EVERY_SECONDS),
        id="reminders",
        misfire_grace_time=None,
        next_run_time=datetime.now().astimezone(),
        **common,
    )

    def terms_then_wake(the_app: App) -> None:
        tell_terms_changes(the_app, wake=wake)

    scheduler.add_job(
        _guarded("terms", terms_then_wake, app),
        IntervalTrigger(seconds=TERMS_EVERY_SECONDS),
        id="terms-changes",
        misfire_grace_time=None,
        **common,
    )
    scheduler.add_job(
        _guarded("holds", expire_holds, app),
        IntervalTrigger(seconds=HOLDS_EVERY_SECONDS),
        id="hold-expiry",
        misfire_grace_time=None,
        **common,
    )
    scheduler.add_job(
        _guarded("retention", purge_old_data, app),
        CronTrigger(hour=3, minute=15, timezone="Asia/Tokyo"),
        id="retention",
        misfire_grace_time=6 * 3600,
        **common,
    )
    scheduler.add_job(
        _guarded("digest", queue_digest, app),
        CronTrigger(day_of_week="mon-fri", hour=8, minute=0, timezone="Asia/Tokyo"),
        id="morning-digest",
        misfire_grace_time=2 * 3600,  # after a late start, still useful until 10:00
        **common,
    )
    if app.settings.slack is not None:
        scheduler.add_job(
            _guarded("weekly usage", queue_weekly_usage, app),
            CronTrigger(day_of_week="mon", hour=8, minute=5, timezone="Asia/Tokyo"),
            id="weekly-usage",
            misfire_grace_time=24 * 3600,  # last week's figures are still news on Monday
            **common,
        )
    return scheduler
