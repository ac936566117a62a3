"""Nothing LINE was told we received is lost (DESIGN.md checks 6, 19): an unreadable event
is recorded and the good ones beside it applied; an event that fails every time is tried a
few times, then recorded, logged and counted, and the inbox goes on. On both backends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import events
from bot.counters import COUNTERS
from bot.line import CHANNEL
from bot.rendering import Renderer
from flows import languages
from storage.models import Conversation, FailedEvent
from tests.bot.line.harness import LineHarness, LineUser
from tests.fakes.line_api import FakeLine, text_event, webhook_body
from tests.waiting import wait_until

USER = "U" + "0c3e58a1f2" * 3 + "cd"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLine]:
    """The fake Messaging API, served in the test's loop."""
    async with FakeLine() as server:
        yield server


def failed(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """Return the failed_events rows as (event key, pseudonym, error)."""
    with app.db.transaction() as s:
        return [
            (row.event_key, row.pseudonym, row.error)
            for row in s.scalars(select(FailedEvent).order_by(FailedEvent.id))
        ]


def unknown_type(user: str) -> dict[str, Any]:
    """An event of a type the SDK does not know (LINE may add one any day)."""
    event = text_event(user, "?")
    event["type"] = "somethingNew"
    return event


def wrong_field(user: str) -> dict[str, Any]:
    """A text message whose text is a number."""
    event = text_event(user, "?")
    event["message"]["text"] = 12345
    return event


def wrong_source(user: str) -> dict[str, Any]:
    """A message whose source is a string (the SDK raises a TypeError on it)."""
    event = text_event(user, "?")
    event["source"] = "user"
    return event


def not_an_object(user: str) -> Any:
    """An event that is not even a JSON object."""
    return ["message", user]


@pytest.mark.parametrize("unreadable", [unknown_type, wrong_field, wrong_source, not_an_object])
@pytest.mark.asyncio
async def test_one_unreadable_event_never_blocks_the_good_ones_beside_it(app, fake, unreadable):
    counted = COUNTERS.get("failed_events", CHANNEL)
    async with LineHarness(app, fake) as h:
        bad = unreadable(USER)
        token = fake.issue_reply_token(USER)
        body = webhook_body(
            text_event(USER, "/start", reply_token=token), bad, text_event(USER, "2")
        )
        assert (await h.post(body)).status_code == 200
        await wait_until(lambda: h.processor.pending() == 0 and h.idle(USER))
        user = LineUser(h, USER, language="en")
        # both good events applied, in order: the language asked, then English chosen
        assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
    with app.db.transaction() as s:
        assert s.scalar(select(Conversation.state)) == "reviewing_terms"
    readable_id = unreadable in (unknown_type, wrong_field)
    [(key, who, error)] = failed(app)
    assert key == (bad["webhookEventId"] if isinstance(bad, dict) else "")
    assert who == (app.vault.pseudonym(CHANNEL, USER) if readable_id else "")
    assert error in {"ValueError", "ValidationError", "TypeError", "AttributeError"}
    assert COUNTERS.get("failed_events", CHANNEL) == counted + 1


@pytest.mark.asyncio
async def test_an_unreadable_event_sent_again_is_recorded_once(app, fake):
    async with LineHarness(app, fake) as h:
        bad = unknown_type(USER)
        for _ in range(2):
            assert (await h.post(webhook_body(bad))).status_code == 200
        await wait_until(lambda: h.processor.pending() == 0)
    assert [key for key, _, _ in failed(app)] == [bad["webhookEventId"]]


@pytest.mark.asyncio
async def test_an_event_failing_every_time_is_tried_then_recorded_logged_counted_and_passed(
    app, fake, caplog, monkeypatch
):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(events, "RETRY_PAUSE", 0.01)
    counted = COUNTERS.get("failed_events", CHANNEL)
    real = app.intake.handle_event
    doomed = text_event(USER, "2", reply_token=fake.issue_reply_token(USER))
    tries = []

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("event_key") == doomed["webhookEventId"]:
            tries.append(1)
            raise RuntimeError("a bug in this one")
        return real(*args, **kwargs)

    monkeypatch.setattr(app.intake, "handle_event", failing)
    async with LineHarness(app, fake) as h:
        user = LineUser(h, USER, language="en")
        await user.send("/start")
        assert (await h.post(webhook_body(doomed))).status_code == 200
        await user.send("2")  # the next body: the inbox went on
        assert user.sees("terms.summary", version="2022-04-01", meeting_app="Zoom")
        texts = [m["text"] for m in user.messages]
    assert len(tries) == events.ATTEMPTS
    apologies = {Renderer(lang).text("common.error")[:20] for lang in languages.codes()}
    assert any(a in t for a in apologies for t in texts)  # the user was asked to resend
    [(key, pseudonym, error)] = failed(app)
    assert (key, error) == (doomed["webhookEventId"], "RuntimeError")
    assert pseudonym == app.vault.pseudonym(CHANNEL, USER)
    assert COUNTERS.get("failed_events", CHANNEL) == counted + 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and doomed["webhookEventId"] in errors[0]
    assert pseudonym in errors[0] and USER not in "\n".join(errors)
