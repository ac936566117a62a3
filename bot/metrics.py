"""`/metrics` in Prometheus's text format (prometheus_client), safe with several processes.

Counters of what went wrong at the edges (`bot.counters`) are prometheus_client counters; with
`PROMETHEUS_MULTIPROC_DIR` set (an empty directory shared by the processes of one host,
emptied before they start) each process writes its values there and any `web` process's
`/metrics` adds them up. What the database knows (the worker's heartbeat, the outbox
backlog) is read at scrape time. Labels are channel names only: never a user id, a
pseudonym or a text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Booking, FailedEvent, OutboxMessage, Reminder, WorkerLease

REGISTRY = CollectorRegistry(auto_describe=True)
"""This process's own metrics (when not in multiprocess mode)."""

COUNTED = {
    "failed_events": Counter(
        "madoguchi_failed_events",
        "Events recorded as failed (failed_events rows), by channel",
        ["channel"],
        registry=REGISTRY,
    ),
    "inbox_given_up": Counter(
        "madoguchi_inbox_given_up",
        "Stored webhook bodies that kept failing and were recorded for an operator, by channel",
        ["channel"],
        registry=REGISTRY,
    ),
}


WEBHOOK_REQUESTS = Counter(
    "madoguchi_webhook_requests",
    "Webhook requests answered, by channel and HTTP status: 200 taken; 400 malformed or"
    " unsigned, 401 bad signature, 403 bad secret token, 413 too large",
    ["channel", "status"],
    registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "madoguchi_step_seconds",
    "Time to apply one event of a jobseeker (one transaction), by channel; _count is the"
    " number of steps handled",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
SENDER_EVENTS = Counter(
    "madoguchi_sender",
    "What the outbox senders did, by channel and what: calls (platform API calls), delivered"
    " (outbox messages sent whole), rate_limited (429 answers), retried, failed, and on LINE"
    " replies, pushes, reply_fallbacks, reply_used_before, accepted_before, dropped",
    ["channel", "what"],
    registry=REGISTRY,
)


def webhook_answered(channel: str, status: int) -> None:
    """Count one answered webhook request."""
    WEBHOOK_REQUESTS.labels(channel=channel, status=str(status)).inc()


def step_took(channel: str, seconds: float) -> None:
    """Count one handled step and its duration."""
    STEP_SECONDS.labels(channel=channel).observe(seconds)


def sender_did(channel: str, what: str, amount: int = 1) -> None:
    """Count what a sender did (a field of `bot.delivery.SenderStats`)."""
    SENDER_EVENTS.labels(channel=channel, what=what).inc(amount)


def count(name: str, channel: str, amount: int = 1) -> None:
    """Add to a counter of `bot.counters` that `/metrics` exposes (others are in-process only)."""
    counter = COUNTED.get(name)
    if counter is not None:
        counter.labels(channel=channel).inc(amount)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("madoguchi_database_up", "1 when the database answered")
        age = GaugeMetricFamily(
            "madoguchi_worker_heartbeat_age_seconds",
            "Seconds since the worker's last heartbeat (absent: no worker holds the lease)",
        )
        pending = GaugeMetricFamily(
            "madoguchi_outbox_pending",
            "Messages waiting in the outbox, by channel",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "madoguchi_outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox, by channel",
            labels=["channel"],
        )
        booking_states = GaugeMetricFamily(
            "madoguchi_bookings",
            "Bookings on record by status (booked, cancelled, no_show, held, released, ...);"
            " cancellations grow as cancelled, retention removes old rows",
            labels=["status"],
        )
        reminder_states = GaugeMetricFamily(
            "madoguchi_reminders",
            "Reminders on record by status: due (pending and due now), pending (later), sent,"
            " dropped (the booking ended or the user cannot be reached), cancelled",
            labels=["status"],
        )
        failed = GaugeMetricFamily(
            "madoguchi_failed_events_recorded",
            "Failed events kept for an operator (failed_events rows), by channel",
            labels=["channel"],
        )
        now = self.now()
        try:
            with self.db.transaction() as session:
                last = session.scalar(select(WorkerLease.heartbeat_at))
                rows = session.execute(
                    select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at))
                    .where(OutboxMessage.status == "pending")
                    .group_by(OutboxMessage.channel)
                ).all()
                by_status = session.execute(
                    select(Booking.status, func.count()).group_by(Booking.status)
                ).all()
                reminders_by = session.execute(
                    select(Reminder.status, Reminder.due_at <= now, func.count()).group_by(
                        Reminder.status, Reminder.due_at <= now
                    )
                ).all()
                failed_by = session.execute(
                    select(FailedEvent.channel, func.count()).group_by(FailedEvent.channel)
                ).all()
        except Exception:  # noqa: BLE001 - a scrape reports the database as down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if last is not None:
            age.add_metric([], (now - last).total_seconds())
            yield age
        for channel, waiting, first in rows:
            pending.add_metric([channel], waiting)
            oldest.add_metric([channel], max(0.0, (now - _aware(first, now)).total_seconds()))
        yield pending
        yield oldest
        for status, n in by_status:
            booking_states.add_metric([status], n)
        yield booking_states
        reminder_counts: dict[str, int] = {}
        for status, due, n in reminders_by:
            name = "due" if status == "pending" and due else status
            reminder_counts[name] = reminder_counts.get(name, 0) + n
        for name, n in sorted(reminder_counts.items()):
            reminder_states.add_metric([name], n)
        yield reminder_states
        for channel, n in failed_by:
            failed.add_metric([channel], n)
        yield failed


def _aware(at: datetime, like: datetime) -> datetime:
    """`at` with `like`'s time zone when the database gave it without one (SQLite)."""
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None else at


def render(db: Database, now: Callable[[], datetime]) -> bytes:
    """Return the exposition text: the counters (of every process when multiprocess), then
    the database's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(DatabaseCollector(db, now))
    return generate_latest(counters) + generate_latest(scraped)
