"""The engine fuzzer, long: random event sequences from every state against the real engine
(tests/bot/service/engine_fuzz.py), reporting events applied, states reached and findings.

    python bench/fuzz.py [--examples 300] [--steps 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from flows.intake import State  # noqa: E402
from tests.bot.service import engine_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    events = 0
    reached: set[str] = set()

    class Counted(engine_fuzz.EngineFuzz):
        def teardown(self) -> None:
            nonlocal events
            events += self.events
            reached.update(engine_fuzz.reached_states(self))
            super().teardown()

    started = time.perf_counter()
    finding = ""
    try:
        _run(Counted, args)
    except Exception:  # noqa: BLE001 - a finding is the report, not a crash of the bench
        finding = traceback.format_exc(limit=8)
    elapsed = time.perf_counter() - started
    print("| examples | steps each | events | seconds | events/s | states reached | findings |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.examples} | {args.steps} | {events} | {elapsed:.0f} | {events / elapsed:.0f} "
        f"| {len(reached)} of {len(State)} | {1 if finding else 0} |"
    )
    print(f"\nnot reached: {', '.join(sorted(set(State) - reached)) or 'none'}")
    if finding:
        print("\n" + finding)
    return 1 if finding else 0


def _run(machine: type, args: argparse.Namespace) -> None:
    import random

    random.seed(args.seed)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=args.examples,
            stateful_step_count=args.steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
