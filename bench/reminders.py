"""Benchmark: 5,000 reminders due in the same minute, through the Telegram fake's limits.

Creates N bookings starting in an hour with their 1-hour reminder due now, runs the
reminder sweep from two workers at once (as if a second one was started by mistake),
then drains the outbox with the Telegram sender against the fake Bot API server (30
messages/s overall, 1/s per chat). Prints the sweep time, the drain rate (target: at
least 90 % of 30/s), the 429s (target 0) and duplicates (target 0).

    python bench/reminders.py [--reminders 5000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import config, worker  # noqa: E402
from bot.app import build  # noqa: E402
from bot.telegram.sender import TelegramSender  # noqa: E402
from bot.telegram.setup import make_bot  # noqa: E402
from storage import offices  # noqa: E402
from storage.models import Booking, Reminder, Slot  # noqa: E402
from storage.throwaway_pg import PostgresUnavailable, ThrowawayPostgres  # noqa: E402
from storage.vault import Vault  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402


def seed(app, count: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    starts = now + timedelta(hours=1)
    with app.db.transaction() as session:
        office = offices.get_office(session, app.settings.office)
        slot = Slot(office_id=office.id, starts_at=starts, capacity=count, taken=count)
        session.add(slot)
        session.flush()
        for n in range(count):
            booking = Booking(
                office_id=office.id,
                slot_id=slot.id,
                starts_at=starts,
                hold_key=f"bench-{n}",
                status="booked",
                hold_expires_at=now,
                reference=f"HW-B{n:05d}",
                meeting_token=f"t{n}",
                meeting_url=f"https://meet.madoguchi.invalid/shinagawa/t{n}",
                channel="telegram",
                user_ref=str(600_000 + n),
                pseudonym=f"p{n}",
                language="ja" if n % 2 else "en",
                details_sealed="",
                created_at=now,
                booked_at=now,
            )
            session.add(booking)
            session.flush()
            session.add(
                Reminder(
                    booking_id=booking.id,
                    offset_minutes=60,
                    due_at=now - timedelta(seconds=1),
                    status="pending",
                )
            )


def run(url: str, label: str, count: int, data_dir: Path) -> dict:
    now = datetime.now(UTC)
    settings = config.load(
        {
            "DATABASE_URL": url,
            "MADOGUCHI_DATA_DIR": str(data_dir),
            "MADOGUCHI_SECRET_KEY": Vault.new_key(),
        }
    )
    app = build(settings, migrate=True)
    seed(app, count, now)
    results = []
    started = time.perf_counter()
    sweepers = [
        threading.Thread(target=lambda: results.append(worker.send_reminders(app)))
        for _ in range(2)
    ]
    for t in sweepers:
        t.start()
    for t in sweepers:
        t.join()
    sweep_seconds = time.perf_counter() - started
    with FakeTelegram() as fake:

        async def drain() -> float:
            bot = make_bot(fake.token, fake.base_url.removesuffix("/bot"))
            async with bot:
                sender = TelegramSender(app.db, bot, clock=lambda: datetime.now(UTC))
                began = time.perf_counter()
                await sender.drain(timeout=3600)
                return time.perf_counter() - began

        drain_seconds = asyncio.run(drain())
        sent = fake.calls_to("sendMessage")
        per_chat = Counter(call.params["chat_id"] for call in sent)
        duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
        rate = len(sent) / drain_seconds
        row = {
            "label": label,
            "reminders": count,
            "queued": sum(r.sent for r in results),
            "sweep_s": sweep_seconds,
            "delivered": len(per_chat),
            "drain_s": drain_seconds,
            "rate": rate,
            "429s": fake.count_429,
            "duplicates": duplicates,
        }
    app.db.dispose()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reminders", type=int, default=5000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(
            run(f"sqlite:///{tmp}/reminders.sqlite3", "SQLite file", args.reminders, Path(tmp))
        )
        if not args.skip_postgres:
            try:
                with ThrowawayPostgres() as pg:
                    rows.append(
                        run(
                            pg.create_database("reminders"),
                            "PostgreSQL 15",
                            args.reminders,
                            Path(tmp),
                        )
                    )
            except PostgresUnavailable as exc:
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    print(
        f"\n## {args.reminders} reminders due in the same minute "
        "(two sweeping workers; fake limits 30/s, 1/s per chat)\n"
    )
    print(
        "| backend | queued | sweep s | delivered | drain s | messages/s | % of 30/s | 429s "
        "| duplicates |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['label']} | {r['queued']} | {r['sweep_s']:.1f} | {r['delivered']} "
            f"| {r['drain_s']:.0f} "
            f"| {r['rate']:.1f} | {r['rate'] / 30:.0%} | {r['429s']} | {r['duplicates']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
