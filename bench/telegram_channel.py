"""Benchmarks of the Telegram channel against the fake Bot API server (127.0.0.1 only).

1. webhook load: N users post their intake updates to `madoguchi web` (a separate process)
   at 40 and at 100 concurrent connections: updates/s, p50/p99 time to the 200.
2. outbound drain: 1,000 messages to 1,000 chats through the sender, against the fake's
   limits (30/s overall, 1/s per chat): messages/s and the number of 429s.
3. whole intakes, answering at once: 100 users press buttons through `madoguchi` (webhook +
   sender in one process) until booked, under those limits: steps/s, calls/s, p50/p99 per
   step, the slowest user's mean step against the fair share, 429s.
4. whole intakes, thinking: 120 users each take 3-8 s before every action: p50/p99/max
   from an action to the bot's answer, 429s.
5. a backlog: 600 messages queued for one chat, 20 other chats write /start meanwhile:
   how long each waits for its answer.

The fake's limits: 30/s overall, about 1/s per chat with a burst of 3 (its docstring).

    python bench/telegram_channel.py [--users 200] [--skip-postgres] [--parts 1,2,3,4,5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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
            # it answers (503 until a worker's heartbeat is seen: `web` alone has none)
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
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


RATE_LIMITED = ("sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup")


def sent_calls(fake: FakeTelegram, chat_id: int | None = None) -> int:
    """Successful sends and edits (all chats, or one)."""
    return sum(
        1
        for c in fake.calls
        if c.method in RATE_LIMITED
        and c.status == 200
        and (chat_id is None or c.params.get("chat_id") == chat_id)
    )


class Answers:
    """Wakes a waiting simulated user when the fake changed their chat (no polling)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.loop = asyncio.get_running_loop()
        self.events: dict[int, asyncio.Event] = {}
        fake.on_sent = lambda chat_id: self.loop.call_soon_threadsafe(self._set, chat_id)

    def _set(self, chat_id: int) -> None:
        self.event(chat_id).set()

    def event(self, chat_id: int) -> asyncio.Event:
        return self.events.setdefault(chat_id, asyncio.Event())


def live(fake: FakeTelegram, chat_id: int) -> tuple[int, dict | None]:
    """The newest turn offered in a chat and the message carrying its buttons."""
    best, message = -1, None
    for m in fake.messages(chat_id):
        for row in (m.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                turn, _ = choice_data.decode(button.get("callback_data", ""))
                if turn is not None and turn >= best:
                    best, message = turn, m
    return best, message


async def intakes(
    port: int, fake: FakeTelegram, users: int, *, think: tuple[float, float] | None = None
) -> dict:
    """Users press buttons (and type the number) until booked, each waiting for the answer.

    With `think`, each user takes a random time in that range (seconds) before every action,
    the first one included; without, everyone answers at once.
    """
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    step_times: list[float] = []
    per_user: dict[int, list[float]] = {}
    next_id = iter(range(10**6, 10**9))
    answers = Answers(fake)
    rng = random.Random(7)
    calls_before = sent_calls(fake)

    async with httpx.AsyncClient(
        timeout=120,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        limits=httpx.Limits(max_connections=40),
    ) as client:

        async def wait_for_turn_after(chat_id: int, turn: int) -> dict:
            event = answers.event(chat_id)
            while True:
                event.clear()
                now_turn, message = live(fake, chat_id)
                if now_turn > turn and message is not None:
                    return message
                try:
                    await asyncio.wait_for(event.wait(), 1.0)
                except TimeoutError:
                    pass

        async def one_user(chat_id: int) -> bool:
            turn, message = -1, None
            times = per_user.setdefault(chat_id, [])
            for step in STEPS:
                if think is not None:
                    await asyncio.sleep(rng.uniform(*think))
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
                times.append(time.perf_counter() - started)
                turn, _ = live(fake, chat_id)
            return any(
                "HW-" in (m.get("text") or m.get("caption") or "") for m in fake.messages(chat_id)
            )

        started = time.perf_counter()
        results = await asyncio.gather(*(one_user(700_000 + n) for n in range(users)))
        elapsed = time.perf_counter() - started
    fake.on_sent = None
    step_times = [t for times in per_user.values() for t in times]
    steps_per_s = len(step_times) / elapsed
    fair_share = users / steps_per_s  # each user's step, were the rate shared equally
    worst = max(sum(times) / len(times) for times in per_user.values())
    calls = sent_calls(fake) - calls_before
    return {
        "users": users,
        "booked": sum(results),
        "steps": len(step_times),
        "seconds": elapsed,
        "steps_per_s": steps_per_s,
        "calls_per_s": calls / elapsed,
        "calls_per_step": calls / len(step_times),
        "p50": pct(step_times, 0.5),
        "p99": pct(step_times, 0.99),
        "max": pct(step_times, 1.0),
        "worst_vs_fair": worst / fair_share,
        "429s": fake.count_429,
    }


async def backlog(url: str, port: int, fake: FakeTelegram, flood: int, others: int) -> dict:
    """One chat has `flood` messages queued; `others` chats write /start one after another
    while it drains: how long each waits for its answer."""
    app = build(
        config.load(
            {
                "DATABASE_URL": url,
                "MADOGUCHI_DATA_DIR": tempfile.mkdtemp(),
                "MADOGUCHI_SECRET_KEY": Vault.new_key(),
            }
        )
    )
    flooded = 600_000
    with app.db.transaction() as session:  # a long text read many times over, or a spammer
        for _ in range(flood):
            outbox.enqueue(
                session,
                channel=CHANNEL,
                recipient=str(flooded),
                now=datetime.now(UTC),
                payload={
                    "language": "en",
                    "turn": 1,
                    "replies": [reply_to_json(say("common.welcome"))],
                },
            )
    app.db.dispose()
    answers = Answers(fake)
    while sent_calls(fake, flooded) < 3:  # the flood is going out
        await asyncio.sleep(0.05)
    waits: list[float] = []
    async with httpx.AsyncClient(
        timeout=60, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    ) as client:

        async def one(n: int) -> None:
            await asyncio.sleep(n * 0.5)
            chat_id = 610_000 + n
            event = answers.event(chat_id)
            update = {"update_id": 50_000 + n, **message_update(chat_id, "/start")}
            started = time.perf_counter()
            await client.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update)
            while not sent_calls(fake, chat_id):
                event.clear()
                if sent_calls(fake, chat_id):
                    break
                try:
                    await asyncio.wait_for(event.wait(), 1.0)
                except TimeoutError:
                    pass
            waits.append(time.perf_counter() - started)

        flood_before = sent_calls(fake, flooded)
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(others)))
        elapsed = time.perf_counter() - started
    fake.on_sent = None
    return {
        "flood": flood,
        "others": len(waits),
        "p50": pct(waits, 0.5),
        "max": pct(waits, 1.0),
        "flood_sent": sent_calls(fake, flooded) - flood_before,
        "seconds": elapsed,
        "429s": fake.count_429,
    }


def run_against_bot(url: str, tmp: Path, key: str, work) -> dict:  # type: ignore[no-untyped-def]
    """Start `madoguchi` (webhook + sender, one process) against a fake with Telegram's
    limits, run `work(port, fake)` in a fresh loop, stop it."""
    prepare_database(url, tmp, key)
    with FakeTelegram() as fake:  # 30/s overall, about 1/s per chat with a burst of 3
        port = free_port()
        proc = start_bot([], url, tmp, key, fake, port)
        try:
            return asyncio.run(work(port, fake))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


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
    parser.add_argument("--parts", default="1,2,3,4,5")
    parser.add_argument(
        "--instant-users",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100],
        help="part 3: how many users answer at once (comma-separated runs)",
    )
    parser.add_argument("--thinking-users", type=int, default=120, help="part 4")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    key = Vault.new_key()
    load_rows: list = []
    drain_rows: list = []
    instant_rows: list = []
    thinking_rows: list = []
    backlog_rows: list = []
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
            for users in args.instant_users:
                r = run_against_bot(
                    make_url(f"instant{users}"),
                    tmp,
                    key,
                    lambda port, fake, users=users: intakes(port, fake, users),
                )
                instant_rows.append((label, r))
        if "4" in parts:
            r = run_against_bot(
                make_url("thinking"),
                tmp,
                key,
                lambda port, fake: intakes(port, fake, args.thinking_users, think=(3.0, 8.0)),
            )
            thinking_rows.append((label, r))
        if "5" in parts:
            db = make_url("backlog")
            r = run_against_bot(
                db, tmp, key, lambda port, fake, db=db: backlog(db, port, fake, 600, 20)
            )
            backlog_rows.append((label, r))
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
    if instant_rows:
        print(
            "\n## Whole intakes, everyone answering at once (`madoguchi` webhook + sender; "
            "fake limits 30/s, about 1/s per chat)\n"
        )
        print(
            "| backend | users | booked | steps | seconds | steps/s | calls/s | calls/step "
            "| p50 ms | p99 ms | worst user / fair share | 429s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in instant_rows:
            print(
                f"| {label} | {r['users']} | {r['booked']} | {r['steps']} | {r['seconds']:.1f} "
                f"| {r['steps_per_s']:.1f} | {r['calls_per_s']:.1f} | {r['calls_per_step']:.2f} "
                f"| {r['p50']:.0f} | {r['p99']:.0f} | {r['worst_vs_fair']:.2f} | {r['429s']} |"
            )
    if thinking_rows:
        print(
            "\n## Whole intakes, each user taking 3-8 s per answer (`madoguchi` webhook + "
            "sender; fake limits 30/s, about 1/s per chat)\n"
        )
        print(
            "| backend | users | booked | steps | seconds | steps/s | calls/s "
            "| p50 ms | p99 ms | max ms | 429s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in thinking_rows:
            print(
                f"| {label} | {r['users']} | {r['booked']} | {r['steps']} | {r['seconds']:.1f} "
                f"| {r['steps_per_s']:.1f} | {r['calls_per_s']:.1f} "
                f"| {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} | {r['429s']} |"
            )
    if backlog_rows:
        print(
            "\n## A 600-message backlog for one chat; 20 other chats write /start, "
            "one every 0.5 s\n"
        )
        print(
            "| backend | backlog | other chats | p50 ms | max ms "
            "| backlog sent meanwhile | seconds | 429s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in backlog_rows:
            print(
                f"| {label} | {r['flood']} | {r['others']} | {r['p50']:.0f} | {r['max']:.0f} "
                f"| {r['flood_sent']} | {r['seconds']:.1f} | {r['429s']} |"
            )
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores; median is p50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
