"""Benchmark: the hot paths against years of bookings, on SQLite and PostgreSQL.

For each size N (bookings), a fresh database is seeded in bulk as an office network would
grow into it: 5 offices, three years of history and the three weeks ahead, people who book
more than once on several channels, conversations, delivered messages, reminders, calendar
rules. A separate process then measures, so its peak RSS is the application's, not the
seeding's:

- free days and free times: the port calls the day and time questions make, one
  transaction each (`StoredIntakePorts`: limit, suspension, open days / free times);
- confirm: 200 scripted jobseekers walk the intake through `Intake.handle_event`; the
  confirmation step is timed, after 5 that warm the process up (the very first, which
  compiles the statements, is shown in brackets);
- a race: 48 jobseekers at the time question press the same slot of 2 places at once
  (48 threads); the winners must be exactly 2, the losers' answers are timed;
- retention: the worker's purge with 2,000 idle conversations past the period (and 200
  idle ones with a booking ahead, which stay), timed whole and per write transaction;
- peak RSS of the measuring process.

    python bench/scale.py --sizes 1000,10000,100000

The measuring process runs as `madoguchi web` would, with the configured
MADOGUCHI_STEPS_AT_ONCE (default 2); `MADOGUCHI_STEPS_AT_ONCE=48 python bench/scale.py`
lets every racer run at once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, literal, select, update  # noqa: E402

from bot import config, runner, worker  # noqa: E402
from bot.app import App, build  # noqa: E402
from flows.intake import State  # noqa: E402
from flows.model import Event  # noqa: E402
from flows.script import scripted_event  # noqa: E402
from storage import conversations, offices  # noqa: E402
from storage.models import (  # noqa: E402
    Booking,
    CalendarRule,
    Conversation,
    OutboxMessage,
    ProcessedEvent,
    Reminder,
    Slot,
)
from storage.ports import StoredIntakePorts  # noqa: E402
from storage.throwaway_pg import PostgresUnavailable, ThrowawayPostgres  # noqa: E402
from storage.vault import Vault  # noqa: E402

OFFICES = ("shinagawa", "meguro", "shibuya", "shinjuku", "ikebukuro")
IDLE = 2000  # idle conversations past the retention period, to be purged
IDLE_KEPT = 200  # idle too, but with a booking ahead: they stay
RACERS = 48
CONFIRMERS = 200  # a p99 of 200 is the second slowest (of 60 it was the slowest)
WARM_CONFIRMS = 5
LISTINGS = 300
CHANNELS = ("telegram", "line", "console")


def _app(url: str, key: str, data_dir: str, now: datetime) -> App:
    env = {"DATABASE_URL": url, "MADOGUCHI_DATA_DIR": data_dir, "MADOGUCHI_SECRET_KEY": key}
    steps = os.environ.get("MADOGUCHI_STEPS_AT_ONCE")  # e.g. 48: every racer at once
    settings = config.load(env | ({"MADOGUCHI_STEPS_AT_ONCE": steps} if steps else {}))
    return build(settings, clock=lambda: now, migrate=True)


def _chunks(rows: list[dict[str, Any]], size: int = 10_000) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _office_slots(now: datetime, tz: Any) -> list[datetime]:
    """Return the weekday slots (08:30–17:00 local, 30 min) from three years ago to 3 weeks on."""
    first = (now - timedelta(days=3 * 365)).astimezone(tz).date()
    last = (now + timedelta(days=21)).astimezone(tz).date()
    slots, day = [], first
    while day <= last:
        if day.weekday() < 5:
            start = datetime(day.year, day.month, day.day, 8, 30, tzinfo=tz)
            slots += [start + timedelta(minutes=30 * n) for n in range(17)]
        day += timedelta(days=1)
    return slots


def seed(url: str, key: str, data_dir: str, now: datetime, size: int) -> None:
    """Fill a new database with `size` bookings over 5 offices and three years."""
    app = _app(url, key, data_dir, now)
    rng = random.Random(size)
    cutoff = now - timedelta(days=90)
    with app.db.transaction() as s:
        home = offices.get_office(s, OFFICES[0])
        offices.update_office(s, home, "places_per_slot", "4")  # room for the confirmations
        tz = offices.calendar(s, home).tz
        office_ids = [home.id] + [
            offices.ensure_office(
                s, code=code, name=code, meeting_app="Zoom", meeting_link_template="x"
            ).id
            for code in OFFICES[1:]
        ]
    slots = _office_slots(now, tz)
    per_office = size // len(OFFICES)
    people = max(1, int(per_office / 1.5))  # a person books 1.5 times on average
    with app.db.transaction() as s:
        s.execute(
            insert(Slot),
            [
                {"office_id": o, "starts_at": at, "capacity": 4 if o == home.id else 2, "taken": 0}
                for o in office_ids
                for at in slots
            ],
        )
    with app.db.transaction() as s:
        slot_ids = {
            (o, at): i for o, at, i in s.execute(select(Slot.office_id, Slot.starts_at, Slot.id))
        }
    rows: list[dict[str, Any]] = []
    taken: dict[int, int] = {}
    for o in office_ids:
        for n in range(per_office):
            at = slots[n * len(slots) // per_office]
            person = rng.randrange(people)
            future = at > now
            status = rng.choices(
                ("booked", "cancelled", "released", "no_show"),
                (90, 10, 0, 0) if future else (80, 12, 5, 3),
            )[0]
            slot_id = slot_ids[o, at.astimezone(UTC)]
            if status == "booked" and future:
                if taken.get(slot_id, 0) >= 2:
                    status = "cancelled"
                else:
                    taken[slot_id] = taken.get(slot_id, 0) + 1
            rows.append(
                {
                    "office_id": o,
                    "slot_id": slot_id,
                    "starts_at": at,
                    "hold_key": f"seed-{o}-{n}",
                    "status": status,
                    "hold_expires_at": at - timedelta(days=7),
                    "reference": f"S{o}-{n:07d}" if status != "released" else None,
                    "meeting_url": "https://meet.example/x",
                    "channel": CHANNELS[person % 3],
                    "user_ref": f"u{o}-{person}",
                    "pseudonym": f"p{o}-{person}",
                    "language": "ja",
                    "details_sealed": "" if at < cutoff else "sealed",
                    "jobseeker_key": f"k{o}-{person}",
                    "created_at": at - timedelta(days=7),
                    "booked_at": at - timedelta(days=7) if status != "released" else None,
                    "details_purged_at": at + timedelta(days=90) if at < cutoff else None,
                }
            )
    for chunk in _chunks(rows):
        with app.db.transaction() as s:
            s.execute(insert(Booking), chunk)
    with app.db.transaction() as s:
        for slot_id, count in taken.items():
            s.execute(update(Slot).where(Slot.id == slot_id).values(taken=count))
        for offset in (1440, 60):
            s.execute(
                insert(Reminder).from_select(
                    ["booking_id", "offset_minutes", "due_at", "status"],
                    select(
                        Booking.id,
                        literal(offset),
                        Booking.starts_at,
                        literal("sent"),
                    ).where(Booking.status == "booked"),
                )
            )
        s.execute(
            insert(CalendarRule),
            [
                {"office_id": o, "day": (now - timedelta(days=d)).date(), "kind": "closed"}
                | {"note": "seeded", "created_at": now - timedelta(days=d + 30)}
                for o in office_ids
                for d in range(30, 3 * 365, 10)
            ],
        )
    # Conversations of the home office: the recent ones, the idle ones to purge (their people
    # booked in the past only), the idle ones with a booking ahead (kept).
    home_people = people
    conv_rows = []
    for n in range(max(100, size // 10)):
        at = now - timedelta(minutes=rng.randrange(80 * 24 * 60))
        conv_rows.append(_conversation(home.id, f"recent-{n}", at))
    for n in range(IDLE):
        at = cutoff - timedelta(days=1 + rng.randrange(200))
        conv_rows.append(
            _conversation(home.id, f"u{home.id}-{home_people + n}", at, CHANNELS[n % 3])
        )
    kept_rows = []
    for n in range(IDLE_KEPT):
        ref = f"kept-{n}"
        conv_rows.append(_conversation(home.id, ref, cutoff - timedelta(days=5)))
        kept_rows.append(
            {
                "office_id": home.id,
                "slot_id": slot_ids[home.id, slots[-1 - n].astimezone(UTC)],
                "starts_at": slots[-1 - n],
                "hold_key": f"kept-{n}",
                "status": "booked",
                "hold_expires_at": now,
                "channel": "console",
                "user_ref": ref,
                "pseudonym": ref,
                "created_at": now,
            }
        )
    past = [r for r in rows if r["office_id"] == home.id and r["starts_at"] < cutoff][:IDLE]
    for n, booked in enumerate(past):  # the idle people did book, long ago
        booked["user_ref"] = f"u{home.id}-{home_people + n}"
    with app.db.transaction() as s:
        s.execute(insert(Booking), kept_rows)
        for n, booked in enumerate(past):
            s.execute(
                update(Booking)
                .where(Booking.hold_key == booked["hold_key"])
                .values(channel=CHANNELS[n % 3], user_ref=booked["user_ref"])
            )
    for chunk in _chunks(conv_rows):
        with app.db.transaction() as s:
            s.execute(insert(Conversation), chunk)
    recent = [now - timedelta(minutes=rng.randrange(89 * 24 * 60)) for _ in range(size)]
    for chunk in _chunks(
        [
            {"channel": "telegram", "recipient": f"r{n % 997}", "payload": {"replies": []}}
            | {"status": "sent", "created_at": at, "sent_at": at}
            for n, at in enumerate(recent)
        ]
    ):
        with app.db.transaction() as s:
            s.execute(insert(OutboxMessage), chunk)
    for chunk in _chunks(
        [
            {"channel": "telegram", "event_key": str(n), "processed_at": at}
            for n, at in enumerate(recent)
        ]
    ):
        with app.db.transaction() as s:
            s.execute(insert(ProcessedEvent), chunk)
    # Statistics as the worker (SQLite) or autovacuum (PostgreSQL) keeps them, and nothing
    # of the bulk load left for autovacuum or the checkpointer to do while the measuring runs.
    with app.db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("ANALYZE" if app.db.is_sqlite else "VACUUM ANALYZE")
        if not app.db.is_sqlite:
            conn.exec_driver_sql("CHECKPOINT")
    app.db.dispose()


def _conversation(
    office_id: int, user_ref: str, at: datetime, channel: str = "console"
) -> dict[str, Any]:
    return {
        "channel": channel,
        "user_ref": user_ref,
        "pseudonym": user_ref[:32],
        "office_id": office_id,
        "state": "booked",
        "language": "ja",
        "turn": 20,
        "data_sealed": "",
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _walk_to_day(app: App, user: str, number: int) -> None:
    """Walk a scripted jobseeker (with their own number) to the day question."""
    app.intake.handle_event("console", user, Event("command", "start"))
    for _ in range(100):
        conv = _peek(app, user)
        if conv.state == State.CHOOSING_DAY:
            return
        if conv.state == State.ASKING_JOBSEEKER_NUMBER:
            ev: Event | None = Event("text", f"13010-{number:08d}")
        else:
            offered = list(conv.data.get("offered", []))
            ev = scripted_event(conv.state, offered, turn=conv.turn, language="en")
        assert ev is not None, conv.state
        app.intake.handle_event("console", user, ev)
    raise AssertionError("never reached the day question")


def _peek(app: App, user: str) -> Any:
    with app.db.transaction() as s:
        conv = conversations.peek(s, channel="console", user_ref=user, vault=app.vault)
    assert conv is not None
    return conv


def _choose(app: App, user: str, choice: str) -> tuple[float, str]:
    conv = _peek(app, user)
    started = time.perf_counter()
    handled = app.intake.handle_event("console", user, Event("choice", choice, conv.turn))
    return time.perf_counter() - started, handled.state


def measure(url: str, key: str, data_dir: str, now: datetime, size: int) -> dict[str, Any]:
    """Measure the hot paths on a seeded database; return the figures."""
    app = _app(url, key, data_dir, now)
    runner.settle_start_up()  # as `madoguchi web` and `madoguchi worker` do before serving
    rng = random.Random(1)
    with app.db.transaction() as s:
        office = offices.get_office(s, OFFICES[0])
        people = s.execute(
            select(Booking.pseudonym, Booking.jobseeker_key)
            .where(Booking.office_id == office.id)
            .limit(2000)
        ).all()

    def ports(s: Any) -> StoredIntakePorts:
        pseudonym, jobseeker_key = rng.choice(people)
        return StoredIntakePorts(s, office, now, pseudonym=pseudonym, jobseeker_key=jobseeker_key)

    def days() -> list[date]:
        with app.db.transaction() as s:
            p = ports(s)
            p.service_stopped()
            p.booking_limit_reached()
            return p.open_days(limit=10)

    open_days = days()

    def times() -> None:
        with app.db.transaction() as s:
            ports(s).free_times(rng.choice(open_days))

    for _ in range(20):  # warm up
        days()
        times()
    free_days = [_timed(days) for _ in range(LISTINGS)]
    free_times = [_timed(times) for _ in range(LISTINGS)]

    # The race: a slot of 2 places on the first open day, emptied of seeded bookings.
    with app.db.transaction() as s:
        race_at = StoredIntakePorts(s, office, now, pseudonym="x", jobseeker_key=None).free_times(
            open_days[0]
        )[-1]
        local = race_at.astimezone(offices.calendar(s, office).tz)
        offices.add_rule(
            s, office, day=local.date(), kind="places", start=local.time(), places=2, now=now
        )
        s.execute(update(Slot).where(Slot.starts_at == race_at).values(taken=0))
        s.execute(update(Booking).where(Booking.starts_at == race_at).values(status="cancelled"))
    racers = [f"racer-{n}" for n in range(RACERS)]
    for n, user in enumerate(racers):
        _walk_to_day(app, user, 10_000 + n)
        _choose(app, user, f"day:{open_days[0].isoformat()}")
    turns = {user: _peek(app, user).turn for user in racers}
    barrier = threading.Barrier(RACERS)
    outcomes: list[tuple[float, str]] = []

    def race(user: str) -> None:
        barrier.wait()
        started = time.perf_counter()
        handled = app.intake.handle_event(
            "console", user, Event("choice", f"time:{race_at.isoformat()}", turns[user])
        )
        outcomes.append((time.perf_counter() - started, handled.state))

    threads = [threading.Thread(target=race, args=(user,)) for user in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = sum(state == State.CONFIRMING_BOOKING for _, state in outcomes)
    losers = [took for took, state in outcomes if state != State.CONFIRMING_BOOKING]

    # Confirmations: scripted jobseekers pick a random day and time and confirm. The first
    # ones after the start compile the confirmation's statements (once per process): the
    # very first is reported on its own, the first WARM_CONFIRMS are not in the p50/p99.
    confirms: list[float] = []
    for n in range(WARM_CONFIRMS + CONFIRMERS):
        user = f"confirmer-{n}"
        _walk_to_day(app, user, 20_000 + n)
        conv = _peek(app, user)
        day = rng.choice([c for c in conv.data["offered"] if c.startswith("day:")])
        _choose(app, user, day)
        conv = _peek(app, user)
        times_offered = [
            c for c in conv.data["offered"] if c.startswith("time:") and c != f"time:{race_at}"
        ]
        _choose(app, user, rng.choice(times_offered))
        took, state = _choose(app, user, "book:confirm")
        assert state == State.BOOKED, state
        confirms.append(took)

    # Retention, timing every write transaction.
    spans: list[float] = []

    @event.listens_for(app.db.engine, "begin")
    def _begin(conn: Any) -> None:
        conn.info["began"] = time.perf_counter()

    @event.listens_for(app.db.engine, "commit")
    def _commit(conn: Any) -> None:
        spans.append(time.perf_counter() - conn.info.pop("began", time.perf_counter()))

    purge_started = time.perf_counter()
    purged = worker.purge_old_data(app)
    purge_seconds = time.perf_counter() - purge_started
    app.db.dispose()
    return {
        "size": size,
        "days_p50": _pct(free_days, 0.5),
        "days_p99": _pct(free_days, 0.99),
        "times_p50": _pct(free_times, 0.5),
        "times_p99": _pct(free_times, 0.99),
        "confirm_first": confirms[0] * 1000,
        "confirm_p50": _pct(confirms[WARM_CONFIRMS:], 0.5),
        "confirm_p99": _pct(confirms[WARM_CONFIRMS:], 0.99),
        "confirm_slowest": sorted(round(t * 1000, 1) for t in confirms[WARM_CONFIRMS:])[-5:],
        "winners": winners,
        "losers_p99": _pct(losers, 0.99),
        "purged": purged.conversations,
        "purge_s": purge_seconds,
        "longest_tx_ms": max(spans) * 1000,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(mode: str, url: str, key: str, data_dir: str, now: datetime, size: int) -> str:
    done = subprocess.run(
        [sys.executable, __file__, f"--{mode}", url, f"--key={key}", "--data-dir", data_dir]
        + ["--now", now.isoformat(), "--sizes", str(size)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} {size} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def run(label: str, make_url: Callable[[int], str], sizes: list[int], tmp: str) -> list[dict]:
    results = []
    for size in sizes:
        url, key = make_url(size), Vault.new_key()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        started = time.perf_counter()
        _child("seed", url, key, tmp, now, size)
        seeded = time.perf_counter() - started
        figures = json.loads(_child("measure", url, key, tmp, now, size).splitlines()[-1])
        figures |= {"backend": label, "seed_s": seeded}
        print(json.dumps(figures), file=sys.stderr)
        results.append(figures)
    return results


def print_table(results: list[dict]) -> None:
    print(
        "\n| backend | bookings | free days p50 / p99 ms | free times p50 / p99 ms "
        "| confirm p50 / p99 ms (first) | race winners | losers p99 ms | purge (conversations) s "
        "| longest write tx ms | RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['backend']} | {r['size']:,} | {r['days_p50']:.2f} / {r['days_p99']:.2f} "
            f"| {r['times_p50']:.2f} / {r['times_p99']:.2f} "
            f"| {r['confirm_p50']:.1f} / {r['confirm_p99']:.1f} ({r['confirm_first']:.0f}) "
            f"| {r['winners']} of {RACERS} "
            f"| {r['losers_p99']:.0f} | {r['purge_s']:.2f} ({r['purged']:,}) "
            f"| {r['longest_tx_ms']:.0f} | {r['rss_mb']:.0f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="bookings, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.seed or args.measure:
        now = datetime.fromisoformat(args.now)
        if args.seed:
            seed(args.seed, args.key, args.data_dir, now, sizes[0])
        else:
            print(json.dumps(measure(args.measure, args.key, args.data_dir, now, sizes[0])))
        return 0
    results: list[dict] = []
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in backends:
            results += run(
                "SQLite file", lambda n: f"sqlite:///{tmp}/scale-{n}.sqlite3", sizes, tmp
            )
        if "postgresql" in backends:
            try:
                with ThrowawayPostgres() as pg:
                    results += run(
                        "PostgreSQL 15", lambda n: pg.create_database(f"scale_{n}"), sizes, tmp
                    )
            except PostgresUnavailable as exc:
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    print_table(results)
    print(f"\nmachine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
