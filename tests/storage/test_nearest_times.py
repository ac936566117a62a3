"""The times offered to a race's loser: the nearest free ones, for any horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from storage.ports import nearest_in_order

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 24, 9, 0, tzinfo=TOKYO)


@given(
    offsets=st.sets(st.integers(0, 2_000), max_size=300),
    around=st.integers(-100, 2_100),
    limit=st.integers(0, 8),
)
def test_the_nearest_free_times_are_those_nearest_by_distance(offsets, around, limit):
    starts = [START + timedelta(minutes=15 * n) for n in sorted(offsets)]
    wanted = (START + timedelta(minutes=15 * around)).astimezone(UTC)  # any zone compares
    by_distance = sorted(starts, key=lambda at: abs(at - wanted))  # stable: earlier first
    assert nearest_in_order(starts, wanted, limit) == sorted(by_distance[:limit])
