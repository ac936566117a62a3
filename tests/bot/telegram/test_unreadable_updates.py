"""Authenticated updates of any unexpected shape (DESIGN.md check 6): the webhook answers
200 and records them (or handles them normally), never 5xx; long polling confirms and
records them and keeps running; the chat keeps working after. Shapes come from a
hypothesis strategy: wrong types, missing fields, deep nesting, huge numbers."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import events
from bot.counters import COUNTERS
from bot.rendering import Renderer
from bot.telegram import CHANNEL
from storage.models import FailedEvent, ProcessedEvent
from tests.bot.telegram.harness import WEBHOOK_SECRET, Harness, TelegramUser
from tests.fakes.telegram_api import FakeTelegram, callback_update, message_update

CHAT = 7101
_update_ids = itertools.count(10_000)

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
DEEP, LONG = "@@deep@@", "@@long@@"  # stand-ins, replaced in the body's text


def keyboard_message() -> dict[str, Any]:
    """A question with one button, as the bot sent it to CHAT."""
    return {
        "message_id": 77,
        "from": {"id": 1, "is_bot": True, "first_name": "Madoguchi"},
        "chat": {"id": CHAT, "type": "private", "first_name": "Test"},
        "date": 1_700_000_000,
        "text": "Which language?",
        "reply_markup": {"inline_keyboard": [[{"text": "English", "callback_data": "1:en"}]]},
    }


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every value inside a decoded update (the root first)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any, *, delete: bool = False) -> Any:
    """Return `value` with the value at `path` replaced (or deleted)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = replaced(value[head], rest, new, delete=delete)
    return copy


@st.composite
def malformed_bodies(draw: st.DrawFn) -> bytes:
    """Draw the body of an update Telegram could never send: a real update with a few
    fields deleted or replaced by JSON of another type, nesting deeper than any parser's
    stack, or a number of thousands of digits."""
    if draw(st.booleans()):
        update = message_update(CHAT, draw(st.sampled_from(["hello", "/start", "2"])))
    else:
        update = callback_update(CHAT, "1:en", message=keyboard_message())
    update = {"update_id": next(_update_ids), **update}
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(update)))
        action = draw(st.sampled_from(["delete", "replace", "replace", DEEP, LONG]))
        if action == "delete" and path:
            update = replaced(update, path, None, delete=True)
        elif action in (DEEP, LONG):
            update = replaced(update, path, action)
        else:
            update = replaced(update, path, draw(JSON_VALUES))
    text = json.dumps(update)
    depth = draw(st.integers(min_value=50, max_value=20_000))
    text = text.replace(json.dumps(DEEP), "[" * depth + "]" * depth)
    digits = draw(st.integers(min_value=20, max_value=6_000))
    return text.replace(json.dumps(LONG), "9" * digits).encode()


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, served in the test's loop."""
    async with FakeTelegram(
        per_chat_per_second=50, global_per_second=1000, max_poll_seconds=0.5
    ) as server:
        yield server


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def failed_keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.db.transaction() as session:
        return list(session.scalars(select(FailedEvent.event_key).order_by(FailedEvent.id)))


async def chat_keeps_working(user: TelegramUser) -> None:
    """The user restarts and is answered by the intake (not by an apology)."""
    before = len(user.messages)
    await user.send("/start")
    assert len(user.messages) > before or user.keyboard_messages
    assert Renderer("ja").text("common.error")[:20] not in user.last_text


@pytest.mark.asyncio
async def test_the_webhook_answers_200_to_any_authenticated_shape_and_never_5xx(
    sqlite_app, fake, monkeypatch, caplog
):
    monkeypatch.setattr(events, "RETRY_PAUSE", 0.0)
    caplog.set_level(logging.WARNING)
    counted = COUNTERS.get("failed_events", CHANNEL)
    async with Harness(sqlite_app, fake, mode="webhook") as h:
        outcomes: list[tuple[int, bool]] = []

        @settings(
            max_examples=80,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(body=malformed_bodies())
        def post_one(body: bytes) -> None:
            failed_before = count(sqlite_app, FailedEvent)
            with httpx.Client(timeout=30) as http:  # in a thread: the server runs in the loop
                response = http.post(
                    h.webhook_url,
                    content=body,
                    headers={
                        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
                        "Content-Type": "application/json",
                    },
                )
            assert response.status_code == 200, response.text
            outcomes.append((response.status_code, count(sqlite_app, FailedEvent) > failed_before))

        await asyncio.to_thread(post_one)
        recorded = sum(1 for _, was_recorded in outcomes if was_recorded)
        assert recorded > len(outcomes) // 4  # most shapes are unreadable ...
        assert count(sqlite_app, ProcessedEvent) > 0  # ... some are still handled normally
        assert COUNTERS.get("failed_events", CHANNEL) - counted == count(sqlite_app, FailedEvent)
        await chat_keeps_working(TelegramUser(h, CHAT, language_code="en"))
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]  # no 500 logged


@pytest.mark.asyncio
async def test_polling_confirms_and_records_an_unreadable_update_and_keeps_running(
    sqlite_app, fake
):
    good = message_update(CHAT, "hello")
    unreadable = [
        {"update_id": 901, "message": "just a string"},
        {"update_id": 902, **replaced(good, ("message", "chat", "id"), 10**40)},
        {"update_id": 903, **replaced(good, ("message", "text"), 12345)},
        {"update_id": 904, **replaced(good, ("message", "chat"), None, delete=True)},
        {"update_id": 905, **replaced(good, ("message", "from"), [[[[[[[[[]]]]]]]]])},
    ]
    async with Harness(sqlite_app, fake, mode="polling") as h:
        for update in unreadable:
            fake.push_update(update)
        user = TelegramUser(h, CHAT, language_code="en")
        await user.send("/start")  # after them in the queue: they did not block it
        assert user.sees("language.ask")
        assert fake.pending_updates == []  # every one confirmed: the offset moved past them
        assert all(not task.done() for task in h.tasks)  # the poller keeps running
        await chat_keeps_working(user)
    assert failed_keys(sqlite_app) == ["901", "902", "903", "904", "905"]
