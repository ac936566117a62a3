"""Benchmark of the LINE webhook against `madoguchi web` in a separate process (127.0.0.1).

N users post their typed intake as signed webhook requests (one event each, in order per
user) at 40 concurrent connections: webhook events/s, p50/p99 time to the 200, and how
long until every acknowledged event was applied from the inbox (events applied/s). The
web process only applies; replies stay in the outbox (the worker would send them).

    python bench/line_channel.py [--users 200] [--connections 40] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scripted import scripted_steps  # noqa: E402
from bench.telegram_channel import (  # noqa: E402
    backends,
    free_port,
    pct,
    prepare_database,
    wait_healthy,
)
from bot.line.webhook import PATH as LINE_PATH  # noqa: E402
from storage import inbox  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.vault import Vault  # noqa: E402
from tests.fakes.line_api import (  # noqa: E402
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    sign,
    text_event,
    webhook_body,
)

STEPS = scripted_steps("en")  # LINE sends no language: the menu keeps its order


def start_web(url: str, data_dir: Path, key: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_SECRET_KEY": key,
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": "http://127.0.0.1:9",  # `web` never sends; the worker would
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    log = open(data_dir / f"web-{port}.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    return wait_healthy(proc, port, data_dir / f"web-{port}.log")


def unprocessed(url: str) -> int:
    db = Database(url)
    try:
        with db.transaction() as session:
            return inbox.unprocessed_count(session, channel="line")
    finally:
        db.dispose()


async def webhook_load(port: int, users: int, connections: int) -> dict:
    """Each user posts the typed intake in order; users run concurrently.

    The load comes from aiohttp: httpx's client spends more CPU per request than the
    server under test at this concurrency, and would measure itself.
    """
    url = f"http://127.0.0.1:{port}{LINE_PATH}"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    semaphore = asyncio.Semaphore(connections)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one_user(number: int) -> None:
            user = f"U{number:032x}"
            for step in STEPS:  # each simulated user is a different jobseeker
                text = step.typed_by(number)
                body = webhook_body(text_event(user, text, reply_token=os.urandom(16).hex()))
                headers = {"x-line-signature": sign(body), "content-type": "application/json"}
                async with semaphore:
                    started = time.perf_counter()
                    async with client.post(url, data=body, headers=headers) as response:
                        await response.read()
                    latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_user(n) for n in range(users)))
        elapsed = time.perf_counter() - started
    return {
        "events": len(latencies),
        "seconds": elapsed,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "max": max(latencies) * 1000,
        "statuses": statuses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    key = Vault.new_key()
    rows = []
    for label, make_url, tmp in backends(args.skip_postgres):
        url = make_url("line")
        prepare_database(url, tmp, key)
        port = free_port()
        proc = start_web(url, tmp, key, port)
        try:
            started = time.perf_counter()
            result = asyncio.run(webhook_load(port, args.users, args.connections))
            deadline = time.monotonic() + 600
            while unprocessed(url) and time.monotonic() < deadline:
                time.sleep(0.1)
            result["applied"] = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        rows.append((label, result))
    print(
        f"\n## LINE webhook ({args.users} users x {len(STEPS)} events, "
        f"{args.connections} connections, `madoguchi web`, one process)\n"
    )
    print(
        "| backend | events | events/s to 200 | p50 ms | p99 ms | max ms | all applied after s "
        "| applied/s | statuses |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, r in rows:
        print(
            f"| {label} | {r['events']} | {r['events'] / r['seconds']:.0f} | {r['p50']:.1f} "
            f"| {r['p99']:.1f} | {r['max']:.0f} | {r['applied']:.1f} "
            f"| {r['events'] / r['applied']:.0f} | {r['statuses']} |"
        )
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
