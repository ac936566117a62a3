"""Benchmarks of the Telegram channel against the fake Bot API server (127.0.0.1 only).

1. webhook load: N users post their intake updates to `madoguchi web` (a separate process)
   at 40 and at 100 concurrent connections: updates/s, p50/p99 time to the 200.
2. outbound drain: 1,000 messages to 1,000 chats through the sender, against the fake's
   limits (30/s overall, 1/s per chat): messages/s and the number of 429s.
3. whole intakes: 50 and 100 users at once press buttons through `madoguchi` (webhook +
   sender in one process) until booked, under those limits: steps/s, p99 per step, 429s.

    python bench/telegram_channel.py [--users 200] [--skip-postgres] [--parts 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scripted import scripted_steps  # noqa: E402
from bot import choice_data, config  # noqa: E402
from bot.app import build  # noqa: E402
from bot.telegram import CHANNEL  # noqa: E402
from bot.telegram.sender import TelegramSender  # noqa: E402
from bot.telegram.setup import make_bot  # noqa: E402
from flows.codec import reply_to_json  # noqa: E402
from flows.dialog import say  # noqa: E402
from storage import offices, outbox  # noqa: E402
from storage.throwaway_pg import PostgresUnavailable, ThrowawayPostgres  # noqa: E402
from storage.vault import Vault  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram, callback_update, message_update  # noqa: E402

SECRET = "bench-secret-0123456789"
STEPS = scripted_steps("en", hint="en")  # the users send language_code "en"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str, data_dir: Path, key: str) -> None:
    settings = config.load(
        {"DATABASE_URL": url, "MADOGUCHI_DATA_DIR": str(data_dir), "MADOGUCHI_SECRET_KEY": key}
    )
    app = build(settings, migrate=True)
    with app.db.transaction() as session:
        # beyond what an operator may set (100): the benchmark measures steps, not places
        offices.get_office(session, settings.office).places_per_slot = 1000
    app.db.dispose()


def start_bot(
    command: list[str], url: str, data_dir: Path, key: str, fake: FakeTelegram, port: int
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_SECRET_KEY": key,
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url.removesuffix("/bot"),
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    log = open(data_dir / f"bot-{port}.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *command],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    return wait_healthy(proc, port, data_dir / f"bot-{port}.log")


def wait_healthy(proc: subprocess.Popen, port: int, log_path: Path) -> subprocess.Popen:
    """Return `proc` once it answers /healthz; kill it and raise its log's tail otherwise."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(log_path.read_text()[-2000:])


async def webhook_load(port: int, users: int, connections: int) -> dict:
    """Each user posts the typed intake in order; users run concurrently.

    The load comes from aiohttp (as in bench/line_channel.py): httpx's client costs more CPU
    per request than the server under test and would cap the numbers.
    """
    import aiohttp

    url = f"http://127.0.0.1:{port}/telegram/webhook"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_id = iter(range(1, 10**9))
    semaphore = asyncio.Semaphore(connections)
    connector = aiohttp.TCPConnector(limit=connections)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as client:

        async def post(update: dict) -> int:
            async with client.post(url, json=update) as response:
                await response.read()
                return response.status

        async def one_user(chat_id: int) -> None:
            for step in STEPS:  # each simulated user is a different jobseeker
                text = step.typed_by(chat_id)
                update = {
                    "update_id": next(next_id),
                    **message_update(chat_id, text, language_code="en"),
                }
                async with semaphore:
                    started = time.perf_counter()
                    try:
                        status = await post(update)
                    except aiohttp.ClientError:  # a dropped connection: Telegram redelivers
                        statuses[-1] = statuses.get(-1, 0) + 1
                        status = await post(update)
                    latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_user(900_000 + n) for n in range(users)))
        elapsed = time.perf_counter() - started
    return {
        "updates": len(latencies),
        "seconds": elapsed,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "statuses": statuses,
    }  # -1: redelivered after a drop


async def drain(url: str, data_dir: Path, key: str, messages: int) -> dict:
    settings = config.load(
        {"DATABASE_URL": url, "MADOGUCHI_DATA_DIR": str(data_dir), "MADOGUCHI_SECRET_KEY": key}
    )
    app = build(settings, migrate=True)
    with FakeTelegram() as fake:  # real limits: 30/s overall, 1/s per chat
        with app.db.transaction() as session:
            for n in range(messages):
                outbox.enqueue(
                    session,
                    channel=CHANNEL,
                    recipient=str(500_000 + n),
                    now=datetime.now(UTC),
                    payload={
                        "language": "en",
                        "turn": 1,
                        "replies": [reply_to_json(say("common.welcome"))],
                    },
                )
        bot = make_bot(fake.token, fake.base_url.removesuffix("/bot"))
        async with bot:
            sender = TelegramSender(app.db, bot, clock=lambda: datetime.now(UTC))
            started = time.perf_counter()
            await sender.drain(timeout=600)
            elapsed = time.perf_counter() - started
        sent = len(fake.calls_to("sendMessage"))
        result = {
            "messages": sent,
            "seconds": elapsed,
            "rate": sent / elapsed,
            "429s": fake.count_429,
        }
    app.db.dispose()
    return result


async def intakes(port: int, fake: FakeTelegram, users: int) -> dict:
    """Users press buttons (and type the number) until booked, waiting for each reply."""
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    step_times: list[float] = []
    next_id = iter(range(10**6, 10**9))
    booked = 0

    def live(chat_id: int) -> tuple[int, dict | None]:
        best, message = -1, None
        for m in fake.messages(chat_id):
            for row in (m.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    turn, _ = choice_data.decode(button.get("callback_data", ""))
                    if turn is not None and turn >= best:
                        best, message = turn, m
        return best, message

    async with httpx.AsyncClient(
        timeout=120, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    ) as client:

        async def wait_for_turn_after(chat_id: int, turn: int) -> dict:
            while True:
                now_turn, message = live(chat_id)
                if now_turn > turn and message is not None:
                    return message
                await asyncio.sleep(0.02)

        async def one_user(chat_id: int) -> bool:
            turn, message = -1, None
            for step in STEPS:
                if step.kind == "choice":
                    assert message is not None
                    buttons = [
                        b for row in message["reply_markup"]["inline_keyboard"] for b in row
                    ]
                    button = next(
                        b
                        for b in buttons
                        if not step.value
                        or choice_data.decode(b["callback_data"])[1] == step.value
                    )
                    update = callback_update(
                        chat_id, button["callback_data"], message=message, language_code="en"
                    )
                else:
                    update = message_update(chat_id, step.typed_by(chat_id), language_code="en")
                update["update_id"] = next(next_id)
                started = time.perf_counter()
                await client.post(url, json=update)
                message = await wait_for_turn_after(chat_id, turn)
                step_times.append(time.perf_counter() - started)
                turn, _ = live(chat_id)
            return any("HW-" in (m.get("text") or "") for m in fake.messages(chat_id))

        started = time.perf_counter()
        results = await asyncio.gather(*(one_user(700_000 + n) for n in range(users)))
        elapsed = time.perf_counter() - started
        booked = sum(results)
    return {
        "users": users,
        "booked": booked,
        "steps": len(step_times),
        "seconds": elapsed,
        "steps_per_s": len(step_times) / elapsed,
        "p50": pct(step_times, 0.5),
        "p99": pct(step_times, 0.99),
        "429s": fake.count_429,
    }


def backends(skip_pg: bool):  # type: ignore[no-untyped-def]
    tmp = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    print(f"bot logs in {tmp}", file=sys.stderr)
    yield "SQLite file", lambda name: f"sqlite:///{tmp / name}.sqlite3", tmp
    if skip_pg:
        return
    try:
        with ThrowawayPostgres() as pg:
            yield "PostgreSQL 15", pg.create_database, tmp
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200, help="users of the webhook load test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--parts", default="1,2,3")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    key = Vault.new_key()
    load_rows, drain_rows, intake_rows = [], [], []
    for label, make_url, tmp in backends(args.skip_postgres):
        if "1" in parts:
            for connections in (40, 100):
                url = make_url(f"load{connections}")
                prepare_database(url, tmp, key)
                with FakeTelegram(enforce_limits=False) as fake:
                    port = free_port()
                    proc = start_bot(["web"], url, tmp, key, fake, port)
                    try:
                        result = asyncio.run(webhook_load(port, args.users, connections))
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
                load_rows.append((label, connections, result))
        if "2" in parts:
            drain_rows.append((label, asyncio.run(drain(make_url("drain"), tmp, key, 1000))))
        if "3" in parts:
            for users in (50, 100):
                url = make_url(f"intake{users}")
                prepare_database(url, tmp, key)
                with FakeTelegram() as fake:  # Telegram's limits enforced
                    port = free_port()
                    proc = start_bot([], url, tmp, key, fake, port)
                    try:
                        intake_rows.append((label, asyncio.run(intakes(port, fake, users))))
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
    if load_rows:
        print(
            f"\n## Webhook load ({args.users} users x {len(STEPS)} updates, "
            "`madoguchi web`, one process)\n"
        )
        print("| backend | connections | updates | updates/s | p50 ms | p99 ms | statuses |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for label, connections, r in load_rows:
            print(
                f"| {label} | {connections} | {r['updates']} | {r['updates'] / r['seconds']:.0f} "
                f"| {r['p50']:.1f} | {r['p99']:.1f} | {r['statuses']} |"
            )
    if drain_rows:
        print(
            "\n## Outbound drain (1,000 messages to 1,000 chats; fake limits 30/s, 1/s per chat)\n"
        )
        print("| backend | sent | seconds | messages/s | % of 30/s | 429s |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, r in drain_rows:
            print(
                f"| {label} | {r['messages']} | {r['seconds']:.1f} | {r['rate']:.1f} "
                f"| {r['rate'] / 30:.0%} | {r['429s']} |"
            )
    if intake_rows:
        print(
            "\n## Whole intakes at once (`madoguchi` webhook + sender; "
            "fake limits 30/s, 1/s per chat)\n"
        )
        print("| backend | users | booked | steps | seconds | steps/s | p50 ms | p99 ms | 429s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in intake_rows:
            print(
                f"| {label} | {r['users']} | {r['booked']} | {r['steps']} | {r['seconds']:.1f} "
                f"| {r['steps_per_s']:.1f} "
                f"| {r['p50']:.0f} | {r['p99']:.0f} | {r['429s']} |"
            )
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores; median is p50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
