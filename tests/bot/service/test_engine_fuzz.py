"""Any sequence of events at any state keeps the engine sound (DESIGN.md check 16): no
exception, a declared state, every question renders in every language, places taken equal
the holds and bookings, no booking without its counselor notification. Bounded here;
`python bench/fuzz.py` runs it long."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.bot.service.engine_fuzz import EngineFuzz

EngineFuzz.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
TestEngineFuzz = EngineFuzz.TestCase
