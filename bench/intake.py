"""Benchmark: N simulated jobseekers through the whole intake, on SQLite and PostgreSQL.

Each jobseeker walks the scripted path of the intake table (`flows/script.py`: language →
terms → eligibility → environment items → conditions → accommodation → day → time →
confirm) through the real `handle_event` and the outbox rendering, from C worker threads.
Prints steps/s and p50/p99 per state.

    python bench/intake.py --users 200 --concurrency 8
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import config  # noqa: E402
from bot.app import build  # noqa: E402
from bot.console.chat import CHANNEL, render  # noqa: E402
from flows.codec import reply_from_json  # noqa: E402
from flows.intake import State  # noqa: E402
from flows.model import Event  # noqa: E402
from flows.script import typed_line  # noqa: E402
from storage import offices, outbox  # noqa: E402
from storage.throwaway_pg import PostgresUnavailable, ThrowawayPostgres  # noqa: E402
from storage.vault import Vault  # noqa: E402


def _deliver(app, user: str) -> list:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        rows = outbox.pending(session, channel=CHANNEL, recipient=user)
        for row in rows:
            outbox.mark_sent(session, row.id, app.clock())
            render(row.payload)
    return [reply_from_json(r) for row in rows for r in row.payload["replies"]]


def run_user(
    app, user: str, rng: random.Random, number: int
) -> tuple[dict[str, list[float]], bool]:  # type: ignore[no-untyped-def]
    """Walk one jobseeker along the scripted path (flows/script.py), typing option numbers;
    each has their own number, asks for an interpreter and picks a random day and time."""
    timings: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    state = app.intake.handle_event(CHANNEL, user, Event("command", "start")).state
    replies = _deliver(app, user)
    timings["start"].append(time.perf_counter() - started)
    for _ in range(200):
        offered = [c.id for r in replies for c in r.choices]
        if state == State.ASKING_JOBSEEKER_NUMBER:  # each simulated jobseeker is another person
            event: Event | None = Event("text", f"13010-{number:08d}")
        elif state == State.CHOOSING_ACCOMMODATION and "acc:interpreter" in offered:
            event = Event("text", str(offered.index("acc:interpreter") + 1))
        elif state in (State.CHOOSING_DAY, State.CHOOSING_TIME):
            picks = [c for c in offered if not c.startswith(("times:", "days:"))]
            event = Event("text", str(offered.index(rng.choice(picks)) + 1))
        else:
            line = typed_line(state, offered, language="en")
            event = None if line is None else Event("text", line)
        if event is None:
            break
        started = time.perf_counter()
        handled = app.intake.handle_event(CHANNEL, user, event)
        replies = _deliver(app, user)
        timings[state].append(time.perf_counter() - started)
        state = handled.state
    booked = any(r.body.id == "booking.booked" for r in replies)
    return timings, booked


def bench(url: str, label: str, users: int, concurrency: int, data_dir: Path) -> dict:
    settings = config.load(
        {
            "DATABASE_URL": url,
            "MADOGUCHI_DATA_DIR": str(data_dir),
            "MADOGUCHI_SECRET_KEY": Vault.new_key(),
        }
    )
    app = build(settings, migrate=True)
    with app.db.transaction() as session:  # room for everyone: the benchmark measures steps
        # beyond what an operator may set (100): the benchmark measures steps, not places
        offices.get_office(session, settings.office).places_per_slot = 1000
    rng = random.Random(7)
    timings: dict[str, list[float]] = defaultdict(list)
    booked = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [
            pool.submit(run_user, app, f"bench-{label}-{n}", random.Random(rng.random()), n)
            for n in range(users)
        ]
        for future in futures:
            user_timings, ok = future.result()
            booked += ok
            for name, values in user_timings.items():
                timings[name].extend(values)
    elapsed = time.perf_counter() - started
    app.db.dispose()
    return {
        "label": label,
        "timings": timings,
        "elapsed": elapsed,
        "booked": booked,
        "users": users,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def print_table(results: list[dict], concurrency: int) -> None:
    print(f"\n## Intake benchmark ({concurrency} concurrent workers)\n")
    print("| backend | users | booked | steps | seconds | steps/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        values = [v for vs in r["timings"].values() for v in vs]
        print(
            f"| {r['label']} | {r['users']} | {r['booked']} | {len(values)} | {r['elapsed']:.1f} "
            f"| {len(values) / r['elapsed']:.0f} | {_pct(values, 0.5):.1f} "
            f"| {_pct(values, 0.99):.1f} |"
        )
    names = list(results[0]["timings"])
    print("\n| step | " + " | ".join(f"{r['label']} p50 / p99 ms" for r in results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in names:
        cells = [
            f"{_pct(r['timings'][name], 0.5):.1f} / {_pct(r['timings'][name], 0.99):.1f}"
            for r in results
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres-url", help="use this PostgreSQL instead of a throwaway server")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(
            bench(
                f"sqlite:///{tmp}/bench.sqlite3",
                "SQLite file",
                args.users,
                args.concurrency,
                Path(tmp),
            )
        )
        if args.postgres_url:
            results.append(
                bench(args.postgres_url, "PostgreSQL", args.users, args.concurrency, Path(tmp))
            )
        else:
            try:
                with ThrowawayPostgres() as pg:
                    url = pg.create_database("bench")
                    results.append(
                        bench(url, "PostgreSQL 15", args.users, args.concurrency, Path(tmp))
                    )
            except PostgresUnavailable as exc:
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    print_table(results, args.concurrency)
    print(
        f"\nmachine: {statistics.__name__ and ''}{sys.platform}, python {sys.version.split()[0]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
