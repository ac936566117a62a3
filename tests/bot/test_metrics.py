"""`/metrics`: Prometheus's text format with prometheus_client; the edge counters of every
process (multiprocess mode) and the database's gauges, with channel labels only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.counters import COUNTERS
from bot.web import web_app
from storage import outbox, worker_lease


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(app) -> httpx.Response:
    transport = httpx.ASGITransport(app=web_app(app, with_worker=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        return await client.get("/metrics")


@pytest.mark.asyncio
async def test_metrics_show_the_counters_the_heartbeat_and_the_outbox(sqlite_app, clock):
    before = samples((await scrape(sqlite_app)).text)
    failed_key = ("madoguchi_failed_events_total", (("channel", "line"),))
    COUNTERS.add("failed_events", "line")
    with sqlite_app.db.transaction() as session:
        worker_lease.acquire(session, "worker/1", clock())
        outbox.enqueue(
            session, channel=outbox.COUNSELORS, recipient="x", payload={"kind": "t"}, now=clock()
        )
    clock.advance(seconds=12)

    answer = await scrape(sqlite_app)

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    now = samples(answer.text)
    assert now[failed_key] == before.get(failed_key, 0) + 1
    assert now[("madoguchi_database_up", ())] == 1
    assert now[("madoguchi_worker_heartbeat_age_seconds", ())] == 12
    assert now[("madoguchi_outbox_pending", (("channel", outbox.COUNSELORS),))] == 1


COUNT_IN_A_PROCESS = """
from bot.counters import COUNTERS
COUNTERS.add("failed_events", "telegram", {amount})
"""


def test_counts_of_several_processes_add_up_in_multiprocess_mode(tmp_path: Path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for amount in (2, 3):  # two processes, one after the other, each its own file
        subprocess.run(
            [sys.executable, "-c", COUNT_IN_A_PROCESS.format(amount=amount)], env=env, check=True
        )
    render = (
        "from bot.metrics import render\n"
        "from storage.db import Database\n"
        "from datetime import datetime, UTC\n"
        f"db = Database('sqlite:///{tmp_path}/none.sqlite3')\n"
        "print(render(db, lambda: datetime.now(UTC)).decode())\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True, capture_output=True, text=True
    ).stdout
    found = samples(shown)
    assert found[("madoguchi_failed_events_total", (("channel", "telegram"),))] == 5
    assert found[("madoguchi_database_up", ())] == 0  # no schema there: reported, not raised
