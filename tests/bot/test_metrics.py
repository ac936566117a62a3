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
    assert now[("madoguchi_outbox_oldest_age_seconds", (("channel", outbox.COUNSELORS),))] == 12


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


@pytest.mark.asyncio
async def test_metrics_count_webhooks_steps_sends_and_what_the_database_holds(
    sqlite_url, clock, tmp_path
):
    from bot.app import utc_now
    from tests.chat_client import ChatClient
    from tests.conftest import make_app
    from tests.fakes.line_api import (
        ACCESS_TOKEN,
        CHANNEL_SECRET,
        FakeLine,
        follow_event,
        sign,
        webhook_body,
    )
    from tests.fakes.server import serving
    from tests.waiting import wait_until

    user = "U" + "0" * 31 + "7"
    async with FakeLine() as fake:
        app = make_app(
            sqlite_url,
            utc_now,  # the sender and the step run on the real clock here
            tmp_path,
            LINE_CHANNEL_SECRET=CHANNEL_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
            LINE_API_BASE_URL=fake.url,
        )
        try:
            ChatClient(app).walk("en")  # a booking (console), with its reminders ahead
            before = samples((await scrape(app)).text)
            async with (
                serving(web_app(app, with_worker=True), name="web") as base,
                httpx.AsyncClient(timeout=30) as http,
            ):
                body = webhook_body(follow_event(user, reply_token=fake.issue_reply_token(user)))
                forged = await http.post(
                    f"{base}/line/webhook", content=body, headers={"x-line-signature": "AAAA"}
                )
                taken = await http.post(
                    f"{base}/line/webhook", content=body, headers={"x-line-signature": sign(body)}
                )
                assert (forged.status_code, taken.status_code) == (401, 200)
                await wait_until(lambda: len(fake.messages(user)) == 1)
                await wait_until(
                    lambda: (
                        samples(render_now(app)).get(
                            (
                                "madoguchi_sender_total",
                                (("channel", "line"), ("what", "delivered")),
                            )
                        )
                        == before.get(
                            (
                                "madoguchi_sender_total",
                                (("channel", "line"), ("what", "delivered")),
                            ),
                            0,
                        )
                        + 1
                    )
                )
            now = samples((await scrape(app)).text)
        finally:
            app.db.dispose()

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return now.get(key, 0) - before.get(key, 0)

    assert grew("madoguchi_webhook_requests_total", channel="line", status="401") == 1
    assert grew("madoguchi_webhook_requests_total", channel="line", status="200") == 1
    assert grew("madoguchi_step_seconds_count", channel="line") == 1
    assert grew("madoguchi_sender_total", channel="line", what="calls") == 1
    assert grew("madoguchi_sender_total", channel="line", what="replies") == 1
    assert now[("madoguchi_bookings", (("status", "booked"),))] == 1
    assert now[("madoguchi_reminders", (("status", "pending"),))] >= 1
    assert ("madoguchi_reminders", (("status", "due"),)) not in now  # none due yet


def render_now(app) -> str:  # type: ignore[no-untyped-def]
    from bot import metrics

    return metrics.render(app.db, app.clock).decode()


def test_the_worker_serves_its_senders_counters_on_its_own_port(sqlite_url, tmp_path):
    import socket
    import time

    from tests.conftest import TEST_KEY

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_SECRET_KEY": TEST_KEY,
        "MADOGUCHI_WORKER_METRICS_PORT": str(port),
        "HOST": "127.0.0.1",
    }
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, check=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.HTTPError:
                assert worker.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200
        assert "# TYPE madoguchi_sender_total counter" in answer.text
        assert "# TYPE madoguchi_step_seconds histogram" in answer.text
    finally:
        worker.terminate()
        worker.wait(timeout=30)
