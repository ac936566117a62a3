"""Counselors in Slack, end to end: bolt behind our ASGI app (under uvicorn on 127.0.0.1),
requests signed with slack_sdk's own signer, the Web API answered by a fake Slack server on
127.0.0.1; all of it in the test's own event loop. The jobseeker side is the console client
(synchronous storage calls, quick enough to make from the test directly)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from bot import config, worker
from bot.rendering import Renderer
from bot.slack import webhook
from bot.slack.app import build_slack_app, make_client
from bot.slack.sender import SlackSender
from bot.web import create_web_app
from flows.intake import State
from storage import offices
from storage.models import AuditEntry, Booking, OutboxMessage, Reminder, Suspension
from tests.chat_client import ChatClient
from tests.conftest import TEST_KEY
from tests.fakes.server import serving
from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    slash_command_form,
    view_submission_payload,
)
from tests.flows.test_transcripts import verify_dialog, walk_to
from tests.waiting import wait_until

SECRET = "slack-signing-secret-for-tests"
CHANNEL = "C0COUNSEL"
COUNSELOR = "UCOUNSELOR1"
OUTSIDER = "UOUTSIDER9"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API, served in the test's loop."""
    async with FakeSlack(members={CHANNEL: [COUNSELOR]}) as server:
        yield server


@pytest_asyncio.fixture
async def slack_app(db_url, clock, tmp_path, fake):  # type: ignore[no-untyped-def]
    """The app on each backend, with bolt's route served in the test's loop at `slack_url`."""
    from bot.app import build

    settings = config.load(
        {
            "DATABASE_URL": db_url,
            "MADOGUCHI_DATA_DIR": str(tmp_path),
            "MADOGUCHI_SECRET_KEY": TEST_KEY,
            "SLACK_BOT_TOKEN": fake.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_CHANNEL_ID": CHANNEL,
            "SLACK_API_BASE_URL": fake.base_url,
        }
    )
    app = build(settings, clock=clock, migrate=True)
    bolt, _ = build_slack_app(app, settings.slack)
    try:
        async with serving(create_web_app([webhook.route(bolt)]), name="slack-events") as base:
            app.slack_url = f"{base}{webhook.PATH}"  # type: ignore[attr-defined]
            yield app
    finally:
        app.db.dispose()


async def signed_post(
    url: str,
    body: str,
    *,
    age: int = 0,
    secret: str = SECRET,
    extra: dict | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: str | None = None,
) -> httpx.Response:
    """POST a body signed with `secret`, as of `age` seconds ago (or at `timestamp`, as is)."""
    timestamp = str(int(time.time()) - age) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "X-Slack-Request-Timestamp": timestamp.encode(),  # as bytes: any characters
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
        **(extra or {}),
    }
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, content=body.encode(), headers=headers)


async def interaction(app, payload: dict, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await signed_post(
        app.slack_url, "payload=" + urllib.parse.quote(json.dumps(payload)), **kwargs
    )


async def deliver(app, fake) -> SlackSender:  # type: ignore[no-untyped-def]
    sender = SlackSender(
        app.db,
        app.vault,
        make_client(app.settings.slack),
        channel=CHANNEL,
        language="ja",
        clock=app.clock,
        office_code="shinagawa",
        per_channel_interval=0.05,
    )
    await sender.drain_once()
    return sender


def book_with_interpreter(app, lang="en") -> ChatClient:  # type: ignore[no-untyped-def]
    chat = ChatClient(app)
    walk_to(chat, lang, State.CHOOSING_ACCOMMODATION)
    verify_dialog(
        chat,
        [
            ("click:accommodation.kind.interpreter", "accommodation.interpreter.ask"),
            ("Tiếng Việt", "accommodation.ask_more"),
            ("click:accommodation.choice.done", "accommodation.note.ask"),
            ("click:accommodation.note.skip", "booking.day.ask"),
        ],
    )
    chat.press(chat.choice_ids[1])
    chat.press(chat.choice_ids[0])
    chat.click("booking.choice.confirm")
    assert "booking.booked" in chat.ids
    return chat


async def press(app, fake, action: str, user: str = COUNSELOR, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    message = fake.messages(CHANNEL)[0]
    reference = next(
        e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    payload = block_actions_payload(
        user_id=user,
        channel_id=CHANNEL,
        message=message,
        action_id=f"booking_{action}",
        value=reference,
        response_url=fake.response_url("r1"),
    )
    return await interaction(app, payload, **kwargs)


def notices(fake) -> list[str]:  # type: ignore[no-untyped-def]
    """Return what was answered to the user who pressed (response URL), in order."""
    return [r["body"]["text"] for r in fake.responses if r["id"].startswith("r")]


def audit(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        return [
            (a.action, a.actor)
            for a in s.scalars(select(AuditEntry).where(AuditEntry.actor_kind == "counselor"))
        ]


@pytest.mark.asyncio
async def test_a_booking_appears_with_its_accommodations_and_buttons(slack_app, fake):
    book_with_interpreter(slack_app)
    await deliver(slack_app, fake)
    [message] = fake.messages(CHANNEL)
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Tiếng Việt" in text and "*****-****5678" in text and "13010-12345678" not in text
    assert "English" in text and Renderer("ja").text("channel.console") in text
    labels = [
        e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert labels == [
        Renderer("ja").text(f"slack.button.{a}")
        for a in ("claim", "cancel", "no_show", "stop_service", "erase")
    ]
    assert len(message["blocks"]) <= 50
    with slack_app.db.transaction() as s:
        assert s.scalar(select(Booking.counselor_message_ts)) == message["ts"]


@pytest.mark.asyncio
async def test_claim_once_then_already_handled_and_slack_retries_are_one_effect(slack_app, fake):
    book_with_interpreter(slack_app)
    await deliver(slack_app, fake)
    assert (await press(slack_app, fake, "claim")).status_code == 200
    await wait_until(lambda: audit(slack_app) == [("claim", COUNSELOR)])
    await wait_until(
        lambda: "担当" in json.dumps(fake.messages(CHANNEL)[0]["blocks"], ensure_ascii=False)
    )
    assert (await press(slack_app, fake, "claim")).status_code == 200  # a double click
    await wait_until(lambda: len(notices(fake)) == 1)
    assert notices(fake) == [Renderer("ja").text("slack.outcome.already")]
    message = fake.messages(CHANNEL)[0]
    payload = block_actions_payload(
        user_id=COUNSELOR,
        channel_id=CHANNEL,
        message=message,
        action_id="booking_no_show",
        value=message["blocks"][-1]["elements"][0]["value"],
        response_url=fake.response_url("r2"),
    )
    await interaction(slack_app, payload)
    await interaction(
        slack_app,
        payload,
        extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await wait_until(lambda: len(notices(fake)) >= 3)
    await asyncio.sleep(0.3)  # a quiet spell for what must not happen, not a wait
    assert audit(slack_app) == [("claim", COUNSELOR)]  # a no-show before the start is refused
    texts = notices(fake)[-2:]
    r = Renderer("ja")
    assert texts == [
        r.text("slack.outcome.too_early"),
        r.text("slack.outcome.already"),
    ]  # the retry


@pytest.mark.asyncio
async def test_cancel_asks_a_reason_and_reaches_the_jobseeker_in_their_language(slack_app, fake):
    chat = book_with_interpreter(slack_app, "en")
    await deliver(slack_app, fake)
    await press(slack_app, fake, "cancel")
    await wait_until(lambda: len(fake.views) == 1)
    view = fake.views[0]["view"]
    empty = view_submission_payload(
        user_id=COUNSELOR,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values={"reason": {"text": {"type": "plain_text_input", "value": ""}}},
    )
    refused = await interaction(slack_app, empty)
    assert refused.status_code == 200 and refused.json()["response_action"] == "errors"
    filled = view_submission_payload(
        user_id=COUNSELOR,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values={"reason": {"text": {"type": "plain_text_input", "value": "counselor ill"}}},
    )
    assert (await interaction(slack_app, filled)).status_code == 200
    await wait_until(lambda: audit(slack_app) == [("cancel", COUNSELOR)])
    chat._collect()
    assert [r.body.id for r in chat.replies] == [
        "booking.cancelled_by_office",
        "mybooking.book_again",
    ]
    assert chat.language == "en"
    chat.click("mybooking.choice.book_again")
    assert "booking.day.ask" in chat.ids  # offered to book again, answers kept
    await wait_until(
        lambda: (
            "counselor ill" in json.dumps(fake.messages(CHANNEL)[0]["blocks"], ensure_ascii=False)
        )
    )


@pytest.mark.asyncio
async def test_stop_service_refuses_the_next_booking_and_drops_reminders(slack_app, fake, clock):
    chat = book_with_interpreter(slack_app, "ja")
    await deliver(slack_app, fake)
    await press(slack_app, fake, "stop_service")
    await wait_until(lambda: len(fake.views) == 1)
    view = fake.views[0]["view"]
    await interaction(
        slack_app,
        view_submission_payload(
            user_id=COUNSELOR,
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            values={
                "reason": {
                    "text": {"type": "plain_text_input", "value": "暴言のため（第12条(1)）"}
                }
            },
        ),
    )
    await wait_until(lambda: audit(slack_app) == [("stop_service", COUNSELOR)])
    with slack_app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Suspension)) == 1
        assert set(s.scalars(select(Reminder.status))) == {"cancelled"}
    chat._collect()
    assert chat.ids == ["service.stopped"]
    chat.send("/restart")
    chat.click("language.native.ja")  # starting again with a booking shows it first
    assert chat.ids[:2] == ["mybooking.already_booked", "mybooking.summary"]
    with slack_app.db.transaction() as s:  # were a second booking allowed...
        offices.update_office(s, offices.get_office(s, "shinagawa"), "max_active_bookings", "2")
    chat.send("/restart")
    walk_to(chat, "ja", State.ASKING_NOTE)
    chat.click("accommodation.note.skip")
    assert chat.ids == ["service.stopped"]  # ...future bookings are refused politely
    with slack_app.db.transaction() as s:
        [booking] = s.scalars(select(Booking).where(Booking.status == "booked")).all()
    clock.now = booking.starts_at - timedelta(minutes=30)
    assert worker.send_reminders(slack_app).sent == 0


@pytest.mark.asyncio
async def test_a_counselor_erases_the_person_after_confirming_and_sees_the_receipt(
    slack_app, fake
):
    from tests.storage.test_privacy_retention import (
        book_with_note,
        dump,
        identifiers_of,
    )

    _, booking = book_with_note(slack_app)
    identifiers = identifiers_of(booking)
    await deliver(slack_app, fake)
    await press(slack_app, fake, "erase")
    await wait_until(lambda: len(fake.views) == 1)
    view = fake.views[0]["view"]
    r = Renderer("ja")
    assert view["callback_id"] == "confirm_erase"
    assert r.text("slack.modal.erase.explain", reference=booking.reference) in json.dumps(
        view["blocks"], ensure_ascii=False
    )
    assert [n for n, v in identifiers.items() if v in dump(slack_app)] == list(identifiers)
    submitted = view_submission_payload(
        user_id=COUNSELOR,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values={},
    )
    assert (await interaction(slack_app, submitted)).status_code == 200
    await wait_until(lambda: len(fake.ephemerals) == 1)
    with slack_app.db.transaction() as s:
        [receipt] = s.scalars(select(AuditEntry).where(AuditEntry.action == "erased")).all()
        kept = s.scalars(select(Booking)).one()
    assert (receipt.actor_kind, receipt.actor) == ("counselor", COUNSELOR)  # who asked
    assert fake.ephemerals[0]["user"] == COUNSELOR
    assert fake.ephemerals[0]["text"] == r.text(
        "slack.erased", reference=booking.reference, receipt=receipt.detail["receipt"], cancelled=1
    )
    assert kept.status == "cancelled" and kept.reference == booking.reference
    await deliver(slack_app, fake)  # the counselors are told of the cancellation
    await wait_until(lambda: len(fake.messages(CHANNEL)) == 2)
    after = dump(slack_app)
    assert [n for n, v in identifiers.items() if v in after] == []
    posted = json.dumps(fake.messages(CHANNEL)[-1], ensure_ascii=False)
    assert booking.reference in posted
    assert [n for n, v in identifiers.items() if v in posted] == []
    await wait_until(
        lambda: not any(b["type"] == "actions" for b in fake.messages(CHANNEL)[0]["blocks"])
    )  # the booking's own message lost its buttons
    assert (await interaction(slack_app, submitted)).status_code == 200  # a Slack retry
    await wait_until(lambda: len(fake.ephemerals) == 2)
    assert fake.ephemerals[1]["text"] == r.text("slack.outcome.already")
    with slack_app.db.transaction() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "erased")) == 1


@pytest.mark.asyncio
async def test_only_counselors_may_act(slack_app, fake):
    book_with_interpreter(slack_app)
    await deliver(slack_app, fake)
    await press(slack_app, fake, "claim", user=OUTSIDER)
    await press(slack_app, fake, "cancel", user=OUTSIDER)
    await press(slack_app, fake, "erase", user=OUTSIDER)
    await wait_until(lambda: len(notices(fake)) == 3)
    assert notices(fake) == [Renderer("ja").text("slack.refused")] * 3
    assert audit(slack_app) == [] and fake.views == []


@pytest.mark.asyncio
async def test_forged_and_stale_requests_are_refused_before_any_listener(slack_app, fake):
    book_with_interpreter(slack_app)
    await deliver(slack_app, fake)
    message = fake.messages(CHANNEL)[0]
    reference = next(
        e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    payload = block_actions_payload(
        user_id=COUNSELOR,
        channel_id=CHANNEL,
        message=message,
        action_id="booking_claim",
        value=reference,
        response_url=fake.response_url("r1"),
    )
    body = "payload=" + urllib.parse.quote(json.dumps(payload))
    async with httpx.AsyncClient(timeout=30) as http:
        unsigned = await http.post(
            slack_app.slack_url,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert unsigned.status_code == 401
    assert (await signed_post(slack_app.slack_url, body, secret="wrong-secret")).status_code == 401
    assert (await signed_post(slack_app.slack_url, body, age=301)).status_code == 401
    # (a whole second is truncated from the timestamp, so "ahead" is tested clearly past 300 s)
    assert (await signed_post(slack_app.slack_url, body, age=-305)).status_code == 401
    await asyncio.sleep(0.3)  # a quiet spell for what must not happen, not a wait
    assert audit(slack_app) == [] and fake.responses == [] and fake.views == []


@pytest.mark.parametrize(
    "timestamp",
    [
        "abc",
        "",
        "1e10",
        f"{time.time():.3f}",  # now, as a float
        "9" * 400,
        str(int(time.time())).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    ],
    ids=["letters", "empty", "exponent", "float", "huge", "other-digits"],
)
@pytest.mark.asyncio
async def test_a_malformed_timestamp_is_refused_like_any_failed_verification(
    slack_app, fake, timestamp
):
    form = slash_command_form(
        user_id=COUNSELOR,
        channel_id=CHANNEL,
        command="/madoguchi",
        text="today",
        response_url=fake.response_url("today"),
    )
    body = urllib.parse.urlencode(form)
    # signed with the right secret over that very timestamp: only its form is wrong
    assert (await signed_post(slack_app.slack_url, body, timestamp=timestamp)).status_code == 401
    await asyncio.sleep(0.3)  # a quiet spell for what must not happen, not a wait
    assert fake.responses == []  # no listener ran
    # the same request with a well-formed timestamp is served
    assert (await signed_post(slack_app.slack_url, body)).status_code == 200
    await wait_until(lambda: len(fake.responses) == 1)


@pytest.mark.asyncio
async def test_slack_429_then_200_delivers_exactly_once(slack_app, fake):
    book_with_interpreter(slack_app)
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    sender = await deliver(slack_app, fake)
    assert len(fake.messages(CHANNEL)) == 1 and sender.rate_limited == 1
    await deliver(slack_app, fake)
    assert len(fake.messages(CHANNEL)) == 1
    with slack_app.db.transaction() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.channel == "counselors", OutboxMessage.status == "pending")
            )
            == 0
        )


@pytest.mark.asyncio
async def test_slash_command_lists_finds_and_changes_the_calendar(slack_app, fake):
    book_with_interpreter(slack_app)
    with slack_app.db.transaction() as s:
        reference = s.scalar(select(Booking.reference).where(Booking.status == "booked"))

    async def command(text: str, user: str = COUNSELOR) -> dict:  # type: ignore[type-arg]
        form = slash_command_form(
            user_id=user,
            channel_id=CHANNEL,
            command="/madoguchi",
            text=text,
            response_url=fake.response_url(text or "empty"),
        )
        assert (
            await signed_post(slack_app.slack_url, urllib.parse.urlencode(form))
        ).status_code == 200
        await wait_until(lambda: any(r["id"] == (text or "empty") for r in fake.responses))
        return next(r["body"] for r in fake.responses if r["id"] == (text or "empty"))

    week = await command("week")
    assert reference in json.dumps(week, ensure_ascii=False) and "Tiếng Việt" in json.dumps(
        week, ensure_ascii=False
    )
    assert reference in (await command(f"find {reference}"))["text"]
    changed = (await command("close 2026-12-24 13:00-17:15"))["text"]
    assert "#1" in changed
    assert Renderer("ja").text("slack.command.usage")[:10] in (await command("nonsense"))["text"]
    refused = await command("today", user=OUTSIDER)
    assert refused["text"] == Renderer("ja").text("slack.refused")


@pytest.mark.asyncio
async def test_morning_digest_lists_the_days_consultations(slack_app, fake, clock):
    book_with_interpreter(slack_app)
    with slack_app.db.transaction() as s:
        booking = s.scalars(select(Booking).where(Booking.status == "booked")).one()
    from datetime import datetime
    from datetime import time as clock_time
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    day = booking.starts_at.astimezone(tokyo).date()
    clock.now = datetime.combine(day, clock_time(8, 0), tokyo)  # 08:00 in Tokyo that day
    worker.queue_digest(slack_app)
    await deliver(slack_app, fake)
    digest = fake.messages(CHANNEL)[-1]
    assert digest["text"] == Renderer("ja").text("slack.digest.title", date=day)
    assert booking.reference in json.dumps(digest["blocks"], ensure_ascii=False)


def test_an_empty_signing_secret_refuses_to_start(tmp_path):
    with pytest.raises(config.ConfigError, match="SLACK_SIGNING_SECRET"):
        config.load(
            {
                "MADOGUCHI_DATA_DIR": str(tmp_path),
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "",
                "SLACK_CHANNEL_ID": CHANNEL,
            }
        )


def test_socket_mode_needs_an_app_level_token(tmp_path):
    env = {
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "slack-signing-secret-0123",
        "SLACK_CHANNEL_ID": CHANNEL,
    }
    with pytest.raises(config.ConfigError, match="SLACK_APP_TOKEN"):
        config.load({**env, "SLACK_APP_TOKEN": "xoxb-not-an-app-token"})
    assert (
        config.load({**env, "SLACK_APP_TOKEN": "xapp-1-A-1-abc"}).slack.app_token
        == "xapp-1-A-1-abc"
    )
    assert "xapp" not in repr(config.load({**env, "SLACK_APP_TOKEN": "xapp-1-A-1-abc"}).slack)


@pytest.mark.asyncio
async def test_a_closure_summary_offers_to_tell_the_jobseekers_booked_inside(slack_app, fake):
    chat = book_with_interpreter(slack_app, "en")
    with slack_app.db.transaction() as s:
        booking = s.scalars(select(Booking).where(Booking.status == "booked")).one()
    from zoneinfo import ZoneInfo

    at = booking.starts_at.astimezone(ZoneInfo("Asia/Tokyo"))
    text = f"close {at.date().isoformat()} {at:%H:%M}-{at.hour + 1:02d}:{at:%M}"
    form = slash_command_form(
        user_id=COUNSELOR,
        channel_id=CHANNEL,
        command="/madoguchi",
        text=text,
        response_url=fake.response_url("closure"),
    )
    assert (
        await signed_post(slack_app.slack_url, urllib.parse.urlencode(form))
    ).status_code == 200
    await wait_until(lambda: any(r["id"] == "closure" for r in fake.responses))
    summary = next(r["body"] for r in fake.responses if r["id"] == "closure")
    r = Renderer("ja")
    assert r.text("slack.calendar.affected", count=1) in summary["text"]
    assert booking.reference in summary["text"]
    chat._collect()
    assert chat.ids == []  # booked still, until a counselor presses the button
    [button] = [e for b in summary["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == r.text("slack.button.tell_closed", count=1)

    async def press_tell(user: str, response_id: str) -> None:
        payload = block_actions_payload(
            user_id=user,
            channel_id=CHANNEL,
            message={"ts": "1.0", **summary},
            action_id="closure_tell",
            value=button["value"],
            response_url=fake.response_url(response_id),
        )
        assert (await interaction(slack_app, payload)).status_code == 200
        await wait_until(lambda: any(x["id"] == response_id for x in fake.responses))

    await press_tell(OUTSIDER, "r-outsider")
    assert notices(fake)[-1] == r.text("slack.refused")
    await press_tell(COUNSELOR, "r-tell")
    assert notices(fake)[-1] == r.text("operator.calendar.bookings_told", count=1)
    assert audit(slack_app) == [("cancel_closure", COUNSELOR)]
    chat._collect()
    assert chat.ids[:2] == ["booking.closed_by_office", "mybooking.book_again"]
    assert chat.language == "en"
    await press_tell(COUNSELOR, "r-again")  # a second press: nobody is told twice
    assert notices(fake)[-1] == r.text("slack.outcome.already")
    with slack_app.db.transaction() as s:
        assert s.scalar(select(Booking.status).where(Booking.id == booking.id)) == "cancelled"


@pytest.mark.asyncio
async def test_slash_commands_keep_the_operators_limits(slack_app, fake):
    async def command(text: str) -> str:
        form = slash_command_form(
            user_id=COUNSELOR,
            channel_id=CHANNEL,
            command="/madoguchi",
            text=text,
            response_url=fake.response_url(text),
        )
        await signed_post(slack_app.slack_url, urllib.parse.urlencode(form))
        await wait_until(lambda: any(r["id"] == text for r in fake.responses))
        return next(r["body"]["text"] for r in fake.responses if r["id"] == text)

    r = Renderer("ja")
    assert await command("places 2026-12-01 500") == r.text(
        "operator.rule.places_range", value=500, high=100
    )
    refused = await command("set slot_minutes 7")
    assert refused.startswith(
        r.text(
            "operator.setting.range", field="slot_minutes", value="7", low=10, high=120, example=30
        )[:20]
    )
    assert await command("set places_per_slot 3") == r.text(
        "operator.setting.changed", field="places_per_slot"
    )


@pytest.mark.asyncio
async def test_the_weekly_usage_summary_posts_the_past_weeks_figures_only(slack_app, fake, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    book_with_interpreter(slack_app)  # Tuesday 2026-11-24, for Thursday, with an interpreter
    with slack_app.db.transaction() as s:
        booking = s.scalars(select(Booking).where(Booking.status == "booked")).one()
    jobs = {job.id: job for job in worker.build_scheduler(slack_app).get_jobs()}
    assert str(jobs["weekly-usage"].trigger) == ("cron[day_of_week='mon', hour='8', minute='5']")
    clock.now = datetime(2026, 11, 30, 8, 5, tzinfo=ZoneInfo("Asia/Tokyo"))  # next Monday
    assert worker.queue_weekly_usage(slack_app) is True
    await deliver(slack_app, fake)
    summary = fake.messages(CHANNEL)[-1]
    assert summary["text"] == "先週（2026-11-23〜2026-11-29）の利用状況です（集計のみ）："
    texts = [b["text"]["text"] for b in summary["blocks"]]
    assert texts[:2] == [summary["text"], "開始された会話：1 件"]
    assert texts[2].splitlines()[:3] == [
        "*到達した段階と、止まった段階*",
        "```段階                到達  ここで停止  ターミナル  English",
        "言語の選択          1     0           1           1",
    ]
    assert texts[4] == (
        "*日ごとの予約件数*\n```2026-11-23  月  0\n2026-11-24  火  1\n2026-11-25  水  0\n"
        "2026-11-26  木  0\n2026-11-27  金  0\n2026-11-28  土  0\n2026-11-29  日  0```"
    )
    assert texts[5] == (
        "*期間中の予約とその後*\n```"
        "                                件数  割合\n"
        "予約                            1\n"
        "取消し                          0     0.0%\n"
        "無断欠席                        0     0.0%\n"
        "日時の変更                      0     0.0%\n"
        "予約から相談までの日数（平均）  2.0```"
    )
    assert texts[6] == "*希望された配慮（種類のみ）*\n```通訳者  1```"
    posted = json.dumps(summary, ensure_ascii=False)
    for identity in (
        booking.reference,
        booking.user_ref,
        booking.pseudonym,
        "Tiếng Việt",
        "13010-",
        booking.meeting_url,
    ):
        assert identity and identity not in posted
