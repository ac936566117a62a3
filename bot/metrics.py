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

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.db import Database
from storage.models import OutboxMessage, WorkerLease

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
        try:
            with self.db.transaction() as session:
                last = session.scalar(select(WorkerLease.heartbeat_at))
                rows = session.execute(
                    select(OutboxMessage.channel, func.count())
                    .where(OutboxMessage.status == "pending")
                    .group_by(OutboxMessage.channel)
                ).all()
        except Exception:  # noqa: BLE001 - a scrape reports the database as down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if last is not None:
            age.add_metric([], (self.now() - last).total_seconds())
            yield age
        for channel, waiting in rows:
            pending.add_metric([channel], waiting)
        yield pending


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
