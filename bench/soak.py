"""Soak: whole intakes on Telegram and LINE while the web and worker processes are SIGKILLed.

`madoguchi web` (both webhooks) and `madoguchi worker` (the senders and the scheduler) run as
separate processes against one database and the fake Bot API and Messaging API servers
(127.0.0.1). Scripted jobseekers type their way through the intake on both channels, each
waiting for the bot's answer before the next line; the platforms' side redelivers a webhook
until it is answered 200, as Telegram and LINE do. Meanwhile one of the two processes is
killed with SIGKILL at random intervals and started again at once (the worker takes its
lease back as soon as the killed one is gone).

It prints the conversations, the kills, the bookings lost (a user whose walk ended without
one) and doubled (more than one per user), the messages lost (an acknowledged line never
answered within `--patience` seconds) and doubled (the same message delivered twice), and
the longest silence a user saw between their line and the bot's answer.

    python bench/soak.py [--telegram 20] [--line 20] [--kill-every 4-10] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scripted import scripted_steps  # noqa: E402
from bench.telegram_channel import backends, free_port, prepare_database  # noqa: E402
from bot.line.webhook import PATH as LINE_PATH  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Booking  # noqa: E402
from storage.vault import Vault  # noqa: E402
from tests.fakes.line_api import (  # noqa: E402
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    FakeLine,
    sign,
    text_event,
    webhook_body,
)
from tests.fakes.telegram_api import FakeTelegram, message_update  # noqa: E402

SECRET = "soak-secret-0123456789"
TELEGRAM_STEPS = scripted_steps("en", hint="en")
LINE_STEPS = scripted_steps("en")  # LINE sends no language: the menu keeps its order
QUIET = 1.2  # an answer is complete when nothing more came for this long (pacing is 1/s)


@dataclass
class Processes:
    """The web and worker processes under test, and what happened to them."""

    env: dict[str, str]
    port: int
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    starts: Counter[str] = field(default_factory=Counter)

    def start(self, role: str) -> None:
        self.starts[role] += 1
        log = open(self.logs / f"{role}.log", "ab")  # noqa: SIM115 - lives with the process
        self.procs[role] = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", role],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )

    def wait_web(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError((self.logs / "web.log").read_text()[-2000:])

    def kill(self, role: str) -> None:
        proc = self.procs[role]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.kills[role] += 1

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


@dataclass
class Tally:
    """What the users saw."""

    silences: list[float] = field(default_factory=list)
    lost: int = 0  # acknowledged lines never answered
    redelivered: int = 0  # webhook posts the platform had to repeat
    finished: int = 0


def answers_of(telegram: FakeTelegram, line: FakeLine, channel: str, user: str) -> list[str]:
    """Every message the user was shown, as comparable text (sends only, in order)."""
    if channel == "telegram":
        return [
            json.dumps(
                {k: c.params.get(k) for k in ("text", "caption", "reply_markup")},
                sort_keys=True,
                ensure_ascii=False,
            )
            for c in telegram.calls
            if c.method in ("sendMessage", "sendDocument")
            and c.status == 200
            and str(c.params.get("chat_id")) == user
        ]
    return [json.dumps(m, sort_keys=True, ensure_ascii=False) for m in line.messages(user)]


async def users_walk(
    procs: Processes,
    telegram: FakeTelegram,
    line: FakeLine,
    *,
    telegram_users: int,
    line_users: int,
    patience: float,
) -> Tally:
    """Every user types the scripted intake, waiting for each answer."""
    tally = Tally()
    update_ids = iter(range(1, 10**9))

    async with httpx.AsyncClient(timeout=10) as client:

        async def post_until_answered(path: str, body: bytes, headers: dict[str, str]) -> None:
            url = f"http://127.0.0.1:{procs.port}{path}"
            while True:
                try:
                    response = await client.post(url, content=body, headers=headers)
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                tally.redelivered += 1  # the platform tries again a moment later
                await asyncio.sleep(0.5)

        async def one_user(channel: str, number: int) -> None:
            user = str(800_000 + number) if channel == "telegram" else f"U{number:032x}"
            steps = TELEGRAM_STEPS if channel == "telegram" else LINE_STEPS
            for step in steps:
                seen = len(answers_of(telegram, line, channel, user))
                # each user is a different jobseeker: a number of their own on either channel
                text = step.typed_by(number if channel == "telegram" else 500_000 + number)
                if channel == "telegram":
                    update = {
                        "update_id": next(update_ids),
                        **message_update(int(user), text, language_code="en"),
                    }
                    body = json.dumps(update).encode()
                    headers = {
                        "X-Telegram-Bot-Api-Secret-Token": SECRET,
                        "content-type": "application/json",
                    }
                    path = "/telegram/webhook"
                else:
                    event = text_event(user, text, reply_token=line.issue_reply_token(user))
                    body = webhook_body(event)
                    headers = {"x-line-signature": sign(body), "content-type": "application/json"}
                    path = LINE_PATH
                started = time.monotonic()
                await post_until_answered(path, body, headers)
                while len(answers_of(telegram, line, channel, user)) == seen:
                    if time.monotonic() - started > patience:
                        tally.lost += 1
                        return
                    await asyncio.sleep(0.05)
                tally.silences.append(time.monotonic() - started)
                count = len(answers_of(telegram, line, channel, user))
                quiet_since = time.monotonic()
                while time.monotonic() - quiet_since < QUIET:  # the rest of the answer
                    await asyncio.sleep(0.1)
                    now = len(answers_of(telegram, line, channel, user))
                    if now != count:
                        count, quiet_since = now, time.monotonic()
            tally.finished += 1

        await asyncio.gather(
            *(one_user("telegram", n) for n in range(telegram_users)),
            *(one_user("line", n) for n in range(line_users)),
        )
    return tally


async def killer(procs: Processes, every: tuple[float, float], done: asyncio.Event) -> None:
    """SIGKILL the web or the worker at random moments; start it again at once."""
    rng = random.Random(11)
    while not done.is_set():
        try:
            await asyncio.wait_for(done.wait(), rng.uniform(*every))
            return
        except TimeoutError:
            pass
        role = rng.choice(("web", "worker"))
        procs.kill(role)
        procs.start(role)
        if role == "web":
            await asyncio.to_thread(procs.wait_web)


def bookings_by_user(url: str, key: str, users: list[tuple[str, str]]) -> Counter[str]:
    """How many booked consultations each user holds (by their keyed pseudonym)."""
    db = Database(url)
    vault = Vault(key)
    try:
        with db.transaction() as session:
            rows = session.execute(
                select(Booking.pseudonym, func.count())
                .where(Booking.status == "booked")
                .group_by(Booking.pseudonym)
            ).all()
    finally:
        db.dispose()
    held = dict(rows)
    return Counter({f"{c}:{u}": held.get(vault.pseudonym(c, u), 0) for c, u in users})


def run(url: str, tmp: Path, key: str, args: argparse.Namespace) -> dict:
    prepare_database(url, tmp, key)
    with FakeTelegram() as telegram, FakeLine() as line:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MADOGUCHI_DATA_DIR": str(tmp),
            "MADOGUCHI_SECRET_KEY": key,
            "MADOGUCHI_LOG_LEVEL": "WARNING",
            "MADOGUCHI_INSTANCE": f"soak-{port}",
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url.removesuffix("/bot"),
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
            "LINE_API_BASE_URL": line.url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
        procs = Processes(env=env, port=port, logs=tmp)
        procs.start("web")
        procs.wait_web()
        procs.start("worker")

        async def soak() -> Tally:
            done = asyncio.Event()
            killing = asyncio.create_task(killer(procs, args.kill_every, done))
            try:
                return await users_walk(
                    procs,
                    telegram,
                    line,
                    telegram_users=args.telegram,
                    line_users=args.line,
                    patience=args.patience,
                )
            finally:
                done.set()
                await killing

        started = time.monotonic()
        try:
            tally = asyncio.run(soak())
            elapsed = time.monotonic() - started
            time.sleep(3)  # anything still queued goes out
        finally:
            procs.stop()
        users = [("telegram", str(800_000 + n)) for n in range(args.telegram)] + [
            ("line", f"U{n:032x}") for n in range(args.line)
        ]
        doubled_messages = 0
        for channel, user in users:
            shown = Counter(answers_of(telegram, line, channel, user))
            doubled_messages += sum(n - 1 for n in shown.values())
            for text, n in shown.items():  # always: which channel doubled, and what
                if n > 1:
                    print(f"doubled ({channel}):", n, text[:160], file=sys.stderr)
        held = bookings_by_user(url, key, users)
        if args.verbose:
            for channel, user in users:
                if held[f"{channel}:{user}"] != 1:
                    shown = answers_of(telegram, line, channel, user)
                    ends = [json.loads(a).get("text") or a for a in shown[-3:]]
                    print(channel, user, held[f"{channel}:{user}"], ends)
    return {
        "conversations": len(users),
        "seconds": elapsed,
        "kills web": procs.kills["web"],
        "kills worker": procs.kills["worker"],
        "bookings lost": sum(1 for u in held if held[u] == 0),
        "bookings doubled": sum(held[u] - 1 for u in held if held[u] > 1),
        "messages lost": tally.lost,
        "messages doubled": doubled_messages,
        "redelivered": tally.redelivered,
        "longest silence s": max(tally.silences, default=0.0),
        "p99 silence s": sorted(tally.silences)[int(0.99 * len(tally.silences))]
        if tally.silences
        else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--telegram", type=int, default=20, help="Telegram users")
    parser.add_argument("--line", type=int, default=20, help="LINE users")
    parser.add_argument(
        "--kill-every",
        type=lambda text: tuple(float(x) for x in text.split("-")),
        default=(4.0, 10.0),
        help="seconds between kills, a range (default 4-10)",
    )
    parser.add_argument("--patience", type=float, default=120.0, help="seconds before 'lost'")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="show unbooked users' ends")
    args = parser.parse_args()
    key = Vault.new_key()
    rows = []
    for label, make_url, tmp in backends(args.skip_postgres):
        rows.append((label, run(make_url("soak"), tmp, key, args)))
    columns = list(rows[0][1])
    print("| backend | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label, result in rows:
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in result.values()]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
